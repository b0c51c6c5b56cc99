//! A PNG quicklook: the scene in true colour with the mask's clouds and shadows drawn over it.

use super::gdal::{Dataset, PixelType};
use super::staging::{aux_xml, checked, commit_all, Staged};
use crate::error::{Error, Result};
use crate::model::CommonClass;
use std::path::Path;

/// Renders `rgb` (three reflectance planes, each `w` x `h`) with `classes` overlaid: three
/// 8-bit planes for [`encode_png`].
pub fn overlay(rgb: &[Vec<f32>; 3], classes: &[u8], w: usize, h: usize) -> Vec<Vec<u8>> {
    let mut planes = vec![vec![0u8; w * h]; 3];
    for i in 0..w * h {
        let class = CommonClass::from_code(classes[i]).unwrap_or(CommonClass::Nodata);
        // A fixed gain of 3.5 shows typical top-of-atmosphere reflectance (0..0.3) brightly.
        let base: [f32; 3] = std::array::from_fn(|b| (rgb[b][i] * 3.5 * 255.0).clamp(0.0, 255.0));
        let (colour, alpha) = match class {
            CommonClass::Cloud => ([255.0, 230.0, 0.0], 0.55),
            CommonClass::ThinCloud => ([0.0, 200.0, 255.0], 0.45),
            CommonClass::Shadow => ([200.0, 0.0, 200.0], 0.55),
            _ => ([0.0; 3], 0.0),
        };
        for b in 0..3 {
            planes[b][i] = (base[b] * (1.0 - alpha) + colour[b] * alpha).round() as u8;
        }
    }
    planes
}

/// Writes three 8-bit planes (red, green, blue; each `w` x `h`) as a PNG: a hidden temporary
/// file beside `path`, renamed when complete, so a reader never sees half a picture.
pub fn write_rgb_png(path: &Path, planes: &[Vec<u8>], w: usize, h: usize) -> Result<()> {
    let staged = Staged::new(path, "png")?;
    encode_png(staged.path(), path, planes, w, h)?;
    commit_all(vec![staged]).map(|_| ())
}

/// Writes the PNG into `file` (a run's temporary for `target`, which messages name), with
/// every failure GDAL reports while writing and closing it as an error.
pub fn encode_png(
    file: &Path,
    target: &Path,
    planes: &[Vec<u8>],
    w: usize,
    h: usize,
) -> Result<()> {
    let result = checked(target, || {
        let draw = || -> Result<()> {
            let ds = Dataset::create("MEM", "", w, h, 3, PixelType::U8, &[])?;
            for (b, plane) in planes.iter().enumerate() {
                ds.write(b + 1, (0, 0, w, h), plane)?;
            }
            ds.copy_to("PNG", file)
        };
        // Any failure of the picture is an output error (which gets the full-disk note).
        draw().map_err(|e| Error::output(e.message))
    });
    // GDAL's PNG driver writes no sidecar we want (the MEM source has no georeferencing).
    let _ = std::fs::remove_file(aux_xml(file));
    result
}

/// Reads a whole band decimated to `w` x `h` (GDAL picks nearest pixels).
pub fn read_decimated(ds: &Dataset, band: usize, w: usize, h: usize) -> Result<Vec<f32>> {
    let mut out = vec![0f32; w * h];
    ds.read_resampled(band, (0, 0, ds.width(), ds.height()), (w, h), &mut out)?;
    Ok(out)
}

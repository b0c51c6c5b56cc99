//! The model's bands of a Landsat scene, one GeoTIFF each, stacked through the shared stacker
//! (`raster::stack`), with the scale and offset that make each band reflectance and fill (DN 0)
//! as nodata.

use crate::error::{Error, Result};
use crate::raster::gdal::Dataset;
use crate::raster::grid::InputGrid;
use crate::raster::stack::{self, Found};

/// Collection 2 fill: DN 0 in every reflective band, Level-1 and Level-2.
const FILL: f64 = 0.0;

/// One band of the stack.
pub struct Band {
    /// The model's name for it (the VRT band's description).
    pub name: String,
    /// Its GeoTIFF, as a GDAL path.
    pub file: String,
    pub scale: f64,
    pub offset: f64,
}

/// Opens the stack of `bands` (described as `path`) with dataset metadata `meta`, on the
/// bands' own grid or averaged to `resolution` map units, and the scene's grid when the stack
/// lies on another.
pub fn stack(
    path: &str,
    mtl: &str,
    bands: &[Band],
    meta: &[(&str, String)],
    resolution: Option<f64>,
) -> Result<(Dataset, Option<InputGrid>)> {
    let mut found: Vec<Found> = Vec::with_capacity(bands.len());
    for b in bands {
        let ds = Dataset::open(&b.file).map_err(|e| {
            Error::input(format!(
                "{mtl} names {} for the model's band {}, but it cannot be opened: {}",
                b.file, b.name, e.message
            ))
        })?;
        let mut f = Found::read(&ds, &b.file, 1)
            .ok_or_else(|| Error::input(format!("{} has no georeferencing", b.file)))?;
        if let Some(first) = found.first() {
            if !f.same_grid(first) {
                return Err(Error::input(format!(
                    "{} ({}) is not on the grid of {} ({}): a Landsat scene's reflective bands share one 30 m grid",
                    b.file, b.name, bands[0].file, bands[0].name
                )));
            }
        }
        f.scale_offset = Some((b.scale, b.offset));
        f.nodata = Some(FILL);
        found.push(f);
    }
    let names: Vec<String> = bands.iter().map(|b| b.name.clone()).collect();
    let meta: Vec<(String, String)> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let (handle, grid) = stack::open_stack(path, &names, &found, &meta, resolution)?;
    Ok((Dataset::from_owned_handle(handle, path), grid))
}

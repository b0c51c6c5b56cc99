//! Test and benchmark rasters: large mosaics mirrored from a small real scene, and small fixtures.

use super::gdal::{Dataset, PixelType};
use crate::error::{Error, Result};
use crate::tiling::mirror::reflect;
use std::path::Path;

/// Writes a `width` x `height` GeoTIFF (tiled, uncompressed, float32) whose pixel (x, y) is the
/// source's pixel at mirrored indices, so copies meet seamlessly. Band descriptions and nodata
/// are kept. Written one strip at a time, so memory stays small at any size.
pub fn write_mirrored_mosaic(src: &str, dst: &Path, width: usize, height: usize) -> Result<()> {
    let source = Dataset::open(src)?;
    let (sw, sh, bands) = (source.width(), source.height(), source.band_count());
    let options = [
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "BIGTIFF=IF_NEEDED",
        "INTERLEAVE=BAND",
    ];
    let out = Dataset::create(
        "GTiff",
        &dst.to_string_lossy(),
        width,
        height,
        bands,
        PixelType::F32,
        &options,
    )?;
    let cols: Vec<usize> = (0..width).map(|x| reflect(x as isize, sw)).collect();
    let strip_rows = 256;
    let mut plane = vec![0f32; sw * sh];
    let mut strip = vec![0f32; strip_rows * width];
    for b in 1..=bands {
        source.read(b, 0, 0, sw, sh, &mut plane)?;
        out.set_band_description(b, &source.band_description(b))?;
        if let Some(nd) = source.band_nodata(b) {
            out.set_band_nodata(b, nd)?;
        }
        let mut y = 0;
        while y < height {
            let rows = strip_rows.min(height - y);
            for r in 0..rows {
                let sy = reflect((y + r) as isize, sh);
                let src_row = &plane[sy * sw..(sy + 1) * sw];
                for (x, &sx) in cols.iter().enumerate() {
                    strip[r * width + x] = src_row[sx];
                }
            }
            out.write(b, (0, y, width, rows), &strip[..rows * width])?;
            y += rows;
        }
    }
    Ok(())
}

/// Writes float32 planes (band-major) as a GeoTIFF with band descriptions and an optional nodata
/// value: small fixtures for tests and examples.
pub fn write_float_raster(
    dst: &Path,
    planes: &[Vec<f32>],
    width: usize,
    height: usize,
    descriptions: &[&str],
    nodata: Option<f64>,
) -> Result<()> {
    let out = Dataset::create(
        "GTiff",
        &dst.to_string_lossy(),
        width,
        height,
        planes.len(),
        PixelType::F32,
        &["TILED=YES"],
    )?;
    for (i, plane) in planes.iter().enumerate() {
        let b = i + 1;
        if plane.len() != width * height {
            return Err(Error::invalid(format!(
                "plane {b} holds {} values, expected {}",
                plane.len(),
                width * height
            )));
        }
        if let Some(d) = descriptions.get(i) {
            out.set_band_description(b, d)?;
        }
        if let Some(nd) = nodata {
            out.set_band_nodata(b, nd)?;
        }
        out.write(b, (0, 0, width, height), plane)?;
    }
    Ok(())
}

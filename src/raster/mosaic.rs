//! Test and benchmark rasters: large mosaics mirrored from a small real scene, and small fixtures.

use super::gdal::{cstring, take_last_error, CStringList, Dataset};
use crate::error::{Error, Result};
use crate::tiling::mirror::reflect;
use gdal_sys as g;
use std::path::Path;

/// Writes a `width` x `height` GeoTIFF (tiled, uncompressed, float32) whose pixel (x, y) is the
/// source's pixel at mirrored indices, so copies meet seamlessly. Band descriptions and nodata
/// are kept. Written one strip at a time, so memory stays small at any size.
pub fn write_mirrored_mosaic(src: &str, dst: &Path, width: usize, height: usize) -> Result<()> {
    let source = Dataset::open(src)?;
    let (sw, sh, bands) = (source.width(), source.height(), source.band_count());
    let mut planes = vec![vec![0f32; sw * sh]; bands];
    for (b, plane) in planes.iter_mut().enumerate() {
        source.read_f32(b + 1, 0, 0, sw, sh, plane)?;
    }
    let mut options = CStringList::new(&[
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "BIGTIFF=IF_NEEDED",
        "INTERLEAVE=BAND",
    ])?;
    let c_dst = cstring(&dst.to_string_lossy())?;
    // SAFETY: valid driver, path and NULL-terminated options.
    let handle = unsafe {
        let driver = g::GDALGetDriverByName(c"GTiff".as_ptr());
        g::GDALCreate(
            driver,
            c_dst.as_ptr(),
            width as i32,
            height as i32,
            bands as i32,
            g::GDALDataType::GDT_Float32,
            options.as_ptr(),
        )
    };
    if handle.is_null() {
        return Err(Error::output(format!(
            "cannot create {}: {}",
            dst.display(),
            take_last_error()
        )));
    }
    let out = Dataset::from_owned_handle(handle, &dst.to_string_lossy());
    let strip_rows = 256;
    let cols: Vec<usize> = (0..width).map(|x| reflect(x as isize, sw)).collect();
    let mut strip = vec![0f32; strip_rows * width];
    for (b, plane) in planes.iter().enumerate() {
        // SAFETY: band index within the dataset we created.
        let band = unsafe { g::GDALGetRasterBand(out.handle(), b as i32 + 1) };
        let desc = cstring(&source.band_description(b + 1))?;
        // SAFETY: valid band; GDAL copies the string.
        unsafe {
            g::GDALSetDescription(band as g::GDALMajorObjectH, desc.as_ptr());
            if let Some(nd) = source.band_nodata(b + 1) {
                g::GDALSetRasterNoDataValue(band, nd);
            }
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
            // SAFETY: `strip` holds at least width * rows f32 values.
            let err = unsafe {
                g::GDALRasterIO(
                    band,
                    g::GDALRWFlag::GF_Write,
                    0,
                    y as i32,
                    width as i32,
                    rows as i32,
                    strip.as_mut_ptr() as *mut libc::c_void,
                    width as i32,
                    rows as i32,
                    g::GDALDataType::GDT_Float32,
                    0,
                    0,
                )
            };
            if err != g::CPLErr::CE_None {
                return Err(Error::output(format!(
                    "writing {} failed: {}",
                    dst.display(),
                    take_last_error()
                )));
            }
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
    let mut options = CStringList::new(&["TILED=YES"])?;
    let c_dst = cstring(&dst.to_string_lossy())?;
    // SAFETY: valid driver, path and NULL-terminated options.
    let handle = unsafe {
        let driver = g::GDALGetDriverByName(c"GTiff".as_ptr());
        g::GDALCreate(
            driver,
            c_dst.as_ptr(),
            width as i32,
            height as i32,
            planes.len() as i32,
            g::GDALDataType::GDT_Float32,
            options.as_ptr(),
        )
    };
    if handle.is_null() {
        return Err(Error::output(format!(
            "cannot create {}: {}",
            dst.display(),
            take_last_error()
        )));
    }
    let out = Dataset::from_owned_handle(handle, &dst.to_string_lossy());
    for (b, plane) in planes.iter().enumerate() {
        if plane.len() != width * height {
            return Err(Error::invalid(format!(
                "plane {b} holds {} values, expected {}",
                plane.len(),
                width * height
            )));
        }
        let mut data = plane.clone();
        // SAFETY: band exists; `data` holds width * height values.
        unsafe {
            let band = g::GDALGetRasterBand(out.handle(), b as i32 + 1);
            if let Some(d) = descriptions.get(b) {
                let c = cstring(d)?;
                g::GDALSetDescription(band as g::GDALMajorObjectH, c.as_ptr());
            }
            if let Some(nd) = nodata {
                g::GDALSetRasterNoDataValue(band, nd);
            }
            let err = g::GDALRasterIO(
                band,
                g::GDALRWFlag::GF_Write,
                0,
                0,
                width as i32,
                height as i32,
                data.as_mut_ptr() as *mut libc::c_void,
                width as i32,
                height as i32,
                g::GDALDataType::GDT_Float32,
                0,
                0,
            );
            if err != g::CPLErr::CE_None {
                return Err(Error::output(format!(
                    "writing {} failed: {}",
                    dst.display(),
                    take_last_error()
                )));
            }
        }
    }
    Ok(())
}

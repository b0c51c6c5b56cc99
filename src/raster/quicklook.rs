//! A PNG quicklook: the scene in true colour with the mask's clouds and shadows drawn over it.

use super::gdal::{cstring, take_last_error, Dataset};
use crate::error::{Error, Result};
use crate::model::CommonClass;
use gdal_sys as g;
use std::path::Path;

/// Renders `rgb` (three reflectance planes, each `w` x `h`) with `classes` overlaid and writes a PNG.
pub fn write_png(
    path: &Path,
    rgb: &[Vec<f32>; 3],
    classes: &[u8],
    w: usize,
    h: usize,
) -> Result<()> {
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
    super::gdal::register_drivers();
    // SAFETY: MEM and PNG drivers; buffers hold exactly w*h bytes per band.
    unsafe {
        let mem = g::GDALGetDriverByName(c"MEM".as_ptr());
        let png = g::GDALGetDriverByName(c"PNG".as_ptr());
        if mem.is_null() || png.is_null() {
            return Err(Error::output(
                "GDAL lacks the MEM or PNG driver needed for the quicklook",
            ));
        }
        let ds = g::GDALCreate(
            mem,
            c"".as_ptr(),
            w as i32,
            h as i32,
            3,
            g::GDALDataType::GDT_Byte,
            std::ptr::null_mut(),
        );
        if ds.is_null() {
            return Err(Error::output(format!(
                "cannot create the quicklook: {}",
                take_last_error()
            )));
        }
        let ds = Dataset::from_owned_handle(ds, "quicklook");
        for (b, plane) in planes.iter_mut().enumerate() {
            let band = g::GDALGetRasterBand(ds.handle(), b as i32 + 1);
            g::GDALRasterIO(
                band,
                g::GDALRWFlag::GF_Write,
                0,
                0,
                w as i32,
                h as i32,
                plane.as_mut_ptr() as *mut libc::c_void,
                w as i32,
                h as i32,
                g::GDALDataType::GDT_Byte,
                0,
                0,
            );
        }
        let temp = path.with_extension("partial.png");
        let c_temp = cstring(&temp.to_string_lossy())?;
        let out = g::GDALCreateCopy(
            png,
            c_temp.as_ptr(),
            ds.handle(),
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        );
        if out.is_null() {
            return Err(Error::output(format!(
                "cannot write {}: {}",
                path.display(),
                take_last_error()
            )));
        }
        g::GDALClose(out);
        let _ = std::fs::remove_file(temp.with_extension("png.aux.xml"));
        std::fs::rename(&temp, path)
            .map_err(|e| Error::output(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Reads a band decimated to `w` x `h` (GDAL picks nearest pixels).
pub fn read_decimated(ds: &Dataset, band: usize, w: usize, h: usize) -> Result<Vec<f32>> {
    let mut out = vec![0f32; w * h];
    // SAFETY: buffer of w*h f32; band index checked by the caller.
    let err = unsafe {
        let b = g::GDALGetRasterBand(ds.handle(), band as i32);
        g::GDALRasterIO(
            b,
            g::GDALRWFlag::GF_Read,
            0,
            0,
            ds.width() as i32,
            ds.height() as i32,
            out.as_mut_ptr() as *mut libc::c_void,
            w as i32,
            h as i32,
            g::GDALDataType::GDT_Float32,
            0,
            0,
        )
    };
    if err != g::CPLErr::CE_None {
        return Err(Error::input(format!(
            "reading {} for the quicklook failed: {}",
            ds.description,
            take_last_error()
        )));
    }
    Ok(out)
}

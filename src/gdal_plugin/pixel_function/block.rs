//! Masking the block GDAL asks for: the sources read as float32 planes, masked as a whole raster
//! of their own (`Tiling::Exact` on a [`MemorySource`]), and the requested product copied into
//! GDAL's output buffer with `GDALCopyWords`, honouring its type and spacing.

use super::arguments::Arguments;
use super::report_warning;
use crate::engine::{mask_window, MaskOptions, Plane, Region, Tiling};
use crate::error::{Error, Result};
use crate::model::{cache, Model};
use crate::postprocess::Buffers;
use crate::raster::{MemorySource, Products};
use gdal_sys::{CSLConstList, GDALDataType};
use std::ffi::{c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

/// GDAL's output buffer: nx × ny pixels of `buf_type`, `pixel_space` bytes apart within a row
/// and `line_space` bytes between rows.
pub(super) struct Destination {
    pub(super) data: *mut c_void,
    pub(super) buf_type: GDALDataType::Type,
    pub(super) pixel_space: c_int,
    pub(super) line_space: c_int,
}

/// Masks one block: parses the arguments, loads the model (once per process), masks the
/// sources as a raster of their own and copies the product into GDAL's buffer.
pub(super) unsafe fn run(
    sources: *mut *mut c_void,
    n_sources: c_int,
    src_type: GDALDataType::Type,
    (nx, ny): (c_int, c_int),
    destination: Destination,
    args: CSLConstList,
) -> Result<()> {
    let Destination {
        data,
        buf_type,
        pixel_space,
        line_space,
    } = destination;
    if nx <= 0 || ny <= 0 || data.is_null() {
        return Ok(());
    }
    let arguments = Arguments::parse(|name| {
        let key = CString::new(name).ok()?;
        // SAFETY: `args` is GDAL's NULL-terminated name=value list (or NULL).
        let value = unsafe { gdal_sys::CSLFetchNameValue(args, key.as_ptr()) };
        // SAFETY: a non-NULL result points into the list, NUL-terminated.
        (!value.is_null()).then(|| {
            unsafe { CStr::from_ptr(value) }
                .to_string_lossy()
                .into_owned()
        })
    })?;
    let model = cache::shared(&arguments.model, &arguments.model_options(), |m| {
        for note in m.notes() {
            report_warning(&format!("cloudmask pixel function: {note}"));
        }
    })?;
    let n_sources = usize::try_from(n_sources).unwrap_or(0);
    if n_sources != model.n_bands() {
        return Err(Error::bands(format!(
            "the VRT band has {n_sources} source(s) but model {} needs {}: one source per band, in this order: {}",
            model.name(),
            model.n_bands(),
            model.card.band_names().join(", ")
        )));
    }
    if sources.is_null() {
        return Err(Error::invalid("GDAL passed no source buffers"));
    }
    let index = match &arguments.class {
        Some(which) => class_index(&model, which)?,
        None => 0,
    };
    let (w, h) = (nx as usize, ny as usize);
    let n = w * h;
    warn_if_rounded(src_type, buf_type);
    let bands = read_sources(sources, model.n_bands(), n, src_type)?;
    let mut source = MemorySource::new(&bands, model.n_bands(), w, h, arguments.nodata)?;
    let options = MaskOptions {
        tiling: Tiling::Exact,
        buffers: Buffers::uniform(arguments.buffer),
        ..Default::default()
    };
    let products = Products::of(&[arguments.output]);
    let region = Region { x: 0, y: 0, w, h };
    let result = mask_window(&model, &mut source, region, &options, products, &mut |_| {
        true
    })?;
    let write_rows = |values: *const c_void, ty: GDALDataType::Type, size: c_int| {
        for row in 0..h {
            // SAFETY: row `row` of `values` holds w values of `ty`; GDAL's output row starts at
            // data + row * line_space and holds w pixels `pixel_space` bytes apart.
            unsafe {
                gdal_sys::GDALCopyWords64(
                    values.cast::<u8>().add(row * w * size as usize).cast(),
                    ty,
                    size,
                    data.cast::<u8>()
                        .offset(row as isize * line_space as isize)
                        .cast(),
                    buf_type,
                    pixel_space,
                    w as i64,
                );
            }
        }
    };
    match result.band(arguments.output, index) {
        Some(Plane::U8(v)) => write_rows(v.as_ptr().cast(), GDALDataType::GDT_Byte, 1),
        Some(Plane::F32(v)) => write_rows(v.as_ptr().cast(), GDALDataType::GDT_Float32, 4),
        None => {
            return Err(Error::invalid(format!(
                "the engine returned no {}",
                arguments.output.name()
            )))
        }
    }
    Ok(())
}

/// The sources as (band, row, column) float32 planes of `n` values each.
///
/// # Safety
/// `sources` holds `n_bands` pointers (each NULL or `n` values of `src_type`).
unsafe fn read_sources(
    sources: *mut *mut c_void,
    n_bands: usize,
    n: usize,
    src_type: GDALDataType::Type,
) -> Result<Vec<f32>> {
    let src_size = gdal_sys::GDALGetDataTypeSizeBytes(src_type);
    if src_size <= 0 {
        return Err(Error::invalid(format!(
            "the sources arrive in an unknown GDAL data type ({src_type})"
        )));
    }
    let mut bands = vec![0f32; n_bands * n];
    for (k, plane) in bands.chunks_exact_mut(n).enumerate() {
        let src = *sources.add(k);
        if src.is_null() {
            return Err(Error::invalid(format!(
                "GDAL passed no buffer for source {}",
                k + 1
            )));
        }
        gdal_sys::GDALCopyWords64(
            src,
            src_type,
            src_size,
            plane.as_mut_ptr().cast(),
            GDALDataType::GDT_Float32,
            4,
            n as i64,
        );
    }
    Ok(bands)
}

/// The model class that `output=prob` shows: a 0-based index or a class name of the card.
fn class_index(model: &Model, which: &str) -> Result<usize> {
    let classes = &model.card.classes;
    let by_index = which.parse::<usize>().ok().filter(|&i| i < classes.len());
    by_index
        .or_else(|| {
            classes
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(which))
        })
        .ok_or_else(|| {
            let names: Vec<String> = classes
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{i} {}", c.name))
                .collect();
            Error::invalid(format!(
                "class=\"{which}\" is not a class of model {}: use an index or name among {}",
                model.name(),
                names.join(", ")
            ))
        })
}

/// Without `<SourceTransferType>`, GDAL 3.6 delivers the sources in the buffer type: float
/// reflectance read for a Byte band arrives rounded to 0 or 1. That cannot be told apart from
/// genuine integer sources, so this warns once per process when the types match and are integers.
fn warn_if_rounded(src_type: GDALDataType::Type, buf_type: GDALDataType::Type) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    // SAFETY: plain queries on data type enums.
    let integer = unsafe {
        gdal_sys::GDALDataTypeIsInteger(src_type) != 0
            && gdal_sys::GDALDataTypeIsComplex(src_type) == 0
    };
    if integer && src_type == buf_type && !WARNED.swap(true, Ordering::Relaxed) {
        report_warning(
            "cloudmask pixel function: the sources arrive as integers of the band's own type; if the \
             source rasters hold float reflectance, add <SourceTransferType>Float32</SourceTransferType> \
             to the VRT band, or GDAL rounds them before the model sees them",
        );
    }
}

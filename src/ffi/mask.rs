//! Masking through the C API: a window of a caller's GDAL dataset, a caller's buffer, or a whole
//! file into files. Each is a thin shell over `engine::mask_window` or `scene::mask_scene`.

use super::args::{arg, input, need, opt_output, opt_text, output, text};
use super::handles::{cm_model, model};
use super::input::{cm_input_options, input_options};
use super::options::{cm_mask_options, mask_options};
use super::panic::call;
use super::progress::Progress;
use super::status::cm_status;
use crate::engine::{check_window, mask_window, MaskOptions, Region};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::raster::writer::Format;
use crate::raster::{BandSelection, BandSource, Dataset, Input, Product, Products};
use crate::scene::{mask_scene, SceneJob};
use std::os::raw::{c_char, c_void};
use std::path::PathBuf;

/// A GDAL dataset handle (`GDALDatasetH` from gdal.h, which is a `void *`), opened and owned by
/// the caller. cloudmask reads from it during the call and never closes it.
pub type cm_gdal_dataset = *mut c_void;

/// Progress callback: `fraction` goes from 0 to 1, `stage` names the step ("masking",
/// "valid mask", "done"; valid during the call only). Return false to cancel. It is called on
/// the thread that called cloudmask.
///
/// It must return normally. A C++ exception thrown out of it (or a longjmp out of it) would
/// unwind through cloudmask's frames, which is undefined behaviour: typically the process aborts,
/// and no cleanup of the call's temporary files runs. In C++, catch everything inside the
/// callback and cancel instead: `try { ...; return true; } catch (...) { return false; }`;
/// the call then returns CM_ERROR_CANCELLED, and a `std::exception_ptr` kept through
/// `user_data` can rethrow the exception after it (docs/engine.md shows a wrapper).
pub type cm_progress_fn = Option<
    unsafe extern "C" fn(fraction: f64, stage: *const c_char, user_data: *mut c_void) -> bool,
>;

/// Masks a window of an open GDAL dataset into the caller's buffers.
///
/// `band_indices`: NULL to find the model's bands by name (band descriptions such as "B02" or
/// "blue"), or `n_band_indices` 1-based raster band numbers, one per model band in the model's
/// order (`cm_model_band_name`). Bands are scaled as `CM_SCALING_AUTO` says (GDAL scale/offset,
/// Sentinel-2 metadata, float reflectance; other integers refused); each band's nodata value
/// marks nodata pixels.
///
/// The window is `width` x `height` pixels at (`x`, `y`). `classes_out` receives width * height
/// `cm_class` codes, row by row; `valid_out` (may be NULL) receives 1 for usable pixels and 0 for
/// clouds, shadows, their buffer and nodata. With exact tiling the result equals the same
/// window of the whole-raster result. `options` may be NULL for the defaults.
#[no_mangle]
pub extern "C" fn cm_mask_window(
    model: *const cm_model,
    dataset: cm_gdal_dataset,
    band_indices: *const i32,
    n_band_indices: usize,
    options: *const cm_mask_options,
    x: i32,
    y: i32,
    width: i32,
    height: i32,
    classes_out: *mut u8,
    classes_len: usize,
    valid_out: *mut u8,
    valid_len: usize,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; the caller promises the rest (header).
        let (m, options, selection, classes, valid) = unsafe {
            (
                self::model(model)?,
                mask_options(options)?,
                band_selection(band_indices, n_band_indices)?,
                output(classes_out, classes_len, "classes_out")?,
                opt_output(valid_out, valid_len, "valid_out")?,
            )
        };
        if dataset.is_null() {
            return Err(Error::invalid("dataset is NULL"));
        }
        // SAFETY: a non-NULL GDALDatasetH the caller keeps open for the duration of the call.
        let ds = unsafe { Dataset::borrow(dataset) };
        let mut source = Input {
            bands: selection,
            ..Input::dataset(ds)
        }
        .open_for(&m.card.band_names())?;
        let window = check_window(&source, x.into(), y.into(), width.into(), height.into())?;
        mask_into(m, &mut source, window, &options, classes, valid, None)
    })
}

/// Masks a caller's buffer, taken as a whole raster: `bands` holds `n_bands` planes of
/// `height` rows of `width` reflectance values (band, row, column), in the model's band order.
/// `nodata` (may be NULL) is a value that marks nodata in any band; NaN and infinities always do.
/// `options` may be NULL for the defaults. Outputs as in `cm_mask_window`.
#[no_mangle]
pub extern "C" fn cm_mask_buffer(
    model: *const cm_model,
    bands: *const f32,
    n_bands: usize,
    width: usize,
    height: usize,
    nodata: *const f32,
    options: *const cm_mask_options,
    classes_out: *mut u8,
    classes_len: usize,
    valid_out: *mut u8,
    valid_len: usize,
) -> cm_status {
    // The whole raster as one chunk (a NULL chunk), without probabilities: one code path checks
    // and masks caller buffers.
    super::chunk::cm_mask_chunk(
        model,
        bands,
        n_bands,
        width,
        height,
        nodata,
        std::ptr::null(),
        options,
        classes_out,
        classes_len,
        valid_out,
        valid_len,
        std::ptr::null_mut(),
        0,
    )
}

/// Masks a whole raster file into a class-map GeoTIFF at `output_path` (`cm_class` codes with a
/// colour table) and, when `valid_path` is not NULL, a valid-mask GeoTIFF (1 valid, 0 invalid).
/// Bands are found by name and read as in `cm_mask_window`; the work streams strip by strip,
/// so any size fits in memory. Outputs appear only when complete, all together: after a failure
/// (a full disk included) or a cancel no file is left behind, neither a temporary nor an earlier
/// product of the call. Refused with `CM_ERROR_OUTPUT` before any work: an output that resolves
/// (links followed) to the input raster, a file GDAL reads it from or the model's file, two
/// outputs that are one file, and an output that exists and is not a regular file (a folder,
/// a device such as /dev/null, a FIFO). `options` and `progress` may be NULL; `user_data` is
/// passed to `progress` unchanged.
#[no_mangle]
pub extern "C" fn cm_mask_dataset(
    model: *const cm_model,
    input_path: *const c_char,
    output_path: *const c_char,
    valid_path: *const c_char,
    options: *const cm_mask_options,
    progress: cm_progress_fn,
    user_data: *mut c_void,
) -> cm_status {
    // Unlike cm_mask_to_files, the class map is required here.
    if output_path.is_null() {
        // SAFETY: `text` only checks the pointer, which is NULL here.
        return call(|| unsafe { text(output_path, "output_path") }.map(|_| ()));
    }
    let paths = cm_output_paths {
        classes: output_path,
        valid: valid_path,
        probabilities: std::ptr::null(),
    };
    cm_mask_to_files(
        model,
        input_path,
        &paths,
        std::ptr::null(),
        0,
        options,
        progress,
        user_data,
    )
}

/// Where `cm_mask_to_files` writes each product; NULL skips a product (at least one is needed).
#[repr(C)]
pub struct cm_output_paths {
    /// Class map GeoTIFF (`cm_class` codes, colour table, category names).
    pub classes: *const c_char,
    /// Valid mask GeoTIFF (1 valid, 0 invalid).
    pub valid: *const c_char,
    /// Probabilities GeoTIFF: one float32 band per model class, NaN on nodata.
    pub probabilities: *const c_char,
}

impl cm_output_paths {
    /// The field named after `product`.
    fn path(&self, product: Product) -> *const c_char {
        match product {
            Product::Classes => self.classes,
            Product::Valid => self.valid,
            Product::Probabilities => self.probabilities,
        }
    }
}

/// Masks a whole raster file into the products named in `paths`, as `cm_mask_dataset` does,
/// with the raster's bands chosen by number when `band_indices` is not NULL (1-based, one per
/// model band, in the model's band order). `options`, `band_indices` and `progress` may be NULL.
/// Outputs are checked and written as for `cm_mask_dataset`.
#[no_mangle]
pub extern "C" fn cm_mask_to_files(
    model: *const cm_model,
    input_path: *const c_char,
    paths: *const cm_output_paths,
    band_indices: *const i32,
    n_band_indices: usize,
    options: *const cm_mask_options,
    progress: cm_progress_fn,
    user_data: *mut c_void,
) -> cm_status {
    cm_mask_to_files_ex(
        model,
        input_path,
        std::ptr::null(),
        paths,
        band_indices,
        n_band_indices,
        options,
        progress,
        user_data,
    )
}

/// `cm_mask_to_files` with the input read as `input_options` say (scaling, DN offset, nodata,
/// resolution, per-class buffers; NULL = the defaults, as `cm_mask_to_files`).
#[no_mangle]
pub extern "C" fn cm_mask_to_files_ex(
    model: *const cm_model,
    input_path: *const c_char,
    input_options: *const cm_input_options,
    paths: *const cm_output_paths,
    band_indices: *const i32,
    n_band_indices: usize,
    options: *const cm_mask_options,
    progress: cm_progress_fn,
    user_data: *mut c_void,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; strings are NUL-terminated (header).
        let (m, input, read, paths, bands, mut options) = unsafe {
            (
                self::model(model)?,
                text(input_path, "input_path")?,
                self::input_options(input_options)?,
                arg(paths, "paths")?,
                band_selection(band_indices, n_band_indices)?,
                mask_options(options)?,
            )
        };
        options.buffers = read.buffers(options.buffers);
        let mut outputs = Vec::new();
        for product in Product::ALL {
            let name = format!("paths->{}", product.name());
            // SAFETY: NULL or a NUL-terminated string (header).
            if let Some(path) = unsafe { opt_text(paths.path(product), &name)? } {
                outputs.push((product, PathBuf::from(path)));
            }
        }
        if outputs.is_empty() {
            return Err(Error::invalid(format!(
                "paths names no output: set {}",
                Product::names()
            )));
        }
        let job = SceneJob {
            input: read.input(input, bands),
            outputs,
            format: Format::default(),
            options,
            quicklook: None,
            output_grid: Default::default(),
        };
        let mut progress = Progress::new(progress, user_data);
        let result = mask_scene(m, job, &mut |fraction, stage| {
            progress.report(fraction, stage)
        });
        progress.finish(result).map(|_| ())
    })
}

/// Bands by name when `indices` is NULL, else the caller's 1-based band numbers.
///
/// # Safety
/// `indices` is NULL or points to `n` readable `int32_t`.
unsafe fn band_selection(indices: *const i32, n: usize) -> Result<BandSelection> {
    if indices.is_null() {
        return Ok(BandSelection::Auto);
    }
    let given = input(indices, n, "band_indices")?;
    given
        .iter()
        .map(|&i| {
            usize::try_from(i).ok().filter(|&i| i >= 1).ok_or_else(|| {
                Error::bands(format!(
                    "band number {i} is invalid: bands are numbered from 1"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(BandSelection::Indices)
}

/// Checks the buffers hold the window, masks it, and only then writes the caller's buffers.
/// `probabilities` (may be `None`) receives one plane per model class (class, row, column).
pub(super) fn mask_into(
    m: &Model,
    source: &mut dyn BandSource,
    window: Region,
    options: &MaskOptions,
    classes: &mut [u8],
    valid: Option<&mut [u8]>,
    probabilities: Option<&mut [f32]>,
) -> Result<()> {
    let n = window.w * window.h;
    need("classes_out", classes.len(), n, "bytes")?;
    if let Some(v) = &valid {
        need("valid_out", v.len(), n, "bytes")?;
    }
    let n_probabilities = n * m.n_classes();
    if let Some(p) = &probabilities {
        need("probabilities_out", p.len(), n_probabilities, "floats")?;
    }
    let products = Products {
        valid: valid.is_some(),
        probabilities: probabilities.is_some(),
    };
    let result = mask_window(m, source, window, options, products, &mut |_| true)?;
    classes[..n].copy_from_slice(&result.classes);
    if let (Some(dst), Some(src)) = (valid, result.valid.as_deref()) {
        dst[..n].copy_from_slice(src);
    }
    if let (Some(dst), Some(src)) = (probabilities, result.probabilities.as_deref()) {
        dst[..n_probabilities].copy_from_slice(src);
    }
    Ok(())
}

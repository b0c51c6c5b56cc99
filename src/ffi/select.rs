//! Active-learning tile selection through the C API: a thin shell over `select::run`, as
//! `cloudmask select` is.

use super::args::{at_least, input, opt_arg, opt_text, or_default, out, text, write_default};
use super::handles::{cm_model, model};
use super::input::{cm_input_options, reading};
use super::mask::cm_progress_fn;
use super::options::{c_enum, c_value, cm_mask_options, mask_options};
use super::panic::call;
use super::progress::Progress;
use super::status::cm_status;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::select::{self, Measure, Models, SelectJob, SelectOptions};
use std::os::raw::{c_char, c_void};
use std::path::PathBuf;

/// Values of `cm_select_options.measure`: how uncertainty is measured, each 0 (sure) .. 1.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_measure {
    /// Entropy of the model's class probabilities, divided by its maximum.
    Entropy = 0,
    /// 1 - (most probable class's probability - the second's).
    Margin = 1,
    /// How far two models' probabilities lie apart (total variation on the common classes);
    /// needs a second model.
    Disagreement = 2,
}

/// How to select tiles. Fill it with `cm_select_options_default`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_select_options {
    /// A `cm_measure` value.
    pub measure: i32,
    /// Side of the square candidate tiles, pixels, at least 1.
    pub tile: i32,
    /// Step between candidate tiles, a divisor of `tile`; -1 = the tile size.
    pub stride: i32,
    /// How many tiles to select, at least 1.
    pub count: i32,
    /// Least gap in pixels between selected tiles of one raster; -1 = one tile (no two selected
    /// tiles are neighbours); 0 allows touching tiles. Selected tiles never overlap.
    pub min_gap: i32,
    /// Candidates with a smaller fraction of valid (not nodata) pixels are skipped; 0 .. 1.
    pub min_valid: f64,
    /// How every raster is read (`cloudmask select`'s --scaling, --quantification, --dn-offset,
    /// --nodata), or NULL for the defaults (bands by name, automatic scaling, the rasters' own
    /// nodata). Its `resolution` must be 0: tiles are the rasters' own pixels, so another value
    /// is `CM_ERROR_INVALID_ARGUMENT`; its buffer fields are ignored (no valid mask is
    /// written). Added in 0.1 as the struct's last field, so that callers that fill the struct
    /// with `cm_select_options_default` compile unchanged and get NULL; a program built against
    /// an older header must be rebuilt (the struct grew), as when `cm_model_options.precision`
    /// was added.
    pub input_options: *const cm_input_options,
}

/// Writes the default selection options into `*out_options`: entropy, 512-pixel tiles on a grid
/// without overlap, 10 tiles at least one tile apart, candidates at least half valid, rasters
/// read with the default input options (`input_options` NULL). NULL writes nothing.
#[no_mangle]
pub extern "C" fn cm_select_options_default(out_options: *mut cm_select_options) {
    write_default(out_options, || {
        let d = SelectOptions::default();
        cm_select_options {
            measure: cm_measure::from(d.measure) as i32,
            tile: d.tile as i32,
            stride: -1,
            count: d.count as i32,
            min_gap: -1,
            min_valid: d.min_valid,
            input_options: std::ptr::null(),
        }
    })
}

/// Ranks the candidate tiles of `n_inputs` rasters (`input_paths`) by the model's uncertainty
/// and writes the `count` most uncertain, spread apart, for labelling: as GeoJSON polygons in the
/// rasters' CRS at `geojson_path` (properties: rank, scene, xoff, yoff, width, height, score)
/// and/or as CSV (`scene,xoff,yoff,width,height,score`) at `list_path`; either path may be NULL,
/// not both. Bands are found by name, as in `cm_mask_dataset`; `options->input_options` says
/// how the rasters' values are read (digital numbers, say).
///
/// `second_model` is required by `CM_MEASURE_DISAGREEMENT` and must be NULL otherwise.
/// `options`, `mask_options` (batch and tile size of the model runs; tiling is always exact)
/// and `progress` may be NULL. `*out_selected` (may be NULL) receives the number of tiles
/// written: fewer than `count` when the gap leaves no room for more. A GeoJSON holds one CRS,
/// so rasters in different CRSs are refused when `geojson_path` is given.
#[no_mangle]
pub extern "C" fn cm_select_tiles(
    model: *const cm_model,
    second_model: *const cm_model,
    input_paths: *const *const c_char,
    n_inputs: usize,
    options: *const cm_select_options,
    mask_options: *const cm_mask_options,
    geojson_path: *const c_char,
    list_path: *const c_char,
    progress: cm_progress_fn,
    user_data: *mut c_void,
    out_selected: *mut usize,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; strings are NUL-terminated and
        // `input_paths` holds `n_inputs` of them (header).
        let (first, second, inputs, options, mask, geojson, list) = unsafe {
            (
                self::model(model)?,
                opt_arg(second_model.cast::<Model>(), "second_model")?,
                paths(input_paths, n_inputs)?,
                select_options(options)?,
                self::mask_options(mask_options)?,
                opt_text(geojson_path, "geojson_path")?,
                opt_text(list_path, "list_path")?,
            )
        };
        let job = SelectJob {
            inputs,
            options: SelectOptions { mask, ..options },
            geojson: geojson.map(PathBuf::from),
            list: list.map(PathBuf::from),
        };
        let models = Models { first, second };
        let mut callback = Progress::new(progress, user_data);
        let result = select::run(models, &job, &mut |f, stage| callback.report(f, stage));
        let (selection, _) = callback.finish(result)?;
        if !out_selected.is_null() {
            // SAFETY: checked for NULL and alignment by `out`; written only on success.
            *unsafe { out(out_selected, "out_selected") }? = selection.selected.len();
        }
        Ok(())
    })
}

/// `n` paths from a caller's array of C strings.
///
/// # Safety
/// `p` is NULL or points to `n` pointers, each NULL or a NUL-terminated string.
unsafe fn paths(p: *const *const c_char, n: usize) -> Result<Vec<String>> {
    if n == 0 {
        return Err(Error::invalid(
            "n_inputs is 0: give at least one raster to select tiles from",
        ));
    }
    input(p, n, "input_paths")?
        .iter()
        .enumerate()
        .map(|(i, &s)| text(s, &format!("input_paths[{i}]")).map(str::to_string))
        .collect()
}

c_enum!(cm_measure <=> Measure {
    Entropy <=> Entropy,
    Margin <=> Margin,
    Disagreement <=> Disagreement,
});

/// The library's selection options from a caller's struct, or the defaults when it is NULL.
///
/// # Safety
/// `p` is NULL or points to a valid struct.
unsafe fn select_options(p: *const cm_select_options) -> Result<SelectOptions> {
    let mut options = SelectOptions::default();
    let Some(c) = opt_arg(p, "options")? else {
        return Ok(options);
    };
    options.measure = c_value(c.measure, "options->measure")?;
    options.tile = at_least(c.tile, 1, "options->tile")?;
    options.stride = or_default(c.stride, 1, "options->stride")?;
    options.count = at_least(c.count, 1, "options->count")?;
    options.min_gap = or_default(c.min_gap, 0, "options->min_gap")?;
    if !(0.0..=1.0).contains(&c.min_valid) {
        return Err(Error::invalid(format!(
            "options->min_valid is {}; it must be a fraction from 0 to 1",
            c.min_valid
        )));
    }
    options.min_valid = c.min_valid;
    options.reading = reading(c.input_options, "options->input_options")?;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    #[test]
    fn defaults_translate_to_the_library_defaults() {
        let mut c = MaybeUninit::<cm_select_options>::uninit();
        cm_select_options_default(c.as_mut_ptr());
        // SAFETY: written by cm_select_options_default.
        let c = unsafe { c.assume_init() };
        let o = unsafe { select_options(&c) }.unwrap();
        let d = SelectOptions::default();
        assert_eq!(
            (o.measure, o.tile, o.stride, o.count, o.min_gap, o.min_valid),
            (d.measure, d.tile, d.stride, d.count, d.min_gap, d.min_valid)
        );
        assert!(c.input_options.is_null());
        assert_eq!(o.reading, d.reading);
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_name() {
        let mut c = MaybeUninit::<cm_select_options>::uninit();
        cm_select_options_default(c.as_mut_ptr());
        let good = unsafe { c.assume_init() };
        for (bad, needle) in [
            (cm_select_options { measure: 3, ..good }, "options->measure"),
            (cm_select_options { tile: 0, ..good }, "options->tile"),
            (cm_select_options { stride: 0, ..good }, "options->stride"),
            (cm_select_options { count: 0, ..good }, "options->count"),
            (
                cm_select_options {
                    min_gap: -2,
                    ..good
                },
                "options->min_gap",
            ),
            (
                cm_select_options {
                    min_valid: 1.5,
                    ..good
                },
                "options->min_valid",
            ),
        ] {
            let err = unsafe { select_options(&bad) }.unwrap_err();
            assert!(err.message.contains(needle), "{}", err.message);
        }
    }

    #[test]
    fn null_arguments_are_named() {
        let path = c"x.tif";
        let paths = [path.as_ptr()];
        let status = cm_select_tiles(
            std::ptr::null(),
            std::ptr::null(),
            paths.as_ptr(),
            1,
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            c"out.csv".as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(status, cm_status::CM_ERROR_INVALID_ARGUMENT);
    }
}

//! Exact chunks of a caller's array: a buffer masked as the part of a larger raster it is, so a
//! chunk computed alone (a Dask task, another machine) equals the crop of the whole-array mask.

use super::args::{band_values, input, opt_arg, opt_output, out, output};
use super::handles::{cm_model, model};
use super::mask::mask_into;
use super::options::{cm_mask_options, mask_options};
use super::panic::call;
use super::status::cm_status;
use crate::engine::{context, MaskOptions, Region, Tiling};
use crate::error::{Error, Result};
use crate::raster::{MemorySource, Placed};

/// Where a caller's buffer lies in a larger raster, and which part of it to mask: the buffer's
/// first value is raster pixel (`x`, `y`); the outer `halo_*` pixels on each side are context
/// only, the rest (the core) is masked. All sizes in pixels.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct cm_chunk {
    /// Width of the whole raster the buffer is a part of.
    pub raster_width: usize,
    /// Height of the whole raster.
    pub raster_height: usize,
    /// Raster column of the buffer's first value (its halo included).
    pub x: usize,
    /// Raster row of the buffer's first value.
    pub y: usize,
    /// Columns of context on the buffer's left: at least `cm_model_context`'s halo, or all
    /// columns left of the core when the raster's edge is nearer.
    pub halo_left: usize,
    /// Rows of context above the core (as `halo_left`).
    pub halo_top: usize,
    /// Columns of context right of the core (as `halo_left`).
    pub halo_right: usize,
    /// Rows of context below the core (as `halo_left`).
    pub halo_bottom: usize,
}

/// Writes into `*out_context` the halo (pixels, on every side) that `cm_mask_chunk` needs around
/// a chunk's core with these mask `options` (NULL for the defaults): a tile less one pixel, plus
/// the valid mask's buffer. Exact tiling only (`CM_ERROR_INVALID_ARGUMENT` for ukis tiling).
#[no_mangle]
pub extern "C" fn cm_model_context(
    model: *const cm_model,
    options: *const cm_mask_options,
    out_context: *mut usize,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; the handle is live (header).
        let (m, options, slot) = unsafe {
            (
                self::model(model)?,
                mask_options(options)?,
                out(out_context, "out_context")?,
            )
        };
        *slot = context(m, &options)?;
        Ok(())
    })
}

/// Masks the core of a caller's buffer that is one part of a larger raster (`chunk`, NULL = the
/// buffer is the whole raster, no halo), so the result equals the same pixels of the
/// whole-raster result. `bands`, `n_bands`, `width`, `height` and `nodata` are as in
/// `cm_mask_buffer`, the buffer's halo included. Needs exact tiling when `chunk` is not the
/// whole raster, and on every side where the raster goes on at least `cm_model_context` pixels
/// of halo (less is refused with `CM_ERROR_WINDOW`, saying how much is needed).
///
/// Outputs cover the core: core_width = `width - halo_left - halo_right` by core_height =
/// `height - halo_top - halo_bottom` pixels, row by row. `classes_out` receives `cm_class`
/// codes; `valid_out` (may be NULL) the valid mask; `probabilities_out` (may be NULL)
/// `cm_model_info.n_classes` planes of core_width * core_height floats (class, row, column;
/// NaN on nodata).
#[no_mangle]
pub extern "C" fn cm_mask_chunk(
    model: *const cm_model,
    bands: *const f32,
    n_bands: usize,
    width: usize,
    height: usize,
    nodata: *const f32,
    chunk: *const cm_chunk,
    options: *const cm_mask_options,
    classes_out: *mut u8,
    classes_len: usize,
    valid_out: *mut u8,
    valid_len: usize,
    probabilities_out: *mut f32,
    probabilities_len: usize,
) -> cm_status {
    call(|| {
        let total = band_values(n_bands, width, height)?;
        // SAFETY: every pointer is checked for NULL; `bands` holds `total` floats (header).
        let (m, data, nodata, chunk, options, classes, valid, probabilities) = unsafe {
            (
                self::model(model)?,
                input(bands, total, "bands")?,
                opt_arg(nodata, "nodata")?.copied(),
                opt_arg(chunk, "chunk")?.copied(),
                mask_options(options)?,
                output(classes_out, classes_len, "classes_out")?,
                opt_output(valid_out, valid_len, "valid_out")?,
                opt_output(probabilities_out, probabilities_len, "probabilities_out")?,
            )
        };
        let chunk = chunk.unwrap_or(cm_chunk {
            raster_width: width,
            raster_height: height,
            ..cm_chunk::default()
        });
        let memory = MemorySource::new(data, n_bands, width, height, nodata)?;
        let mut source = Placed::new(
            memory,
            chunk.x,
            chunk.y,
            chunk.raster_width,
            chunk.raster_height,
        )?;
        let core = core(&chunk, width, height)?;
        check_halo(m, &options, &chunk, core)?;
        mask_into(
            m,
            &mut source,
            core,
            &options,
            classes,
            valid,
            probabilities,
        )
    })
}

/// The core of the chunk in raster coordinates: the buffer less its halo, at least one pixel.
fn core(c: &cm_chunk, width: usize, height: usize) -> Result<Region> {
    let side = |size: usize, a: usize, b: usize, what: &str| {
        a.checked_add(b)
            .and_then(|halo| size.checked_sub(halo))
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::window(format!(
                    "the chunk's halo ({a} + {b} {what}) leaves nothing of its {size} {what} to mask"
                ))
            })
    };
    Ok(Region {
        x: c.x + c.halo_left,
        y: c.y + c.halo_top,
        w: side(width, c.halo_left, c.halo_right, "columns")?,
        h: side(height, c.halo_top, c.halo_bottom, "rows")?,
    })
}

/// Each side of the core carries the context exact tiling reads, or reaches the raster's edge.
fn check_halo(
    m: &crate::model::Model,
    options: &MaskOptions,
    c: &cm_chunk,
    core: Region,
) -> Result<()> {
    let whole = core.w == c.raster_width && core.h == c.raster_height;
    if whole && options.tiling == Tiling::Ukis {
        return Ok(());
    }
    let need = context(m, options)?;
    let sides = [
        ("halo_left", c.halo_left, core.x),
        ("halo_top", c.halo_top, core.y),
        ("halo_right", c.halo_right, c.raster_width - core.x - core.w),
        (
            "halo_bottom",
            c.halo_bottom,
            c.raster_height - core.y - core.h,
        ),
    ];
    for (name, given, to_edge) in sides {
        let needed = need.min(to_edge);
        if given < needed {
            return Err(Error::window(format!(
                "chunk {name} is {given} pixels but exact masking needs {needed} there ({need} with these options, cm_model_context, or all pixels up to the raster's edge)"
            )));
        }
    }
    Ok(())
}

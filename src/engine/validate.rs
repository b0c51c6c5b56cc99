//! What a request must satisfy before any tile is read. A [`super::Pipeline`] checks it once,
//! where it starts; nothing downstream checks again.

use super::{MaskOptions, Region, Tiling};
use crate::error::{Error, Result};
use crate::limits::{self, MAX_BATCH, MAX_BATCH_PIXELS, MAX_BUFFER, MAX_TILE};
use crate::model::Model;
use crate::raster::BandSource;
use crate::tiling::{BlendGrid, UKIS_OVERLAP};

pub fn check_window(source: &dyn BandSource, x: i64, y: i64, w: i64, h: i64) -> Result<Region> {
    limits::check_raster("the raster", source.width() as u64, source.height() as u64)?;
    let (sw, sh) = (source.width() as i64, source.height() as i64);
    if w <= 0 || h <= 0 {
        return Err(Error::window(format!(
            "window {w} x {h} is empty: width and height must be at least 1"
        )));
    }
    if x < 0 || y < 0 || x.saturating_add(w) > sw || y.saturating_add(h) > sh {
        return Err(Error::window(format!(
            "window {w} x {h} at ({x}, {y}) lies outside the raster ({sw} x {sh}); it must fit inside 0..{sw} x 0..{sh}"
        )));
    }
    Ok(Region {
        x: x as usize,
        y: y as usize,
        w: w as usize,
        h: h as usize,
    })
}

pub fn check_bands(model: &Model, source: &dyn BandSource) -> Result<()> {
    if source.n_bands() != model.n_bands() {
        return Err(Error::bands(format!(
            "the input gives {} bands but model {} needs {} ({})",
            source.n_bands(),
            model.name(),
            model.n_bands(),
            model.card.band_names().join(", ")
        )));
    }
    Ok(())
}

/// The tile grid the options give for this model: a tile size the network accepts and an
/// overlap of at least one pixel.
pub(super) fn check_grid(model: &Model, options: &MaskOptions) -> Result<BlendGrid> {
    let card = &model.card;
    let tile = options.tile.unwrap_or(card.tile_size);
    limits::check_usize("tile size", tile, 1, MAX_TILE)?;
    if tile % card.size_multiple != 0 {
        return Err(Error::invalid(format!(
            "tile size {tile} must be a positive multiple of {} for model {}",
            card.size_multiple,
            model.name()
        )));
    }
    let overlap = match options.tiling {
        Tiling::Ukis => UKIS_OVERLAP,
        Tiling::Exact => options.overlap,
    };
    if !(overlap > 0.0 && overlap <= 0.5) || (tile as f64 * overlap) < 1.0 {
        return Err(Error::invalid(format!("overlap {overlap} must be between 0 and 0.5 and give at least one pixel of a {tile}-pixel tile")));
    }
    Ok(BlendGrid { tile, overlap })
}

/// A batch of at least one tile, whose tiles together stay within [`MAX_BATCH_PIXELS`].
pub(super) fn check_batch(options: &MaskOptions, grid: &BlendGrid) -> Result<()> {
    if options.batch == 0 {
        return Err(Error::invalid(
            "batch 0 would run no tiles: give at least 1 tile per ONNX Runtime call",
        ));
    }
    limits::check_usize("batch", options.batch, 1, MAX_BATCH)?;
    let pixels = (options.batch * grid.tile * grid.tile) as u64;
    if pixels > MAX_BATCH_PIXELS {
        return Err(Error::invalid(format!(
            "batch {} of {}-pixel tiles is {pixels} pixels per ONNX Runtime call, more than {MAX_BATCH_PIXELS}: use a batch of at most {}",
            options.batch,
            grid.tile,
            (MAX_BATCH_PIXELS / (grid.tile * grid.tile) as u64).max(1)
        )));
    }
    Ok(())
}

/// Buffer radii within [`MAX_BUFFER`]: the valid mask computes classes that far around a window.
pub(super) fn check_buffers(options: &MaskOptions) -> Result<()> {
    limits::check_usize("buffer", options.buffers.max(), 0, MAX_BUFFER)?;
    Ok(())
}

/// The options' sizes for this model (tile, overlap, batch, buffers), checked without a
/// source: what callers that create files check before they create them.
pub fn check_options(model: &Model, options: &MaskOptions) -> Result<()> {
    let grid = check_grid(model, options)?;
    check_batch(options, &grid)?;
    check_buffers(options)
}

/// Pixels of context on every side that exact tiling reads around a window with these options
/// (where the raster goes on): a tile covering a pixel reaches at most a tile less one pixel
/// beyond it, and the valid mask computes classes `buffers.max()` further out. A part of a
/// raster holding this much halo gives any window of its core exactly as the whole raster does.
pub fn context(model: &Model, options: &MaskOptions) -> Result<usize> {
    if options.tiling != Tiling::Exact {
        return Err(Error::invalid(
            "only exact tiling masks a part of a raster as the whole raster would: ukis tiling masks each part as an image of its own",
        ));
    }
    check_options(model, options)?;
    let grid = check_grid(model, options)?;
    Ok(grid.tile - 1 + options.buffers.max())
}

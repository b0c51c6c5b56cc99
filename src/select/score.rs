//! Scoring one scene: the model (or both models) run over the covered part of the raster in
//! strips of rows, each strip's probabilities turned into per-pixel uncertainty and summed into
//! the candidate grid's cells.
//!
//! One engine pipeline per model covers the scored part; its strips are computed with exact
//! tiling, so every strip is exactly the crop of the whole-raster result, and a tile cache per
//! model keeps tiles that straddle two strips from being computed twice.

use super::grid::{Cells, Grid};
use super::uncertainty::{disagreement, entropy, margin, Measure};
use crate::engine::{MaskOptions, Pipeline, Products, Region, Tiling};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::raster::writer::Georef;
use crate::raster::{GdalSource, Reading};
use crate::tiling::TileCache;
use std::sync::Arc;

/// Rows per strip, rounded to whole cells: bounds memory to a strip of probabilities.
const STRIP_ROWS: usize = 512;

/// The model, or the two models whose disagreement is measured.
#[derive(Clone, Copy)]
pub struct Models<'a> {
    pub first: &'a Model,
    pub second: Option<&'a Model>,
}

/// A scene opened for scoring: a source per model, its size and georeferencing.
pub struct OpenScene {
    sources: Vec<GdalSource>,
    pub width: usize,
    pub height: usize,
    pub georef: Georef,
}

/// Opens `path`, read as `reading` says, once per model (each model maps the raster's bands by
/// name its own way).
pub fn open_scene(path: &str, reading: &Reading, models: Models) -> Result<OpenScene> {
    let mut sources = Vec::new();
    let mut georef = Georef::default();
    for model in std::iter::once(models.first).chain(models.second) {
        let source = reading
            .input(path)
            .open_for(&model.card.band_names())
            .map_err(|e| Error::new(e.kind, format!("{e} (model {})", model.name())))?;
        if sources.is_empty() {
            georef = Georef::of(source.dataset());
        }
        sources.push(source);
    }
    let (width, height) = (sources[0].dataset().width(), sources[0].dataset().height());
    Ok(OpenScene {
        sources,
        width,
        height,
        georef,
    })
}

/// Sums the scene's per-pixel uncertainty into the cells of `grid`. `progress` gets the fraction
/// of the scene done; returning false cancels.
pub fn score_scene(
    scene: &mut OpenScene,
    models: Models,
    measure: Measure,
    grid: Grid,
    options: &MaskOptions,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Cells> {
    let (width, height) = grid.covered();
    let rows = (STRIP_ROWS / grid.stride).max(1) * grid.stride;
    let list: Vec<&Model> = std::iter::once(models.first).chain(models.second).collect();
    let options: Vec<MaskOptions> = list
        .iter()
        .map(|m| MaskOptions {
            tiling: Tiling::Exact,
            cache: Some(Arc::new(TileCache::new(cache_bytes(m, options, width)))),
            ..options.clone()
        })
        .collect();
    let covered = Region {
        x: 0,
        y: 0,
        w: width,
        h: height,
    };
    let products = Products {
        probabilities: true,
        valid: false,
    };
    let mut pipelines = list
        .iter()
        .zip(scene.sources.iter_mut())
        .zip(&options)
        .map(|((model, source), options)| Pipeline::new(model, source, covered, options, products))
        .collect::<Result<Vec<_>>>()?;
    let mut cells = Cells::new(grid);
    let strips = height.div_ceil(rows);
    let parts = list.len() as f64;
    for (k, y) in (0..height).step_by(rows).enumerate() {
        let rows = rows.min(height - y);
        let mut probabilities = Vec::new();
        for (m, pipeline) in pipelines.iter_mut().enumerate() {
            let mut inner = |f: f64| progress((k as f64 + (m as f64 + f) / parts) / strips as f64);
            let result = pipeline.collect_rows(y, rows, &mut inner)?;
            probabilities.push(result.probabilities.ok_or_else(|| {
                Error::new(
                    crate::error::ErrorKind::Internal,
                    "the engine returned no probabilities",
                )
            })?);
        }
        let n = width * rows;
        let first = models.first;
        let scores = match (measure, models.second) {
            (Measure::Entropy, _) => entropy(&probabilities[0], first.n_classes(), n),
            (Measure::Margin, _) => margin(&probabilities[0], first.n_classes(), n),
            (Measure::Disagreement, Some(second)) => disagreement(
                &probabilities[0],
                &first.card.common_codes(),
                &probabilities[1],
                &second.card.common_codes(),
                n,
            ),
            (Measure::Disagreement, None) => {
                return Err(Error::invalid(
                    "the disagreement measure needs a second model",
                ))
            }
        };
        cells.add_rows(y, width, &scores);
    }
    Ok(cells)
}

/// Enough tile outputs for two rows of the model's tiles across the covered width, so tiles
/// shared by neighbouring strips are computed once.
fn cache_bytes(model: &Model, options: &MaskOptions, width: usize) -> usize {
    let tile = options.tile.unwrap_or(model.card.tile_size);
    let step = ((tile as f64) * (1.0 - options.overlap)).max(1.0) as usize;
    let per_tile = tile * tile * (model.n_classes() * 4 + 1);
    3 * (width / step + 2) * per_tile
}

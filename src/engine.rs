//! The one data path: raster window in, mask out.
//!
//! bands (reflectance) → normalised tiles → network → probabilities → assembled strips →
//! classes / probabilities → valid mask. The CLI, the C API and the plugins all call this module,
//! through one [`Pipeline`] that checks each request where it starts.
//!
//! Parts: `validate` (what a request must satisfy), `pipeline` (a checked request, streamed or
//! collected), `tiles` (reading tiles and running the network), `assemble` (blending tile outputs
//! into strips), `accumulate` (strips into one in-memory result).

mod accumulate;
mod assemble;
mod pipeline;
mod tiles;
mod validate;

pub use pipeline::Pipeline;
pub use validate::{check_bands, check_options, check_window, context};

use crate::error::Result;
use crate::model::Model;
use crate::postprocess::Buffers;
use crate::raster::BandSource;
use crate::tiling::TileCache;
use std::sync::Arc;

/// Exact mode's default overlap (see docs/BENCHMARKS.md for its speed and agreement with ukis).
pub const DEFAULT_OVERLAP: f64 = 0.2;

/// How a raster is cut into tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tiling {
    /// Overlapping tiles on a grid anchored to the raster, blended with a Tukey window; context is
    /// read from the raster around the window and mirrored only at the raster's edges, so any
    /// window gives exactly the crop of the whole-raster result.
    Exact,
    /// ukis-csmask's own procedure: the window is treated as a whole image, mirrored at its own
    /// edges. On a whole raster both modes give the same pixels.
    Ukis,
}

crate::options::choice!(Tiling, "tiling", [
    Exact => "exact", "Any window equals the crop of the whole-raster result",
    Ukis => "ukis", "ukis-csmask's own procedure: a window is masked as a whole image",
]);

#[derive(Debug, Clone)]
pub struct MaskOptions {
    pub tiling: Tiling,
    /// Tiles per ONNX Runtime call.
    pub batch: usize,
    pub buffers: Buffers,
    /// Tile size; `None` uses the model card's (the size the network was trained on). Larger
    /// tiles run faster but change the results of networks with global pooling (such as
    /// ukis-csmask's EfficientNet encoder).
    pub tile: Option<usize>,
    /// Exact mode: fraction of each tile overlapping its neighbours. ukis mode always uses 0.2.
    pub overlap: f64,
    /// Exact mode: tile outputs shared between calls on the same raster with the same model and
    /// options (the GDAL plugin's block reads). Never share one across rasters or models.
    pub cache: Option<Arc<TileCache>>,
}

impl Default for MaskOptions {
    fn default() -> Self {
        MaskOptions {
            tiling: Tiling::Exact,
            batch: 1,
            buffers: Buffers::default(),
            tile: None,
            overlap: DEFAULT_OVERLAP,
            cache: None,
        }
    }
}

pub use crate::raster::product::{Product, Products};

/// Rows `y .. y + rows` of a region, all columns: common class codes and, when asked,
/// per-class probabilities (class, row, column; NaN on nodata pixels).
pub struct Strip {
    pub y: usize,
    pub rows: usize,
    pub width: usize,
    pub classes: Vec<u8>,
    pub probabilities: Option<Vec<f32>>,
}

/// The result of masking a window.
#[derive(Debug, Clone)]
pub struct MaskResult {
    pub width: usize,
    pub height: usize,
    pub classes: Vec<u8>,
    pub probabilities: Option<Vec<f32>>,
    pub valid: Option<Vec<u8>>,
}

/// One band of a computed product, row by row.
pub enum Plane<'a> {
    U8(&'a [u8]),
    F32(&'a [f32]),
}

impl MaskResult {
    /// Band `index` (0-based) of `product`; `None` when it was not computed or has no such band.
    pub fn band(&self, product: Product, index: usize) -> Option<Plane<'_>> {
        let n = self.width * self.height;
        match product {
            Product::Classes => (index == 0).then_some(Plane::U8(&self.classes)),
            Product::Valid => self.valid.as_deref().filter(|_| index == 0).map(Plane::U8),
            Product::Probabilities => self
                .probabilities
                .as_deref()
                .and_then(|p| p.get(index * n..(index + 1) * n))
                .map(Plane::F32),
        }
    }
}

/// Called with the fraction done; returning `false` cancels the work.
pub type Progress<'a> = &'a mut dyn FnMut(f64) -> bool;

/// A rectangle in raster coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// Masks one window of a source into memory: a [`Pipeline`] collected in one call.
pub fn mask_window(
    model: &Model,
    source: &mut dyn BandSource,
    window: Region,
    options: &MaskOptions,
    products: Products,
    progress: Progress,
) -> Result<MaskResult> {
    Pipeline::new(model, source, window, options, products)?.collect(progress)
}

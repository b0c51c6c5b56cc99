//! The one way through the engine: a request (model, source, window, options, products) checked
//! once where it starts, then streamed strip by strip or collected into memory. The scene writer,
//! virtual-mask blocks, selection, evaluation and `mask_window` all go through it.

use super::accumulate::Accumulator;
use super::assemble::BlendAssembler;
use super::tiles::run_tiles;
use super::validate::{check_bands, check_batch, check_buffers, check_grid, check_window};
use super::{MaskOptions, MaskResult, Products, Progress, Region, Strip, Tiling};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::raster::{BandSource, Cropped};
use crate::tiling::BlendGrid;

/// A checked request to mask one window of a source.
pub struct Pipeline<'a> {
    model: &'a Model,
    source: &'a mut dyn BandSource,
    window: Region,
    options: &'a MaskOptions,
    products: Products,
    grid: BlendGrid,
}

impl<'a> Pipeline<'a> {
    /// Checks the request: the window lies inside the raster, the source gives the model's
    /// bands, the tile size suits the network, the overlap covers at least a pixel and a batch
    /// holds at least one tile. Any problem is an error before a tile is read.
    pub fn new(
        model: &'a Model,
        source: &'a mut dyn BandSource,
        window: Region,
        options: &'a MaskOptions,
        products: Products,
    ) -> Result<Self> {
        check_window(
            source,
            window.x as i64,
            window.y as i64,
            window.w as i64,
            window.h as i64,
        )?;
        check_bands(model, source)?;
        let grid = check_grid(model, options)?;
        check_batch(options, &grid)?;
        check_buffers(options)?;
        Ok(Pipeline {
            model,
            source,
            window,
            options,
            products,
            grid,
        })
    }

    /// Hands the window's classes (and probabilities, when asked) to `sink` in strips, top to
    /// bottom, each strip's `y` a raster row. Memory stays bounded by one strip of tiles whatever
    /// the window's size. The valid mask is not streamed: it needs `buffers.max()` rows around
    /// each strip, so [`Pipeline::collect`] derives it in memory and the scene writer from the
    /// class map it wrote.
    pub fn stream(
        &mut self,
        sink: &mut dyn FnMut(Strip) -> Result<()>,
        progress: Progress,
    ) -> Result<()> {
        let window = self.window;
        self.compute(window, sink, progress)
    }

    /// The whole window in memory, with the valid mask when asked.
    pub fn collect(&mut self, progress: Progress) -> Result<MaskResult> {
        let window = self.window;
        self.collect_part(window, progress)
    }

    /// Raster rows `y .. y + rows` of the window in memory: exactly that crop of the window's
    /// result, since exact tiling gives any part of a raster alone as it gives it in the whole.
    /// A tile cache in the options keeps tiles shared by neighbouring parts from running twice.
    pub fn collect_rows(
        &mut self,
        y: usize,
        rows: usize,
        progress: Progress,
    ) -> Result<MaskResult> {
        let w = self.window;
        if self.options.tiling != Tiling::Exact {
            return Err(Error::invalid(
                "rows of a window are masked alone only with exact tiling: ukis tiling masks the window as one image",
            ));
        }
        if rows == 0 || y < w.y || y + rows > w.y + w.h {
            return Err(Error::window(format!(
                "rows {y}..{} are not inside the window's rows {}..{}",
                y + rows,
                w.y,
                w.y + w.h
            )));
        }
        let part = Region { y, h: rows, ..w };
        self.collect_part(part, progress)
    }

    /// `part` of the window in memory. With exact tiling the valid mask's buffer reaches
    /// `margin` pixels: classes are computed that far around the part (inside the raster) so the
    /// buffer is the same as in the whole-raster result.
    fn collect_part(&mut self, part: Region, progress: Progress) -> Result<MaskResult> {
        let margin = if self.products.valid && self.options.tiling == Tiling::Exact {
            self.options.buffers.max()
        } else {
            0
        };
        let region = grow(part, margin, self.source.width(), self.source.height());
        let mut acc = Accumulator::new(region, self.model.n_classes(), self.products)?;
        self.compute(region, &mut |s| acc.put(s), progress)?;
        Ok(acc.into_result(part, &self.options.buffers))
    }

    /// Computes `region` strip by strip. Exact tiling cuts tiles on the raster's grid and reads
    /// context from the raster around the region; ukis tiling masks the window as an image of
    /// its own, mirrored at its own edges, so there the region is always the window.
    fn compute(
        &mut self,
        region: Region,
        sink: &mut dyn FnMut(Strip) -> Result<()>,
        progress: Progress,
    ) -> Result<()> {
        let w = self.window;
        let (mut cropped, mut shifted);
        let (source, region, sink): (
            &mut dyn BandSource,
            Region,
            &mut dyn FnMut(Strip) -> Result<()>,
        ) = match self.options.tiling {
            Tiling::Exact => (&mut *self.source, region, sink),
            Tiling::Ukis => {
                cropped = Cropped {
                    inner: &mut *self.source,
                    x: w.x,
                    y: w.y,
                    w: w.w,
                    h: w.h,
                };
                // Strips of the crop carry its rows; hand on raster rows.
                shifted = |mut s: Strip| {
                    s.y += w.y;
                    sink(s)
                };
                let whole = Region {
                    x: 0,
                    y: 0,
                    w: w.w,
                    h: w.h,
                };
                (&mut cropped, whole, &mut shifted)
            }
        };
        let card = &self.model.card;
        let tiles = self.grid.tiles(region.x, region.y, region.w, region.h);
        let mut asm = BlendAssembler::new(
            self.grid,
            region,
            card.common_codes(),
            card.output.threshold(),
            self.products,
        )?;
        run_tiles(
            self.model,
            source,
            &tiles,
            self.options,
            &mut asm,
            sink,
            progress,
        )
    }
}

fn grow(r: Region, m: usize, w: usize, h: usize) -> Region {
    let x = r.x.saturating_sub(m);
    let y = r.y.saturating_sub(m);
    Region {
        x,
        y,
        w: (r.x + r.w + m).min(w) - x,
        h: (r.y + r.h + m).min(h) - y,
    }
}

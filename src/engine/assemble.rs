//! Sums tile outputs into strips: the Tukey-weighted blend of overlapping tiles, emitted top to
//! bottom as soon as no later tile touches a row.

use super::{Products, Region, Strip};
use crate::error::Result;
use crate::limits::try_vec;
use crate::model::CommonClass;
use crate::postprocess::{argmax, score_class};
use crate::tiling::{blend::tukey, BlendGrid, TileRect};

/// Receives tile outputs in tile order and emits finished strips.
pub(super) trait Assembler {
    /// `probs` is (class, row, column) for the whole tile; `nodata` (row, column).
    fn accept(
        &mut self,
        tile: &TileRect,
        probs: &[f32],
        nodata: &[bool],
        sink: &mut dyn FnMut(Strip) -> Result<()>,
    ) -> Result<()>;
    fn finish(&mut self, sink: &mut dyn FnMut(Strip) -> Result<()>) -> Result<()>;
}

/// Sums tile probabilities weighted by a 2-D Tukey window in f64 on a canvas that rolls down the
/// region one tile row at a time. Tiles arrive row by row, as ukis-csmask adds them, so each
/// pixel's sum is bit-identical to ukis-csmask's whole-image canvas.
pub(super) struct BlendAssembler {
    grid: BlendGrid,
    region: Region,
    codes: Vec<u8>,
    /// A cloud-score model's threshold: classes by [`score_class`] instead of the argmax.
    threshold: Option<f64>,
    /// What strips carry besides classes.
    products: Products,
    window: Vec<f64>,
    /// Raster row of canvas row 0 (negative above the raster).
    top: isize,
    /// (class, canvas row, region column) sums for raster rows top .. top + tile.
    canvas: Vec<f64>,
    nodata: Vec<bool>,
    /// Next raster row to hand to the sink.
    emitted: usize,
}

impl BlendAssembler {
    pub(super) fn new(
        grid: BlendGrid,
        region: Region,
        codes: Vec<u8>,
        threshold: Option<f64>,
        products: Products,
    ) -> Result<Self> {
        let rows = grid.tile;
        let top = grid.start(grid.covering(region.y, region.h.max(1)).0);
        // One row of tiles across the region: the one allocation that grows with its width.
        let canvas = try_vec(codes.len() * rows * region.w, 0.0, "a row of tiles")?;
        Ok(BlendAssembler {
            window: tukey(grid.tile, grid.taper()),
            top,
            canvas,
            nodata: try_vec(rows * region.w, false, "a row of tiles")?,
            emitted: region.y,
            grid,
            region,
            codes,
            threshold,
            products,
        })
    }

    /// Hands raster rows up to `end` (exclusive) to the sink, then rolls the canvas to `new_top`.
    fn emit_until(
        &mut self,
        end: usize,
        new_top: isize,
        sink: &mut dyn FnMut(Strip) -> Result<()>,
    ) -> Result<()> {
        let w = self.region.w;
        let cap = self.grid.tile * w;
        let classes = self.codes.len();
        let end = end.min(self.region.y + self.region.h);
        if end > self.emitted {
            let rows = end - self.emitted;
            let n = rows * w;
            let mut strip = Strip {
                y: self.emitted,
                rows,
                width: w,
                classes: vec![0; n],
                probabilities: self
                    .products
                    .probabilities
                    .then(|| vec![f32::NAN; classes * n]),
            };
            let first = (self.emitted as isize - self.top) as usize * w;
            for si in 0..n {
                let ci = first + si;
                if self.nodata[ci] {
                    strip.classes[si] = CommonClass::Nodata as u8;
                    continue;
                }
                let best = match self.threshold {
                    Some(t) => score_class(self.canvas[ci], self.canvas[cap + ci], t),
                    // ukis casts the blended sums to float32 before its argmax.
                    None => argmax((0..classes).map(|c| self.canvas[c * cap + ci] as f32)),
                };
                strip.classes[si] = self.codes[best];
                if let Some(p) = strip.probabilities.as_mut() {
                    let total: f64 = (0..classes).map(|c| self.canvas[c * cap + ci]).sum();
                    for c in 0..classes {
                        p[c * n + si] = (self.canvas[c * cap + ci] / total) as f32;
                    }
                }
            }
            self.emitted = end;
            sink(strip)?;
        }
        let shift = (new_top - self.top) as usize;
        if shift > 0 {
            let keep = self.grid.tile.saturating_sub(shift) * w;
            for c in 0..classes {
                let plane = &mut self.canvas[c * cap..(c + 1) * cap];
                plane.copy_within(cap - keep.., 0);
                plane[keep..].fill(0.0);
            }
            self.nodata.copy_within(cap - keep.., 0);
            self.nodata[keep..].fill(false);
            self.top = new_top;
        }
        Ok(())
    }
}

impl Assembler for BlendAssembler {
    fn accept(
        &mut self,
        t: &TileRect,
        probs: &[f32],
        nodata: &[bool],
        sink: &mut dyn FnMut(Strip) -> Result<()>,
    ) -> Result<()> {
        if t.y > self.top {
            // A new tile row: rows above its first row get no more contributions.
            self.emit_until(t.y.max(0) as usize, t.y, sink)?;
        }
        let size = t.size;
        let plane = size * size;
        let w = self.region.w;
        let cap = self.grid.tile * w;
        let classes = self.codes.len();
        let (rx0, ry0) = (self.region.x as isize, self.region.y as isize);
        let (rx1, ry1) = (rx0 + w as isize, ry0 + self.region.h as isize);
        let c_lo = (rx0 - t.x).max(0) as usize;
        let c_hi = ((rx1 - t.x).min(size as isize)).max(0) as usize;
        for r in 0..size {
            let y = t.y + r as isize;
            if y < ry0 || y >= ry1 {
                continue;
            }
            let row = (y - self.top) as usize * w;
            let wr = self.window[r];
            for c in c_lo..c_hi {
                let weight = wr * self.window[c];
                let ci = row + (t.x + c as isize - rx0) as usize;
                let ti = r * size + c;
                for k in 0..classes {
                    self.canvas[k * cap + ci] += probs[k * plane + ti] as f64 * weight;
                }
                self.nodata[ci] = nodata[ti];
            }
        }
        Ok(())
    }

    fn finish(&mut self, sink: &mut dyn FnMut(Strip) -> Result<()>) -> Result<()> {
        let (end, top) = (self.region.y + self.region.h, self.top);
        self.emit_until(end, top, sink)
    }
}

//! The one data path: raster window in, mask out.
//!
//! bands (reflectance) → normalised tiles → network → probabilities → assembled strips →
//! classes / probabilities → valid mask. The CLI, the C API and the plugins all call this module.

use crate::error::{Error, Result};
use crate::model::{CommonClass, Model, OutputKind};
use crate::postprocess::{argmax, score_class, score_planes, softmax_planes, valid_mask, Buffers};
use crate::raster::{BandSource, Cropped};
use crate::tiling::{
    blend::tukey, mirror, BlendGrid, TileCache, TileOutput, TileRect, UKIS_OVERLAP,
};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::sync::{mpsc, Arc};

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

/// What to compute besides the class map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Products {
    pub probabilities: bool,
    pub valid: bool,
}

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

pub fn check_window(source: &dyn BandSource, x: i64, y: i64, w: i64, h: i64) -> Result<Region> {
    let (sw, sh) = (source.width() as i64, source.height() as i64);
    if w <= 0 || h <= 0 {
        return Err(Error::window(format!(
            "window {w} x {h} is empty: width and height must be at least 1"
        )));
    }
    if x < 0 || y < 0 || x + w > sw || y + h > sh {
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

/// Masks one window of a source into memory.
pub fn mask_window(
    model: &Model,
    source: &mut dyn BandSource,
    window: Region,
    options: &MaskOptions,
    products: Products,
    progress: Progress,
) -> Result<MaskResult> {
    check_window(
        source,
        window.x as i64,
        window.y as i64,
        window.w as i64,
        window.h as i64,
    )?;
    check_bands(model, source)?;
    match options.tiling {
        Tiling::Exact => {
            // The valid mask's buffer reaches `margin` pixels: compute classes that far around the
            // window (inside the raster) so the buffer is the same as in the whole-raster result.
            let margin = if products.valid {
                options.buffers.max()
            } else {
                0
            };
            let region = grow(window, margin, source.width(), source.height());
            mask_region(model, source, region, window, options, products, progress)
        }
        Tiling::Ukis => {
            let mut cropped = Cropped {
                inner: source,
                x: window.x,
                y: window.y,
                w: window.w,
                h: window.h,
            };
            let whole = Region {
                x: 0,
                y: 0,
                w: window.w,
                h: window.h,
            };
            mask_region(
                model,
                &mut cropped,
                whole,
                whole,
                options,
                products,
                progress,
            )
        }
    }
}

/// Computes `region` of `source` into memory and returns the `window` part of it (inside the
/// region), with the valid mask derived over the whole region.
fn mask_region(
    model: &Model,
    source: &mut dyn BandSource,
    region: Region,
    window: Region,
    options: &MaskOptions,
    products: Products,
    progress: Progress,
) -> Result<MaskResult> {
    let mut acc = Accumulator::new(region, model.n_classes(), products.probabilities);
    compute(
        model,
        source,
        region,
        options,
        products.probabilities,
        &mut |s| acc.put(s),
        progress,
    )?;
    Ok(acc.into_result(window, products.valid.then_some(&options.buffers)))
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

/// Collects strips of a region into whole arrays.
struct Accumulator {
    region: Region,
    classes: Vec<u8>,
    probabilities: Option<Vec<f32>>,
    n_classes: usize,
}

impl Accumulator {
    fn new(region: Region, n_classes: usize, probabilities: bool) -> Self {
        let n = region.w * region.h;
        Accumulator {
            region,
            classes: vec![0; n],
            probabilities: probabilities.then(|| vec![f32::NAN; n_classes * n]),
            n_classes,
        }
    }

    fn put(&mut self, s: Strip) -> Result<()> {
        let (w, n) = (self.region.w, self.region.w * self.region.h);
        let row0 = s.y - self.region.y;
        self.classes[row0 * w..(row0 + s.rows) * w].copy_from_slice(&s.classes);
        if let (Some(dst), Some(src)) = (self.probabilities.as_mut(), s.probabilities.as_ref()) {
            let sn = s.rows * w;
            for c in 0..self.n_classes {
                dst[c * n + row0 * w..c * n + row0 * w + sn]
                    .copy_from_slice(&src[c * sn..(c + 1) * sn]);
            }
        }
        Ok(())
    }

    /// Crops to `window` (inside the accumulated region) and derives the valid mask.
    fn into_result(self, window: Region, buffers: Option<&Buffers>) -> MaskResult {
        let r = self.region;
        let valid_full = buffers.map(|b| valid_mask(&self.classes, r.w, r.h, b));
        let crop_u8 = |v: &[u8]| -> Vec<u8> {
            (0..window.h)
                .flat_map(|row| {
                    let start = (window.y - r.y + row) * r.w + (window.x - r.x);
                    v[start..start + window.w].iter().copied()
                })
                .collect()
        };
        let probabilities = self.probabilities.map(|p| {
            let n = r.w * r.h;
            (0..self.n_classes)
                .flat_map(|c| {
                    let plane = &p[c * n..(c + 1) * n];
                    (0..window.h).flat_map(move |row| {
                        let start = (window.y - r.y + row) * r.w + (window.x - r.x);
                        plane[start..start + window.w].iter().copied()
                    })
                })
                .collect()
        });
        MaskResult {
            width: window.w,
            height: window.h,
            classes: crop_u8(&self.classes),
            probabilities,
            valid: valid_full.map(|v| crop_u8(&v)),
        }
    }
}

/// Computes classes (and probabilities) for `region` of `source`, handing finished strips to
/// `sink` top to bottom. Memory stays bounded by one strip of tiles whatever the region's size.
pub fn compute(
    model: &Model,
    source: &mut dyn BandSource,
    region: Region,
    options: &MaskOptions,
    want_probabilities: bool,
    sink: &mut dyn FnMut(Strip) -> Result<()>,
    progress: Progress,
) -> Result<()> {
    check_bands(model, source)?;
    let card = &model.card;
    let tile = options.tile.unwrap_or(card.tile_size);
    if tile == 0 || tile % card.size_multiple != 0 {
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
    let grid = BlendGrid { tile, overlap };
    let tiles = grid.tiles(region.x, region.y, region.w, region.h);
    let mut asm = BlendAssembler::new(
        grid,
        region,
        card.common_codes(),
        card.output.threshold(),
        want_probabilities,
    );
    run_tiles(model, source, &tiles, options, &mut asm, sink, progress)
}

/// Receives tile outputs in tile order and emits finished strips.
trait Assembler {
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

/// One model input: the normalised tile and its nodata flags.
struct TileInput {
    data: Vec<f32>,
    nodata: Vec<bool>,
}

/// Reads tiles on a reader thread while the network runs on this one, batches them, and feeds
/// the outputs to the assembler in tile order.
fn run_tiles(
    model: &Model,
    source: &mut dyn BandSource,
    tiles: &[TileRect],
    options: &MaskOptions,
    asm: &mut dyn Assembler,
    sink: &mut dyn FnMut(Strip) -> Result<()>,
    progress: Progress,
) -> Result<()> {
    if tiles.is_empty() {
        return asm.finish(sink);
    }
    let batch = options.batch.max(1);
    let size = tiles[0].size;
    let bands = model.n_bands();
    let classes = model.n_classes();
    let plane = size * size;
    let card = &model.card;
    let logits = card.output == OutputKind::Logits;
    let score = card.output.threshold().is_some();
    // ukis mode masks a window as an image of its own: its tiles are not the raster's tiles.
    let cache = options
        .cache
        .as_deref()
        .filter(|_| options.tiling == Tiling::Exact);
    let cached: Vec<Option<Arc<TileOutput>>> = tiles
        .iter()
        .map(|t| cache.and_then(|c| c.get(t.row, t.col)))
        .collect();
    let missing: Vec<TileRect> = tiles
        .iter()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|(t, _)| *t)
        .collect();
    std::thread::scope(|scope| -> Result<()> {
        // Bounded channel: at most two batches wait, so memory stays flat.
        let (tx, rx) = mpsc::sync_channel::<Result<TileInput>>(2 * batch);
        let to_read = &missing;
        scope.spawn(move || {
            for t in to_read {
                let item = read_tile(source, t, card);
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
        // Outputs of computed tiles not yet handed to the assembler, in tile order.
        let mut ready: VecDeque<Arc<TileOutput>> = VecDeque::new();
        let mut computed = 0usize;
        for (i, t) in tiles.iter().enumerate() {
            let output = match &cached[i] {
                Some(hit) => hit.clone(),
                None => {
                    if ready.is_empty() {
                        let n = batch.min(missing.len() - computed);
                        let mut input = Vec::with_capacity(n * bands * plane);
                        let mut nodata = Vec::with_capacity(n);
                        for _ in 0..n {
                            let t = rx.recv().map_err(|_| {
                                Error::new(
                                    crate::error::ErrorKind::Internal,
                                    "tile reader stopped unexpectedly",
                                )
                            })??;
                            input.extend_from_slice(&t.data);
                            nodata.push(t.nodata);
                        }
                        let mut out = model.run(&input, n, size)?;
                        if score {
                            out = score_planes(&out, plane);
                        }
                        if logits {
                            out.par_chunks_mut(classes * plane)
                                .for_each(|t| softmax_planes(t, classes, plane));
                        }
                        for (k, nd) in nodata.into_iter().enumerate() {
                            let tile = &missing[computed + k];
                            let output = Arc::new(TileOutput {
                                probabilities: out[k * classes * plane..(k + 1) * classes * plane]
                                    .to_vec(),
                                nodata: nd,
                            });
                            if let Some(c) = cache {
                                c.put(tile.row, tile.col, output.clone());
                            }
                            ready.push_back(output);
                        }
                        computed += n;
                    }
                    ready.pop_front().ok_or_else(|| {
                        Error::new(crate::error::ErrorKind::Internal, "tile output missing")
                    })?
                }
            };
            asm.accept(t, &output.probabilities, &output.nodata, sink)?;
            if !progress((i + 1) as f64 / tiles.len() as f64) {
                return Err(Error::cancelled());
            }
        }
        drop(rx);
        asm.finish(sink)
    })
}

/// Reads one tile's input: the covered part of the raster, mirrored past its edges, normalised
/// as the card says (each step in f64, stored as f32, as ukis-csmask does). Nodata pixels are
/// fed to the network as the band mean (0 after normalisation) so they cannot spread NaN.
fn read_tile(
    source: &mut dyn BandSource,
    t: &TileRect,
    card: &crate::model::ModelCard,
) -> Result<TileInput> {
    let (w, h) = (source.width(), source.height());
    let (x0, x1) = mirror::source_range(t.x, t.size, w);
    let (y0, y1) = mirror::source_range(t.y, t.size, h);
    let block = source.read(x0, y0, x1 - x0, y1 - y0)?;
    let bw = block.w;
    let n = t.size * t.size;
    let bn = block.w * block.h;
    let cols: Vec<usize> = (0..t.size)
        .map(|i| mirror::reflect(t.x + i as isize, w) - x0)
        .collect();
    let rows: Vec<usize> = (0..t.size)
        .map(|i| mirror::reflect(t.y + i as isize, h) - y0)
        .collect();
    let mut nodata = vec![false; n];
    for (r, &sr) in rows.iter().enumerate() {
        for (c, &sc) in cols.iter().enumerate() {
            nodata[r * t.size + c] = block.nodata[sr * bw + sc];
        }
    }
    let scale = card.reflectance_scale;
    let mut data = vec![0f32; card.bands.len() * n];
    data.par_chunks_mut(n).enumerate().for_each(|(b, out)| {
        let (mean, std) = (card.mean[b], card.std[b]);
        let src = &block.data[b * bn..(b + 1) * bn];
        for (r, &sr) in rows.iter().enumerate() {
            for (c, &sc) in cols.iter().enumerate() {
                let i = r * t.size + c;
                if nodata[i] {
                    continue;
                }
                let mut v = src[sr * bw + sc];
                if scale != 1.0 {
                    v = (v as f64 * scale) as f32;
                }
                let centred = (v as f64 - mean) as f32;
                out[i] = (centred as f64 / std) as f32;
            }
        }
    });
    Ok(TileInput { data, nodata })
}

/// Sums tile probabilities weighted by a 2-D Tukey window in f64 on a canvas that rolls down the
/// region one tile row at a time. Tiles arrive row by row, as ukis-csmask adds them, so each
/// pixel's sum is bit-identical to ukis-csmask's whole-image canvas.
struct BlendAssembler {
    grid: BlendGrid,
    region: Region,
    codes: Vec<u8>,
    /// A cloud-score model's threshold: classes by [`score_class`] instead of the argmax.
    threshold: Option<f64>,
    probabilities: bool,
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
    fn new(
        grid: BlendGrid,
        region: Region,
        codes: Vec<u8>,
        threshold: Option<f64>,
        probabilities: bool,
    ) -> Self {
        let rows = grid.tile;
        let top = grid.start(grid.covering(region.y, region.h.max(1)).0);
        BlendAssembler {
            window: tukey(grid.tile, grid.taper()),
            top,
            canvas: vec![0.0; codes.len() * rows * region.w],
            nodata: vec![false; rows * region.w],
            emitted: region.y,
            grid,
            region,
            codes,
            threshold,
            probabilities,
        }
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
                probabilities: self.probabilities.then(|| vec![f32::NAN; classes * n]),
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

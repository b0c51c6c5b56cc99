//! Running the network over tiles: a reader thread reads and normalises tiles while this thread
//! batches them through the model, and the outputs reach the assembler in tile order.

use super::assemble::Assembler;
use super::{MaskOptions, Progress, Strip, Tiling};
use crate::error::{Error, Result};
use crate::limits::{try_vec, try_with_capacity};
use crate::model::{Model, OutputKind};
use crate::postprocess::{score_planes, softmax_planes};
use crate::raster::BandSource;
use crate::tiling::{mirror, TileCache, TileOutput, TileRect};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::sync::{mpsc, Arc};

/// One model input: the normalised tile and its nodata flags.
struct TileInput {
    data: Vec<f32>,
    nodata: Vec<bool>,
}

/// Reads tiles on a reader thread while the network runs on this one, batches them, and feeds
/// the outputs to the assembler in tile order.
pub(super) fn run_tiles(
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
    let batch = options.batch;
    let card = &model.card;
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
                        let next = &missing[computed..computed + n];
                        run_batch(model, &rx, next, cache, &mut ready)?;
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

/// Runs the network on the reader's next inputs, those of `tiles`, and queues their outputs
/// (and keeps them in the cache, when there is one). A tile whose pixels are all nodata is not
/// run: every pixel it covers is nodata in every tile (nodata is a property of the raster pixel,
/// and mirroring maps a pixel onto itself), so its probabilities never reach a class and zeros
/// stand in for them.
fn run_batch(
    model: &Model,
    rx: &mpsc::Receiver<Result<TileInput>>,
    tiles: &[TileRect],
    cache: Option<&TileCache>,
    ready: &mut VecDeque<Arc<TileOutput>>,
) -> Result<()> {
    let n = tiles.len();
    let size = tiles[0].size;
    let bands = model.n_bands();
    let plane = size * size;
    let mut input = try_with_capacity(n * bands * plane, "a batch of tiles")?;
    let mut nodata = Vec::with_capacity(n);
    // Indexes into `tiles` of the tiles the network runs on, in order.
    let mut run = Vec::with_capacity(n);
    for k in 0..n {
        let t = rx.recv().map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Internal,
                "tile reader stopped unexpectedly",
            )
        })??;
        if t.nodata.iter().any(|&nd| !nd) {
            input.extend_from_slice(&t.data);
            run.push(k);
        }
        nodata.push(t.nodata);
    }
    let out = run_network(model, &input, &run, tiles)?;
    let per_tile = model.n_classes() * plane;
    let mut outputs = out.chunks_exact(per_tile.max(1));
    for (k, nd) in nodata.into_iter().enumerate() {
        let probabilities = match run.binary_search(&k) {
            Ok(_) => outputs.next().map(<[f32]>::to_vec),
            Err(_) => Some(try_vec(per_tile, 0f32, "a tile")?),
        }
        .ok_or_else(|| Error::new(crate::error::ErrorKind::Internal, "tile output missing"))?;
        let output = Arc::new(TileOutput {
            probabilities,
            nodata: nd,
        });
        if let Some(c) = cache {
            c.put(tiles[k].row, tiles[k].col, output.clone());
        }
        ready.push_back(output);
    }
    Ok(())
}

/// The network's probabilities for the tiles `run` (indexes into `tiles`) whose inputs `input`
/// holds in that order: nothing when no tile is to run.
fn run_network(
    model: &Model,
    input: &[f32],
    run: &[usize],
    tiles: &[TileRect],
) -> Result<Vec<f32>> {
    if run.is_empty() {
        return Ok(Vec::new());
    }
    let size = tiles[0].size;
    let plane = size * size;
    let card = &model.card;
    // A non-finite output is an error that names the tile's pixel window (raster columns and
    // rows; a tile reaches past the raster's edges, where it is mirrored).
    let mut out = model.run_named(input, run.len(), size, |k| {
        let t = &tiles[run[k]];
        let end = |start: isize| start + size as isize;
        format!(
            "the tile at pixel columns {}..{}, rows {}..{}",
            t.x,
            end(t.x),
            t.y,
            end(t.y)
        )
    })?;
    if card.output.threshold().is_some() {
        out = score_planes(&out, plane);
    }
    if card.output == OutputKind::Logits {
        let classes = model.n_classes();
        out.par_chunks_mut(classes * plane)
            .for_each(|t| softmax_planes(t, classes, plane));
    }
    Ok(out)
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
    let mut data = try_vec(card.bands.len() * n, 0f32, "a tile")?;
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

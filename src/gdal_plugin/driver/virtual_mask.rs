//! One open virtual mask: the image, the model, and the blocks computed from them with the
//! engine's exact tiling.
//!
//! Shared across datasets (process-wide): models, keyed by file and runtime options (a `Model`
//! is `Sync`: its session pool serves concurrent threads), and tile caches, keyed by what tile
//! outputs depend on, so QGIS's per-thread copies of one layer compute each tile once.
//! Per dataset: a pool of open sources (a GDAL handle is used by one thread at a time) and the
//! last few computed blocks, so reading band 2 of a block does not compute it again.

use super::descriptor::Descriptor;
use crate::engine::{MaskOptions, MaskResult, Pipeline, Products, Region, Tiling};
use crate::error::{Error, ErrorKind, Result};
use crate::model::classes::VALID_CATEGORIES;
use crate::model::{CommonClass, Model, ModelOptions};
use crate::raster::bandmap::BandSelection;
use crate::raster::gdal::Dataset;
use crate::raster::writer::{Georef, Product};
use crate::raster::{BandSource, GdalSource, Input};
use crate::tiling::TileCache;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Blocks kept per dataset after computing them (all bands of a block are computed at once).
const RECENT_BLOCKS: usize = 8;

/// What one band of the virtual mask shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    Classes,
    Valid,
    /// Probability of the model class with this index.
    Probability(usize),
}

/// What GDAL needs to describe one band.
pub struct BandDescription {
    pub kind: BandKind,
    /// GDALDataType: 1 Byte, 6 Float32.
    pub data_type: i32,
    pub nodata: Option<f64>,
    pub description: String,
    /// RGBA entries, index = pixel value.
    pub colours: Vec<[i16; 4]>,
    pub categories: Vec<String>,
}

pub struct VirtualMask {
    pub width: usize,
    pub height: usize,
    pub block: usize,
    pub georef: Georef,
    /// The resolved descriptor, as a connection string.
    pub connection: String,
    pub metadata: Vec<(String, String)>,
    pub bands: Vec<BandDescription>,
    /// What computes blocks, or why nothing can (every read reports it).
    state: std::result::Result<Computer, Error>,
}

/// A computed block: its (column, row) in the block grid and all its products.
type Recent = ((usize, usize), Arc<MaskResult>);

/// Everything a block computation needs.
struct Computer {
    image: String,
    selection: BandSelection,
    descriptor: Descriptor,
    model: Arc<Model>,
    options: MaskOptions,
    products: Products,
    sources: Mutex<Vec<GdalSource>>,
    recent: Mutex<VecDeque<Recent>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Loads a model once per process for each (file, threads, device).
fn shared_model(onnx: &str, options: &ModelOptions) -> Result<Arc<Model>> {
    static MODELS: Mutex<Option<HashMap<String, Arc<Model>>>> = Mutex::new(None);
    let key = format!("{onnx}|{}|{:?}", options.threads, options.device);
    let mut models = lock(&MODELS);
    let models = models.get_or_insert_with(HashMap::new);
    if let Some(m) = models.get(&key) {
        return Ok(m.clone());
    }
    let model = Arc::new(Model::load(onnx, options)?);
    models.insert(key, model.clone());
    Ok(model)
}

/// One tile cache per mask (image, model, bands, scaling), alive while a dataset uses it.
fn shared_cache(key: &str, max_bytes: usize) -> Arc<TileCache> {
    static CACHES: Mutex<Option<HashMap<String, Weak<TileCache>>>> = Mutex::new(None);
    let mut caches = lock(&CACHES);
    let caches = caches.get_or_insert_with(HashMap::new);
    caches.retain(|_, c| c.strong_count() > 0);
    if let Some(c) = caches.get(key).and_then(Weak::upgrade) {
        return c;
    }
    let cache = Arc::new(TileCache::new(max_bytes));
    caches.insert(key.to_string(), Arc::downgrade(&cache));
    cache
}

/// The ONNX Runtime to load: `$CLOUDMASK_ORT_LIB` wins (the user's fix for a moved library),
/// then the descriptor's; none when a runtime is already loaded in this process.
fn runtime_library(descriptor: &Descriptor) -> Option<PathBuf> {
    if crate::runtime::loaded().is_some() {
        return None;
    }
    std::env::var_os("CLOUDMASK_ORT_LIB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| descriptor.ort.as_ref().map(PathBuf::from))
}

/// The image as the descriptor says to read it, bands chosen by `selection`.
fn input(descriptor: &Descriptor, image: &str, selection: &BandSelection) -> Result<Input> {
    Ok(Input {
        bands: selection.clone(),
        scaling: descriptor.scaling()?,
        nodata: descriptor.nodata,
        resolution: descriptor.resolution,
        ..Input::path(image)
    })
}

impl VirtualMask {
    /// Opens the mask GDAL was asked for: reads and checks the descriptor, loads the model,
    /// maps the image's bands. Any problem is an error that says what to fix. A resolved
    /// descriptor (one that states the mask's size, as VRTs written by `cloudmask vrt` do)
    /// opens even then, and every read fails with that error: GDAL's VRT driver would otherwise
    /// hide a source that cannot open and deliver zeros.
    pub fn open(filename: &str) -> Result<VirtualMask> {
        let (mut descriptor, base) = Descriptor::from_filename(filename)?;
        descriptor.absolutise(base.as_deref());
        match VirtualMask::open_resolved(&descriptor) {
            Ok(mask) => Ok(mask),
            Err(e) => {
                let (Some(width), Some(height)) = (descriptor.width, descriptor.height) else {
                    return Err(e);
                };
                let names = descriptor.class_names.clone().unwrap_or_default();
                let products = descriptor.products()?;
                if products.contains(&Product::Probabilities) && names.is_empty() {
                    return Err(e);
                }
                Ok(VirtualMask {
                    width,
                    height,
                    block: descriptor.block()?,
                    georef: Georef::default(),
                    connection: filename.to_string(),
                    metadata: Vec::new(),
                    bands: describe_bands(&names, &products),
                    state: Err(Error::new(
                        e.kind,
                        format!("this virtual mask cannot be computed: {e}"),
                    )),
                })
            }
        }
    }

    fn open_resolved(descriptor: &Descriptor) -> Result<VirtualMask> {
        let image = descriptor.image()?.to_string();
        let products = descriptor.products()?;
        let block = descriptor.block()?;
        let entry = crate::model::resolve(descriptor.model())?;
        let onnx = std::fs::canonicalize(&entry.onnx)
            .unwrap_or(entry.onnx.clone())
            .to_string_lossy()
            .into_owned();
        let model_options = ModelOptions {
            threads: descriptor.threads.unwrap_or(0),
            device: descriptor.device()?,
            ort_lib: runtime_library(descriptor),
        };
        let model = shared_model(&onnx, &model_options)?;
        let selection = descriptor.selection();
        let source = input(descriptor, &image, &selection)?.open_for(&model.card.band_names())?;
        let georef = Georef::of(source.dataset());
        let (width, height) = (source.width(), source.height());
        if let (Some(w), Some(h)) = (descriptor.width, descriptor.height) {
            if (w, h) != (width, height) {
                return Err(Error::input(format!(
                    "{image} is now {width} x {height} pixels but the mask was made for {w} x {h}; write it again with `cloudmask vrt`"
                )));
            }
        }
        // Products whose bands live in subdatasets are matched by name every time; anything
        // else keeps the band numbers found now.
        let stacked = Dataset::open_container(&image)
            .map(|d| d.band_count() == 0)
            .unwrap_or(false);
        let bands = (!stacked).then(|| source.band_indices().to_vec());
        let selection = bands
            .clone()
            .map(BandSelection::Indices)
            .unwrap_or(selection);
        let ort = crate::runtime::loaded().map(|r| r.path.to_string_lossy().into_owned());
        let class_names: Vec<String> = model.card.classes.iter().map(|c| c.name.clone()).collect();
        let resolved = descriptor.resolved(
            image.clone(),
            onnx,
            bands,
            &products,
            ort,
            (width, height),
            class_names.clone(),
        );
        let options = MaskOptions {
            tiling: Tiling::Exact,
            buffers: descriptor.buffers(),
            cache: Some(shared_cache(&resolved.tile_key(), resolved.cache_bytes())),
            ..MaskOptions::default()
        };
        let metadata = provenance(&model, &resolved, &options, source.band_indices());
        Ok(VirtualMask {
            width,
            height,
            block,
            georef,
            connection: format!("{}{}", super::descriptor::PREFIX, resolved.to_json()),
            metadata,
            bands: describe_bands(&class_names, &products),
            state: Ok(Computer {
                image,
                selection,
                descriptor: resolved,
                model,
                options,
                products: Products {
                    probabilities: products.contains(&Product::Probabilities),
                    valid: products.contains(&Product::Valid),
                },
                sources: Mutex::new(vec![source]),
                recent: Mutex::new(VecDeque::new()),
            }),
        })
    }

    /// Fills GDAL's block buffer (`block` x `block` values of the band's type) for band `band`
    /// (1-based). Pixels of an edge block beyond the raster get the band's nodata (or 0).
    ///
    /// # Safety
    /// `data` must point to `block * block` writable values of the band's data type.
    pub unsafe fn read_block(
        &self,
        band: usize,
        bx: usize,
        by: usize,
        data: *mut u8,
    ) -> Result<()> {
        let desc = band
            .checked_sub(1)
            .and_then(|i| self.bands.get(i))
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("no band {band}")))?;
        let computer = self.state.as_ref().map_err(Clone::clone)?;
        let (x, y) = (bx * self.block, by * self.block);
        if x >= self.width || y >= self.height {
            return Err(Error::window(format!(
                "block ({bx}, {by}) lies outside the {} x {} mask",
                self.width, self.height
            )));
        }
        let window = Region {
            x,
            y,
            w: self.block.min(self.width - x),
            h: self.block.min(self.height - y),
        };
        let r = computer.block_result((bx, by), window)?;
        let (w, h, n) = (r.width, r.height, self.block * self.block);
        let copy_u8 = |v: &[u8], fill: u8| {
            // SAFETY: the caller guarantees `n` writable bytes.
            let out = unsafe { std::slice::from_raw_parts_mut(data, n) };
            out.fill(fill);
            for row in 0..h {
                out[row * self.block..row * self.block + w]
                    .copy_from_slice(&v[row * w..(row + 1) * w]);
            }
        };
        match desc.kind {
            BandKind::Classes => copy_u8(&r.classes, CommonClass::Nodata as u8),
            BandKind::Valid => {
                let v = r
                    .valid
                    .as_ref()
                    .ok_or_else(|| internal("valid mask missing"))?;
                copy_u8(v, 0);
            }
            BandKind::Probability(c) => {
                let p = r
                    .probabilities
                    .as_ref()
                    .ok_or_else(|| internal("probabilities missing"))?;
                let plane = &p[c * w * h..(c + 1) * w * h];
                // SAFETY: the caller guarantees `n` f32 values; GDAL block buffers are aligned.
                let out = unsafe { std::slice::from_raw_parts_mut(data.cast::<f32>(), n) };
                out.fill(f32::NAN);
                for row in 0..h {
                    out[row * self.block..row * self.block + w]
                        .copy_from_slice(&plane[row * w..(row + 1) * w]);
                }
            }
        }
        Ok(())
    }
}

impl Computer {
    /// A source for one computation: an idle one from the pool, or a new one.
    fn take_source(&self) -> Result<GdalSource> {
        if let Some(s) = lock(&self.sources).pop() {
            return Ok(s);
        }
        input(&self.descriptor, &self.image, &self.selection)?
            .open_for(&self.model.card.band_names())
    }

    /// All products of one block, computed once and kept for the other bands.
    fn block_result(&self, key: (usize, usize), window: Region) -> Result<Arc<MaskResult>> {
        if let Some((_, r)) = lock(&self.recent).iter().find(|(k, _)| *k == key) {
            return Ok(r.clone());
        }
        let mut source = self.take_source()?;
        let result = Pipeline::new(
            &self.model,
            &mut source,
            window,
            &self.options,
            self.products,
        )
        .and_then(|mut p| p.collect(&mut |_| true));
        lock(&self.sources).push(source);
        let result = Arc::new(result?);
        let mut recent = lock(&self.recent);
        if recent.len() >= RECENT_BLOCKS {
            recent.pop_front();
        }
        recent.push_back((key, result.clone()));
        Ok(result)
    }
}

fn internal(what: &str) -> Error {
    Error::new(ErrorKind::Internal, what)
}

fn colours(categories: &[(&str, [u8; 4])]) -> Vec<[i16; 4]> {
    categories.iter().map(|(_, c)| c.map(i16::from)).collect()
}

fn names(categories: &[(&str, [u8; 4])]) -> Vec<String> {
    categories.iter().map(|(n, _)| n.to_string()).collect()
}

/// Bands in product order: classes (common codes, colours, category names, nodata 0), valid
/// mask (as `cloudmask mask` writes them, see raster/writer.rs), one probability per class.
fn describe_bands(class_names: &[String], products: &[Product]) -> Vec<BandDescription> {
    let mut out = Vec::new();
    for p in products {
        match p {
            Product::Classes => out.push(BandDescription {
                kind: BandKind::Classes,
                data_type: 1,
                nodata: Some(CommonClass::Nodata as u8 as f64),
                description: "cloudmask classes".into(),
                colours: colours(&CommonClass::categories()),
                categories: names(&CommonClass::categories()),
            }),
            Product::Valid => out.push(BandDescription {
                kind: BandKind::Valid,
                data_type: 1,
                nodata: None,
                description: "cloudmask valid mask (1 valid, 0 invalid)".into(),
                colours: colours(&VALID_CATEGORIES),
                categories: names(&VALID_CATEGORIES),
            }),
            Product::Probabilities => {
                for (i, name) in class_names.iter().enumerate() {
                    out.push(BandDescription {
                        kind: BandKind::Probability(i),
                        data_type: 6,
                        nodata: Some(f64::NAN),
                        description: format!("probability of {name}"),
                        colours: Vec::new(),
                        categories: Vec::new(),
                    });
                }
            }
        }
    }
    out
}

/// Metadata that says how the mask is made (the same keys as `cloudmask mask` writes).
fn provenance(
    model: &Model,
    d: &Descriptor,
    options: &MaskOptions,
    bands: &[usize],
) -> Vec<(String, String)> {
    let mut items =
        crate::scene::provenance(model, options, &d.image.clone().unwrap_or_default(), bands);
    items.push(("CLOUDMASK_PRODUCT".into(), "virtual".into()));
    items
}

//! One open virtual mask: the image, the model, and the blocks computed from them with the
//! engine's exact tiling.
//!
//! Shared across datasets (process-wide): models (`model::cache`), and tile caches, keyed by
//! what tile outputs depend on, so QGIS's per-thread copies of one layer compute each tile once.
//! Per dataset: a pool of open sources (a GDAL handle is used by one thread at a time) and the
//! last few computed blocks, so reading band 2 of a block does not compute it again.

use crate::engine::{MaskOptions, MaskResult, Pipeline, Plane, Region, Tiling};
use crate::error::{Error, ErrorKind, Result};
use crate::gdal_plugin::descriptor::Descriptor;
use crate::model::{cache, Model};
use crate::raster::bandmap::BandSelection;
use crate::raster::gdal::{Dataset, PixelType};
use crate::raster::product::{BandLook, Product, Products};
use crate::raster::writer::Georef;
use crate::raster::{BandSource, GdalSource};
use crate::tiling::TileCache;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Blocks kept per dataset after computing them (all bands of a block are computed at once).
const RECENT_BLOCKS: usize = 8;

/// One band of the virtual mask: band `index` of `product`, and how it looks.
pub struct BandDescription {
    pub product: Product,
    pub index: usize,
    pub pixel_type: PixelType,
    pub look: BandLook,
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
                // Without class names the probability bands are unknown.
                if products.iter().any(|p| p.bands(&names).is_empty()) {
                    return Err(e);
                }
                let bands = describe_bands(&names, &products);
                Ok(VirtualMask {
                    width,
                    height,
                    block: descriptor.block()?,
                    georef: Georef::default(),
                    connection: filename.to_string(),
                    metadata: Vec::new(),
                    bands,
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
        let model = cache::shared(
            &descriptor.model,
            &descriptor.model_options(),
            crate::gdal_plugin::report_notes,
        )?;
        let selection = descriptor.selection();
        let source = descriptor
            .input(&image, selection.clone())
            .open_for(&model.card.band_names())?;
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
        let class_names: Vec<String> = model.card.classes.iter().map(|c| c.name.clone()).collect();
        let resolved = descriptor.resolved(
            cache::model_file(&model).to_string_lossy().into_owned(),
            bands,
            (width, height),
            class_names.clone(),
        );
        let options = MaskOptions {
            tiling: Tiling::Exact,
            buffers: descriptor.buffers(),
            cache: Some(shared_cache(&resolved.tile_key(), resolved.cache_bytes())),
            ..MaskOptions::default()
        };
        let metadata = provenance(&model, &resolved, &options, &source);
        Ok(VirtualMask {
            width,
            height,
            block,
            georef,
            connection: resolved.connection(),
            metadata,
            bands: describe_bands(&class_names, &products),
            state: Ok(Computer {
                image,
                selection,
                descriptor: resolved,
                model,
                options,
                products: Products::of(&products),
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
        let plane = r
            .band(desc.product, desc.index)
            .ok_or_else(|| internal(&format!("{} missing", desc.product.name())))?;
        match plane {
            Plane::U8(v) => {
                // SAFETY: the caller guarantees `n` writable bytes.
                let out = unsafe { std::slice::from_raw_parts_mut(data, n) };
                copy_block(
                    v,
                    out,
                    w,
                    h,
                    self.block,
                    desc.look.nodata.unwrap_or(0.0) as u8,
                );
            }
            Plane::F32(v) => {
                // SAFETY: the caller guarantees `n` f32 values; GDAL block buffers are aligned.
                let out = unsafe { std::slice::from_raw_parts_mut(data.cast::<f32>(), n) };
                copy_block(v, out, w, h, self.block, f32::NAN);
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
        self.descriptor
            .input(&self.image, self.selection.clone())
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

/// A `w` x `h` window into a `block`-wide block buffer; pixels beyond it get `fill`.
fn copy_block<T: Copy>(v: &[T], out: &mut [T], w: usize, h: usize, block: usize, fill: T) {
    out.fill(fill);
    for row in 0..h {
        out[row * block..row * block + w].copy_from_slice(&v[row * w..(row + 1) * w]);
    }
}

/// Bands in product order, each product's bands as `cloudmask mask` writes them.
fn describe_bands(class_names: &[String], products: &[Product]) -> Vec<BandDescription> {
    products
        .iter()
        .flat_map(|&product| {
            product
                .bands(class_names)
                .into_iter()
                .enumerate()
                .map(move |(index, look)| BandDescription {
                    product,
                    index,
                    pixel_type: product.pixel_type(),
                    look,
                })
        })
        .collect()
}

/// Metadata that says how the mask is made (the same keys as `cloudmask mask` writes).
fn provenance(
    model: &Model,
    d: &Descriptor,
    options: &MaskOptions,
    source: &GdalSource,
) -> Vec<(String, String)> {
    let mut items = crate::scene::provenance(
        model,
        options,
        d.image.as_deref().unwrap_or_default(),
        source,
    );
    items.push(("CLOUDMASK_PRODUCT".into(), "virtual".into()));
    items
}

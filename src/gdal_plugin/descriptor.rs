//! What a virtual mask is made of: the descriptor, a small JSON object given inline after
//! `CLOUDMASK:` or stored in a `*.cmask` file. One typed [`Descriptor`] is built by
//! `cloudmask vrt` and the C API (`cm_write_virtual_mask`) and read by the `CLOUDMASK` driver.
//!
//! ```json
//! {"version": 1, "image": "/data/s2.tif", "model": "ukis-6b-l1c", "bands": [1, 2, 3, 4, 5, 6],
//!  "outputs": ["classes", "valid"], "buffer": 4, "threads": 0, "device": "cpu", "block": 256}
//! ```
//! `"precision"` (`f32`, `bf16`, `auto`) came later: a descriptor without it means f32, and it
//! is written only when it is not f32, so masks made with the defaults still open in readers
//! that predate it.
//! Only `image` is required; unknown fields are refused. Opening resolves every field (absolute
//! image and model paths, band numbers) and the dataset's description becomes the resolved
//! descriptor, so a VRT made from it (`cloudmask vrt`) opens from any folder.
//! Descriptors written before `version` existed say `"cloudmask": 1`, or nothing: both are
//! version 1.
//!
//! A descriptor is data and cannot name code: the `"ort"` key (the ONNX Runtime library), which
//! earlier versions wrote, is refused with what to do instead, since opening a mask must never
//! load a library that the mask names (issue 12). ONNX Runtime is found as the process finds it
//! (`runtime::search`, `$CLOUDMASK_ORT_LIB`). Refusing a key changes no reader's format, so
//! the version stays 1: descriptors without `ort` read as before, in old and new readers.
//!
//! One job per file:
//! - this file: the [`Descriptor`] type, its defaults, and what it asks for (image, bands,
//!   scaling, products, model options, cache, tile key);
//! - `buffer`: [`BufferSpec`], the valid mask's buffer radii;
//! - `read`: from a connection string or a `.cmask` file to a checked descriptor ([`identify`],
//!   [`Descriptor::from_filename`], [`Descriptor::parse`]);
//! - `check`: the documented limits on its sizes and numbers;
//! - `resolve`: absolute paths and the resolved form written into the dataset and VRTs.

mod buffer;
mod check;
mod read;
mod resolve;
#[cfg(test)]
mod tests;

pub use buffer::BufferSpec;
pub use read::identify;

use crate::engine::DEFAULT_OVERLAP;
use crate::error::{Error, Result};
use crate::model::{Device, ModelOptions, Precision, DEFAULT_MODEL};
use crate::postprocess::Buffers;
use crate::raster::scaling::DEFAULT_QUANTIFICATION;
use crate::raster::{BandSelection, Input, Product, Scaling};
use serde::{Deserialize, Serialize};

/// The connection-string prefix (GDAL's `GDAL_DMD_CONNECTION_PREFIX`).
pub const PREFIX: &str = "CLOUDMASK:";
/// Descriptor files' extension.
pub const EXTENSION: &str = "cmask";
/// The descriptor format's version, written as `"version": 1`.
pub const FORMAT_VERSION: u32 = 1;

/// The default block size: large enough that a block needs few tiles around it, small enough
/// that a QGIS view at full resolution computes little beyond what it shows.
pub const DEFAULT_BLOCK: usize = 256;
/// The default tile cache per virtual mask.
pub const DEFAULT_CACHE_MB: usize = 256;

/// A virtual mask's descriptor, as written by users, `cloudmask vrt` and the C API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Descriptor {
    /// Format version ([`FORMAT_VERSION`]); `cloudmask` is its name in older files.
    #[serde(alias = "cloudmask")]
    pub version: u32,
    /// The image to mask: a raster, a Sentinel-2 .SAFE or a GDAL subdataset name. Required,
    /// checked when the mask opens (so the message can say what to add).
    pub image: Option<String>,
    /// Model name (see `cloudmask models`) or path to an .onnx file.
    pub model: String,
    /// 1-based raster bands feeding the model's bands in card order; absent: by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bands: Option<Vec<usize>>,
    /// Products behind the mask's bands, in band order.
    pub outputs: Vec<Product>,
    pub buffer: BufferSpec,
    /// By name (`auto`, `reflectance`, `dn`); `dn` takes `quantification` and `dn_offset`.
    pub scaling: Scaling,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantification: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn_offset: Option<f64>,
    /// Input value treated as nodata (overrides the raster's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodata: Option<f64>,
    /// Resample the input to this pixel size before masking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<f64>,
    /// ONNX Runtime intra-op threads per session (0 = all cores).
    pub threads: usize,
    pub device: Device,
    #[serde(skip_serializing_if = "is_f32")]
    pub precision: Precision,
    /// Block size in pixels (square); any size gives the same pixels.
    pub block: usize,
    /// Tile cache in MiB, shared by every open dataset of the same mask.
    pub cache_mb: usize,
    /// Written by the resolved form: the mask's size and the model's class names. With them a
    /// mask whose image, model or runtime has gone still opens (a VRT's source must open for
    /// GDAL to report read errors at all) and every read fails with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
}

impl Default for Descriptor {
    /// Every field's default: what a descriptor that leaves the field out means.
    fn default() -> Self {
        Descriptor {
            version: FORMAT_VERSION,
            image: None,
            model: DEFAULT_MODEL.to_string(),
            bands: None,
            outputs: vec![Product::Classes],
            buffer: BufferSpec::default(),
            scaling: Scaling::Auto,
            quantification: None,
            dn_offset: None,
            nodata: None,
            resolution: None,
            threads: 0,
            device: Device::Cpu,
            precision: Precision::F32,
            block: DEFAULT_BLOCK,
            cache_mb: DEFAULT_CACHE_MB,
            width: None,
            height: None,
            class_names: None,
        }
    }
}

impl Descriptor {
    /// A mask of `image` by `model` with every other field at its default.
    pub fn new(image: &str, model: &str) -> Descriptor {
        Descriptor {
            image: Some(image.to_string()),
            model: model.to_string(),
            ..Descriptor::default()
        }
    }

    /// The connection string GDAL opens: `CLOUDMASK:{json}`.
    pub fn connection(&self) -> String {
        format!(
            "{PREFIX}{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }

    pub fn image(&self) -> Result<&str> {
        self.image
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "the mask descriptor names no image: add \"image\": \"/path/to/scene.tif\"",
                )
            })
    }

    pub fn selection(&self) -> BandSelection {
        self.bands
            .clone()
            .map(BandSelection::Indices)
            .unwrap_or_default()
    }

    /// The products behind the mask's bands, in band order, without repeats.
    pub fn products(&self) -> Result<Vec<Product>> {
        Product::distinct(&self.outputs)
    }

    pub fn buffers(&self) -> Buffers {
        self.buffer.buffers()
    }

    pub fn scaling(&self) -> Scaling {
        self.scaling.with_digital_numbers(
            self.quantification.unwrap_or(DEFAULT_QUANTIFICATION),
            self.dn_offset.unwrap_or(0.0),
        )
    }

    /// The image as this descriptor says to read it, its bands chosen by `bands` (the driver
    /// passes the band numbers it resolved).
    pub fn input(&self, image: &str, bands: BandSelection) -> Input {
        Input {
            bands,
            scaling: self.scaling(),
            nodata: self.nodata,
            resolution: self.resolution,
            ..Input::path(image)
        }
    }

    /// Reads the image as `input` says (bands, scaling, nodata, resolution): what `cloudmask
    /// vrt` and `cm_write_virtual_mask_ex` were given. [`Descriptor::input`] turns it back.
    pub fn read_as(&mut self, input: &Input) {
        self.bands = match &input.bands {
            BandSelection::Auto => None,
            BandSelection::Indices(bands) => Some(bands.clone()),
        };
        self.set_scaling(input.scaling);
        self.nodata = input.nodata;
        self.resolution = input.resolution;
    }

    fn set_scaling(&mut self, scaling: Scaling) {
        (self.scaling, self.quantification, self.dn_offset) = match scaling {
            Scaling::Auto => (Scaling::Auto, None, None),
            Scaling::Reflectance => (Scaling::Reflectance, None, None),
            Scaling::DigitalNumbers {
                quantification,
                offset,
            } => (scaling, Some(quantification), Some(offset)),
        };
    }

    /// How to load the model. ONNX Runtime is the process's: the one already loaded, or the
    /// one the search finds (`runtime::search`); a descriptor never names it.
    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            threads: self.threads,
            device: self.device,
            precision: self.precision,
            ort_lib: None,
        }
    }

    /// `cache_mb` in bytes; a size past the address space is no limit (a shift would wrap
    /// 2^44 MiB to 0 and cache nothing).
    pub fn cache_bytes(&self) -> usize {
        self.cache_mb.saturating_mul(1 << 20)
    }

    /// What tile outputs depend on: two masks with the same key may share a tile cache.
    pub fn tile_key(&self) -> String {
        let stamp = self
            .image
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
            .unwrap_or_default();
        format!(
            "{:?}|{stamp}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|overlap={DEFAULT_OVERLAP}",
            self.image,
            self.model,
            self.bands,
            self.scaling,
            self.quantification,
            self.dn_offset,
            self.nodata,
            self.resolution,
            self.device,
            self.precision,
        )
    }
}

/// f32, the default, is left out of written descriptors (see the module's documentation).
fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

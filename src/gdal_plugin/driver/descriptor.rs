//! What a virtual mask is made of: the descriptor, a small JSON object given inline after
//! `CLOUDMASK:` or stored in a `*.cmask` file.
//!
//! ```json
//! {"image": "/data/s2.tif", "model": "ukis-6b-l1c", "bands": [1, 2, 3, 4, 5, 6],
//!  "outputs": ["classes", "valid"], "buffer": 4, "threads": 0, "device": "cpu",
//!  "ort": "/abs/libonnxruntime.so.1.31.1", "block": 256}
//! ```
//! Only `image` is required. Opening resolves every field (absolute image, model and ONNX
//! Runtime paths, band numbers) and the dataset's description becomes the resolved descriptor,
//! so a VRT made from it (`cloudmask vrt`) opens from any folder.

use crate::engine::DEFAULT_OVERLAP;
use crate::error::{Error, Result};
use crate::model::{CommonClass, Device, ModelOptions, DEFAULT_MODEL};
use crate::postprocess::Buffers;
use crate::raster::scaling::DEFAULT_QUANTIFICATION;
use crate::raster::writer::Product;
use crate::raster::{BandSelection, Scaling};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The connection-string prefix (GDAL's `GDAL_DMD_CONNECTION_PREFIX`).
pub const PREFIX: &str = "CLOUDMASK:";
/// Descriptor files' extension.
pub const EXTENSION: &str = "cmask";
/// The descriptor format's version, written as `"cloudmask": 1`.
pub const FORMAT_VERSION: u32 = 1;

/// The default block size: large enough that a block needs few tiles around it, small enough
/// that a QGIS view at full resolution computes little beyond what it shows.
pub const DEFAULT_BLOCK: usize = 256;
/// The default tile cache per virtual mask.
pub const DEFAULT_CACHE_MB: usize = 256;

/// Buffer radii around each class: one number (clouds and shadows) or per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BufferSpec {
    Uniform(u32),
    PerClass {
        #[serde(default)]
        cloud: u32,
        #[serde(default)]
        thin_cloud: u32,
        #[serde(default)]
        shadow: u32,
        #[serde(default)]
        nodata: u32,
    },
}

impl BufferSpec {
    pub fn buffers(&self) -> Buffers {
        match *self {
            BufferSpec::Uniform(n) => Buffers::uniform(n),
            BufferSpec::PerClass {
                cloud,
                thin_cloud,
                shadow,
                nodata,
            } => {
                let mut b = Buffers::uniform(0);
                b.radius[CommonClass::Cloud as usize] = cloud;
                b.radius[CommonClass::ThinCloud as usize] = thin_cloud;
                b.radius[CommonClass::Shadow as usize] = shadow;
                b.radius[CommonClass::Nodata as usize] = nodata;
                b
            }
        }
    }

    fn of(b: &Buffers) -> BufferSpec {
        BufferSpec::PerClass {
            cloud: b.radius[CommonClass::Cloud as usize],
            thin_cloud: b.radius[CommonClass::ThinCloud as usize],
            shadow: b.radius[CommonClass::Shadow as usize],
            nodata: b.radius[CommonClass::Nodata as usize],
        }
    }
}

/// A virtual mask's descriptor, as written by users or `cloudmask vrt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// Format version (1); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudmask: Option<u32>,
    /// The image to mask: a raster, a Sentinel-2 .SAFE or a GDAL subdataset name.
    #[serde(default)]
    pub image: Option<String>,
    /// Model name (see `cloudmask models`) or path to an .onnx file.
    #[serde(default)]
    pub model: Option<String>,
    /// 1-based raster bands feeding the model's bands in card order; absent: by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<Vec<usize>>,
    /// Bands of the virtual mask, in order: `classes`, `valid`, `probabilities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<BufferSpec>,
    /// `auto`, `reflectance` or `dn` (with `quantification` and `dn_offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantification: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn_offset: Option<f64>,
    /// Input value treated as nodata (overrides the raster's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodata: Option<f64>,
    /// Resample the input to this pixel size before masking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<f64>,
    /// ONNX Runtime intra-op threads per session (0 = all cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// `cpu` or `cuda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Absolute path of libonnxruntime; `$CLOUDMASK_ORT_LIB` overrides it when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ort: Option<String>,
    /// Block size in pixels (square).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<usize>,
    /// Tile cache in MiB, shared by every open dataset of the same mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_mb: Option<usize>,
    /// Written by the resolved form: the mask's size and the model's class names. With them a
    /// mask whose image, model or runtime has gone still opens (a VRT's source must open for
    /// GDAL to report read errors at all) and every read fails with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
}

/// True when GDAL should hand `filename` to this driver.
pub fn identify(filename: &str, header: &[u8]) -> bool {
    if has_prefix(filename) {
        return true;
    }
    let is_cmask = Path::new(filename)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION));
    is_cmask
        && header
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
}

fn has_prefix(s: &str) -> bool {
    s.len() >= PREFIX.len()
        && s.is_char_boundary(PREFIX.len())
        && s[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
}

impl Descriptor {
    /// Reads the descriptor GDAL was given: `CLOUDMASK:{json}`, `CLOUDMASK:/path/file.cmask`,
    /// or `/path/file.cmask`. Relative paths inside a file are relative to the file's folder.
    pub fn from_filename(filename: &str) -> Result<(Descriptor, Option<PathBuf>)> {
        let rest = if has_prefix(filename) {
            filename[PREFIX.len()..].trim()
        } else {
            filename.trim()
        };
        if rest.starts_with('{') {
            return Ok((Descriptor::parse(rest, "the connection string")?, None));
        }
        if rest.is_empty() {
            return Err(Error::invalid(format!(
                "{PREFIX} needs a descriptor: CLOUDMASK:{{\"image\": \"/path/to/scene.tif\"}} or CLOUDMASK:/path/to/mask.{EXTENSION}"
            )));
        }
        let text = std::fs::read_to_string(rest)
            .map_err(|e| Error::input(format!("cannot read the mask descriptor {rest}: {e}")))?;
        let dir = Path::new(rest).parent().map(Path::to_path_buf);
        Ok((Descriptor::parse(&text, rest)?, dir))
    }

    pub fn parse(json: &str, origin: &str) -> Result<Descriptor> {
        serde_json::from_str(json).map_err(|e| {
            Error::invalid(format!(
                "the mask descriptor in {origin} is not valid: {e}; see docs/gdal-plugin.md for its fields"
            ))
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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

    pub fn model(&self) -> &str {
        self.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    pub fn selection(&self) -> BandSelection {
        self.bands
            .clone()
            .map(BandSelection::Indices)
            .unwrap_or_default()
    }

    /// The products behind the mask's bands, in band order, without repeats.
    pub fn products(&self) -> Result<Vec<Product>> {
        let names = self
            .outputs
            .clone()
            .unwrap_or_else(|| vec!["classes".into()]);
        let mut out = Vec::new();
        for n in &names {
            let p = Product::parse(n).ok_or_else(|| {
                Error::invalid(format!(
                    "unknown output '{n}' in the mask descriptor: use classes, valid or probabilities"
                ))
            })?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            return Err(Error::invalid(
                "the mask descriptor asks for no outputs: use classes, valid or probabilities",
            ));
        }
        Ok(out)
    }

    pub fn buffers(&self) -> Buffers {
        self.buffer
            .as_ref()
            .map(BufferSpec::buffers)
            .unwrap_or_default()
    }

    pub fn scaling(&self) -> Result<Scaling> {
        let scaling = match self.scaling.as_deref() {
            None => Scaling::default(),
            Some(name) => name.parse::<Scaling>().map_err(in_descriptor)?,
        };
        Ok(scaling.with_digital_numbers(
            self.quantification.unwrap_or(DEFAULT_QUANTIFICATION),
            self.dn_offset.unwrap_or(0.0),
        ))
    }

    pub fn device(&self) -> Result<Device> {
        match self.device.as_deref() {
            None => Ok(ModelOptions::default().device),
            Some(name) => name.parse::<Device>().map_err(in_descriptor),
        }
    }

    pub fn block(&self) -> Result<usize> {
        let b = self.block.unwrap_or(DEFAULT_BLOCK);
        if !(16..=8192).contains(&b) {
            return Err(Error::invalid(format!(
                "block size {b} in the mask descriptor must be between 16 and 8192 pixels"
            )));
        }
        Ok(b)
    }

    pub fn cache_bytes(&self) -> usize {
        self.cache_mb.unwrap_or(DEFAULT_CACHE_MB) << 20
    }

    /// Turns relative file paths into absolute ones (relative to `base`, else the working
    /// folder). GDAL names (`SENTINEL2_L1C:…`, `/vsi…`) are left as they are.
    pub fn absolutise(&mut self, base: Option<&Path>) {
        let fix = |p: &mut Option<String>| {
            if let Some(s) = p.as_mut() {
                if let Some(abs) = absolute_file(s, base) {
                    *s = abs;
                }
            }
        };
        fix(&mut self.image);
        fix(&mut self.ort);
        if self
            .model
            .as_deref()
            .is_some_and(|m| m.ends_with(".onnx") || m.contains('/'))
        {
            fix(&mut self.model);
        }
    }

    /// The fully resolved form written into the dataset's description and into VRTs.
    #[allow(clippy::too_many_arguments)]
    pub fn resolved(
        &self,
        image: String,
        model: String,
        bands: Option<Vec<usize>>,
        products: &[Product],
        ort: Option<String>,
        size: (usize, usize),
        class_names: Vec<String>,
    ) -> Descriptor {
        Descriptor {
            cloudmask: Some(FORMAT_VERSION),
            image: Some(image),
            model: Some(model),
            bands,
            outputs: Some(products.iter().map(|p| p.name().to_string()).collect()),
            buffer: Some(BufferSpec::of(&self.buffers())),
            scaling: self.scaling.clone(),
            quantification: self.quantification,
            dn_offset: self.dn_offset,
            nodata: self.nodata,
            resolution: self.resolution,
            threads: Some(self.threads.unwrap_or(0)),
            device: Some(
                self.device
                    .clone()
                    .unwrap_or_else(|| ModelOptions::default().device.to_string()),
            ),
            ort,
            block: Some(self.block.unwrap_or(DEFAULT_BLOCK)),
            cache_mb: Some(self.cache_mb.unwrap_or(DEFAULT_CACHE_MB)),
            width: Some(size.0),
            height: Some(size.1),
            class_names: Some(class_names),
        }
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
            "{:?}|{stamp}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|overlap={DEFAULT_OVERLAP}",
            self.image,
            self.model,
            self.bands,
            self.scaling,
            self.quantification,
            self.dn_offset,
            self.nodata,
            self.resolution,
            self.device,
        )
    }
}

fn absolute_file(s: &str, base: Option<&Path>) -> Option<String> {
    let p = Path::new(s);
    if s.starts_with("/vsi") || (s.contains(':') && !p.exists()) {
        return None;
    }
    let joined = match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    };
    let abs = std::fs::canonicalize(&joined).ok().or_else(|| {
        std::env::current_dir()
            .ok()
            .map(|d| d.join(&joined))
            .filter(|_| joined.is_relative())
    })?;
    Some(abs.to_string_lossy().into_owned())
}

/// A library error about a descriptor field, saying where the value came from.
fn in_descriptor(e: Error) -> Error {
    Error::new(e.kind, format!("{} in the mask descriptor", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_connection_strings_and_descriptor_files() {
        assert!(identify("CLOUDMASK:{\"image\":\"a.tif\"}", b""));
        assert!(identify("cloudmask:/x/y.cmask", b""));
        assert!(identify("/x/y.cmask", b"  {\"image\": 1}"));
        assert!(!identify("/x/y.cmask", b"<VRTDataset"));
        assert!(!identify("/x/y.tif", b"{"));
        assert!(!identify("CLOUD", b""));
    }

    #[test]
    fn parses_and_resolves_a_descriptor() {
        let (d, dir) =
            Descriptor::from_filename("CLOUDMASK:{\"image\":\"s2.tif\",\"buffer\":{\"cloud\":6}}")
                .unwrap();
        assert!(dir.is_none());
        assert_eq!(d.model(), DEFAULT_MODEL);
        assert_eq!(d.buffers().radius, [0, 0, 6, 0, 0]);
        assert_eq!(d.products().unwrap(), vec![Product::Classes]);
        let r = d.resolved(
            "/a/s2.tif".into(),
            "/m.onnx".into(),
            Some(vec![1, 2]),
            &[Product::Classes],
            None,
            (10, 20),
            vec!["clear".into()],
        );
        let again = Descriptor::parse(&r.to_json(), "test").unwrap();
        assert_eq!(again, r);
        assert_eq!(again.block().unwrap(), DEFAULT_BLOCK);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = Descriptor::from_filename("CLOUDMASK:{\"model\":\"x\"}")
            .unwrap()
            .0
            .image()
            .unwrap_err();
        assert!(e.message.contains("names no image"), "{e}");
        let e = Descriptor::from_filename("CLOUDMASK:{\"imgae\":\"x\"}").unwrap_err();
        assert!(e.message.contains("imgae"), "{e}");
        let e = Descriptor::from_filename("CLOUDMASK:").unwrap_err();
        assert!(e.message.contains("needs a descriptor"), "{e}");
        let (d, _) = Descriptor::from_filename("CLOUDMASK:{\"outputs\":[\"cloudy\"]}").unwrap();
        assert!(d.products().unwrap_err().message.contains("cloudy"));
    }
}

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

use crate::engine::DEFAULT_OVERLAP;
use crate::error::{Error, Result};
use crate::limits::{
    self, MAX_BLOCK, MAX_BUFFER, MAX_CACHE_MB, MAX_RASTER_SIDE, MAX_THREADS, MIN_BLOCK,
};
use crate::model::{CommonClass, Device, ModelOptions, Precision, DEFAULT_MODEL};
use crate::postprocess::Buffers;
use crate::raster::scaling::{check_digital_numbers, DEFAULT_QUANTIFICATION};
use crate::raster::{BandSelection, Input, Product, Scaling};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

impl Default for BufferSpec {
    fn default() -> Self {
        BufferSpec::of(&Buffers::default())
    }
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

    /// Every radius within [`MAX_BUFFER`] (the JSON number is a `u32`, so it cannot wrap).
    pub fn check(&self) -> Result<()> {
        for (name, r) in self.radii() {
            limits::check(name, r, 0, MAX_BUFFER)?;
        }
        Ok(())
    }

    fn radii(&self) -> Vec<(&'static str, u32)> {
        match *self {
            BufferSpec::Uniform(n) => vec![("buffer", n)],
            BufferSpec::PerClass {
                cloud,
                thin_cloud,
                shadow,
                nodata,
            } => vec![
                ("buffer.cloud", cloud),
                ("buffer.thin_cloud", thin_cloud),
                ("buffer.shadow", shadow),
                ("buffer.nodata", nodata),
            ],
        }
    }

    pub fn of(b: &Buffers) -> BufferSpec {
        BufferSpec::PerClass {
            cloud: b.radius[CommonClass::Cloud as usize],
            thin_cloud: b.radius[CommonClass::ThinCloud as usize],
            shadow: b.radius[CommonClass::Shadow as usize],
            nodata: b.radius[CommonClass::Nodata as usize],
        }
    }
}

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
    /// A mask of `image` by `model` with every other field at its default.
    pub fn new(image: &str, model: &str) -> Descriptor {
        Descriptor {
            image: Some(image.to_string()),
            model: model.to_string(),
            ..Descriptor::default()
        }
    }

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
        refuse_a_named_library(json, origin)?;
        let d: Descriptor = serde_json::from_str(json).map_err(|e| {
            Error::invalid(format!(
                "the mask descriptor in {origin} is not valid: {e}; see docs/gdal-plugin.md for its fields"
            ))
        })?;
        if d.version != FORMAT_VERSION {
            return Err(Error::invalid(format!(
                "the mask descriptor in {origin} has version {}, but this cloudmask ({}) reads version {FORMAT_VERSION}; write it again with `cloudmask vrt`",
                d.version,
                crate::VERSION
            )));
        }
        d.check_sizes().map_err(|e| {
            Error::new(
                e.kind,
                format!("the mask descriptor in {origin}: {}", e.message),
            )
        })?;
        Ok(d)
    }

    /// Sizes and numbers within the documented limits (`crate::limits`), before anything is
    /// opened or allocated: a descriptor is a data file, and `"width": 4294967297` must not open
    /// as a 1-pixel raster, nor `"threads": 2000` start 2000 threads, nor a buffer wrap.
    fn check_sizes(&self) -> Result<()> {
        limits::check_usize("threads", self.threads, 0, MAX_THREADS)?;
        limits::check_usize("block", self.block, MIN_BLOCK, MAX_BLOCK)?;
        limits::check_usize("cache_mb", self.cache_mb, 0, MAX_CACHE_MB)?;
        self.buffer.check()?;
        if self.width.is_some() || self.height.is_some() {
            let (w, h) = (self.width.unwrap_or(0), self.height.unwrap_or(0));
            limits::check_usize("width", w, 1, MAX_RASTER_SIDE)?;
            limits::check_usize("height", h, 1, MAX_RASTER_SIDE)?;
        }
        if let Scaling::DigitalNumbers { .. } = self.scaling {
            check_digital_numbers(
                self.quantification.unwrap_or(DEFAULT_QUANTIFICATION),
                self.dn_offset.unwrap_or(0.0),
            )?;
        }
        Ok(())
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

    pub fn block(&self) -> Result<usize> {
        limits::check_usize("block", self.block, MIN_BLOCK, MAX_BLOCK)
            .map_err(|e| Error::invalid(format!("the mask descriptor: {}", e.message)))
    }

    /// `cache_mb` in bytes; a size past the address space is no limit (a shift would wrap
    /// 2^44 MiB to 0 and cache nothing).
    pub fn cache_bytes(&self) -> usize {
        self.cache_mb.saturating_mul(1 << 20)
    }

    /// Turns relative file paths into absolute ones (relative to `base`, else the working
    /// folder). GDAL names (`SENTINEL2_L1C:…`, `/vsi…`) and model names are left as they are.
    pub fn absolutise(&mut self, base: Option<&Path>) {
        if let Some(abs) = self.image.as_deref().and_then(|s| absolute_file(s, base)) {
            self.image = Some(abs);
        }
        if self.model.ends_with(".onnx") || self.model.contains('/') {
            if let Some(abs) = absolute_file(&self.model, base) {
                self.model = abs;
            }
        }
    }

    /// The fully resolved form written into the dataset's description and into VRTs: what the
    /// mask was opened with (absolute paths, band numbers, size, class names).
    pub fn resolved(
        &self,
        model: String,
        bands: Option<Vec<usize>>,
        size: (usize, usize),
        class_names: Vec<String>,
    ) -> Descriptor {
        Descriptor {
            version: FORMAT_VERSION,
            model,
            bands,
            buffer: BufferSpec::of(&self.buffers()),
            width: Some(size.0),
            height: Some(size.1),
            class_names: Some(class_names),
            ..self.clone()
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

/// Refuses a descriptor with an `"ort"` key before anything else reads it.
fn refuse_a_named_library(json: &str, origin: &str) -> Result<()> {
    /// Only the key, whatever its value (`null` too); other fields are the typed parse's
    /// business.
    #[derive(Deserialize)]
    struct NamesALibrary {
        #[serde(default, deserialize_with = "present")]
        ort: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| true)
    }
    match serde_json::from_str::<NamesALibrary>(json) {
        Ok(NamesALibrary { ort: true }) => Err(Error::invalid(format!(
            "the mask descriptor in {origin} names an ONNX Runtime library (\"ort\"): a virtual mask cannot name a library to load; \
             remove the key (write the mask again with `cloudmask vrt`) and set CLOUDMASK_ORT_LIB to the absolute path of libonnxruntime.so if ONNX Runtime is not found"
        ))),
        _ => Ok(()),
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
        assert_eq!(d.model, DEFAULT_MODEL);
        assert_eq!(d.buffers().radius, [0, 0, 6, 0, 0]);
        assert_eq!(d.products().unwrap(), vec![Product::Classes]);
        let r = d.resolved(
            "/m.onnx".into(),
            Some(vec![1, 2]),
            (10, 20),
            vec!["clear".into()],
        );
        let (again, _) = Descriptor::from_filename(&r.connection()).unwrap();
        assert_eq!(again, r);
        assert_eq!(again.block().unwrap(), DEFAULT_BLOCK);
        assert_eq!(
            Descriptor::new("/a/s2.tif", DEFAULT_MODEL).image().unwrap(),
            "/a/s2.tif"
        );
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
        let e = Descriptor::from_filename("CLOUDMASK:{\"outputs\":[\"cloudy\"]}").unwrap_err();
        assert!(e.message.contains("'cloudy': use classes, valid or"), "{e}");
        let e = Descriptor::from_filename("CLOUDMASK:{\"device\":\"gpu\"}").unwrap_err();
        assert!(
            e.message.contains("cpu") && e.message.contains("cuda"),
            "{e}"
        );
        let e = Descriptor::from_filename("CLOUDMASK:{\"version\":2}").unwrap_err();
        assert!(e.message.contains("version 2"), "{e}");
    }

    /// A descriptor cannot name a library, whatever the key's value; the message says what to do.
    #[test]
    fn a_descriptor_naming_a_library_is_refused() {
        for value in ["\"/tmp/libevil.so\"", "null", "\"\"", "1"] {
            let text = format!("CLOUDMASK:{{\"image\":\"/d/s.tif\",\"ort\":{value}}}");
            let e = Descriptor::from_filename(&text).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidArgument);
            assert!(
                e.message
                    .contains("a virtual mask cannot name a library to load")
                    && e.message.contains("CLOUDMASK_ORT_LIB"),
                "{e}"
            );
        }
        assert!(!Descriptor::new("/d/s.tif", "m")
            .connection()
            .contains("\"ort\""));
    }

    /// What the code before the typed descriptor wrote into VRTs still opens, as version 1
    /// (without the "ort" key, which is refused).
    #[test]
    fn reads_the_resolved_form_of_earlier_versions() {
        let old = r#"CLOUDMASK:{"cloudmask":1,"image":"/d/s.tif","model":"/m/model_6b_l1c.onnx","bands":[1,2,3,4,5,6],"outputs":["classes","valid"],"buffer":{"cloud":4,"thin_cloud":4,"shadow":4,"nodata":0},"threads":0,"device":"cpu","block":256,"cache_mb":256,"width":512,"height":512,"class_names":["clear","cloud","shadow"]}"#;
        let (d, _) = Descriptor::from_filename(old).unwrap();
        assert_eq!(d.version, 1);
        assert_eq!(d.products().unwrap(), [Product::Classes, Product::Valid]);
        assert_eq!((d.width, d.height), (Some(512), Some(512)));
        assert_eq!(d.scaling(), Scaling::Auto);
        assert_eq!(d.precision, Precision::F32);
        let spec = r#"CLOUDMASK:{"image":"s.tif","model":"m","outputs":["prob"],"buffer":2,"scaling":"dn","quantification":10000.0,"dn_offset":-1000.0,"device":"cuda"}"#;
        let (d, _) = Descriptor::from_filename(spec).unwrap();
        assert_eq!(d.outputs, [Product::Probabilities]);
        assert_eq!(d.buffers(), Buffers::uniform(2));
        assert_eq!(d.device, Device::Cuda);
        assert_eq!(d.precision, Precision::F32);
        assert_eq!(
            d.scaling(),
            Scaling::DigitalNumbers {
                quantification: 10000.0,
                offset: -1000.0
            }
        );
    }

    /// Precision is read when given and written only when it is not the default, so a mask
    /// made with the defaults reads in readers that predate the field.
    #[test]
    fn precision_is_optional_and_round_trips() {
        let mut d = Descriptor::new("/d/s.tif", "m");
        assert!(!d.connection().contains("precision"), "{}", d.connection());
        d.device = Device::OpenVino;
        d.precision = Precision::Bf16;
        let text = d.connection();
        assert!(text.contains("\"precision\":\"bf16\""), "{text}");
        assert!(text.contains("\"device\":\"openvino\""), "{text}");
        let (back, _) = Descriptor::from_filename(&text).unwrap();
        assert_eq!(
            (back.device, back.precision),
            (Device::OpenVino, Precision::Bf16)
        );
        assert_eq!(back.model_options().precision, Precision::Bf16);
        assert_ne!(back.tile_key(), Descriptor::new("/d/s.tif", "m").tile_key());
        let e = Descriptor::from_filename("CLOUDMASK:{\"precision\":\"fp16\"}").unwrap_err();
        assert!(e.message.contains("f32, bf16 or auto"), "{e}");
    }

    /// Caught by the descriptor fuzz target's check of `cache_bytes`: `cache_mb << 20` wrapped
    /// a 2^44 + 1 MiB cache to 1 MiB. Such a size is now refused with the range when the
    /// descriptor is read, and `cache_bytes` saturates for any value that gets past it.
    #[test]
    fn a_huge_cache_is_refused_rather_than_wrapped() {
        let err =
            Descriptor::from_filename("CLOUDMASK:{\"cache_mb\": 17592186044417}").unwrap_err();
        assert!(
            err.message.contains(
                "cache_mb 17592186044417 is out of range: it must be between 0 and 65536"
            ),
            "{}",
            err.message
        );
        let huge = Descriptor {
            cache_mb: usize::MAX,
            ..Descriptor::default()
        };
        assert_eq!(huge.cache_bytes(), usize::MAX);
        let (d, _) = Descriptor::from_filename("CLOUDMASK:{\"cache_mb\": 3}").unwrap();
        assert_eq!(d.cache_bytes(), 3 << 20);
    }
}

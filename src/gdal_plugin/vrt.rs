//! Writing a virtual mask: a GDAL VRT over the `CLOUDMASK` driver, which any GDAL program or QGIS
//! opens with the plugin on `GDAL_DRIVER_PATH`. The CLI (`cloudmask vrt`) and the C API
//! (`cm_write_virtual_mask`) both call [`write_virtual_mask`].

pub use super::driver::descriptor::{DEFAULT_BLOCK, DEFAULT_CACHE_MB};
use crate::error::{Error, Result};
use crate::model::{CommonClass, Device};
use crate::postprocess::Buffers;
use crate::raster::writer::{check_writable, Product};
use crate::raster::{Dataset, Scaling};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// What a virtual mask computes; the driver resolves the rest (band numbers, absolute paths).
#[derive(Debug, Clone)]
pub struct VirtualMaskSpec {
    pub image: String,
    pub model: String,
    /// Raster band numbers in the model's order; `None` matches them by name.
    pub bands: Option<Vec<usize>>,
    /// Bands of the virtual mask, in order.
    pub outputs: Vec<Product>,
    pub buffers: Buffers,
    pub scaling: Scaling,
    pub nodata: Option<f64>,
    /// Resample the image to this pixel size (its CRS units) before masking; `None` = native.
    pub resolution: Option<f64>,
    pub threads: usize,
    pub device: Device,
    pub ort_lib: Option<PathBuf>,
    /// Block size in pixels (any size gives the same pixels).
    pub block: usize,
    /// Tile cache per mask, MiB.
    pub cache_mb: usize,
}

impl VirtualMaskSpec {
    pub fn new(image: &str, model: &str) -> Self {
        VirtualMaskSpec {
            image: image.to_string(),
            model: model.to_string(),
            bands: None,
            outputs: vec![Product::Classes],
            buffers: Buffers::default(),
            scaling: Scaling::Auto,
            nodata: None,
            resolution: None,
            threads: 0,
            device: Device::Cpu,
            ort_lib: None,
            block: DEFAULT_BLOCK,
            cache_mb: DEFAULT_CACHE_MB,
        }
    }

    /// The mask descriptor (JSON) the `CLOUDMASK` driver opens.
    pub fn descriptor(&self) -> Result<String> {
        let b = self.buffers.radius;
        let mut d = Map::new();
        d.insert("image".into(), json!(self.image));
        d.insert("model".into(), json!(self.model));
        if let Some(bands) = &self.bands {
            d.insert("bands".into(), json!(bands));
        }
        let outputs: Vec<&str> = self.outputs.iter().map(|p| p.name()).collect();
        d.insert("outputs".into(), json!(outputs));
        d.insert(
            "buffer".into(),
            json!({
                "cloud": b[CommonClass::Cloud as usize],
                "thin_cloud": b[CommonClass::ThinCloud as usize],
                "shadow": b[CommonClass::Shadow as usize],
                "nodata": b[CommonClass::Nodata as usize],
            }),
        );
        match self.scaling {
            Scaling::Auto => {}
            Scaling::Reflectance => {
                d.insert("scaling".into(), json!(self.scaling));
            }
            Scaling::DigitalNumbers {
                quantification,
                offset,
            } => {
                d.insert("scaling".into(), json!(self.scaling));
                d.insert("quantification".into(), json!(quantification));
                d.insert("dn_offset".into(), json!(offset));
            }
        }
        if let Some(nd) = self.nodata {
            d.insert("nodata".into(), json!(nd));
        }
        if let Some(r) = self.resolution {
            d.insert("resolution".into(), json!(r));
        }
        d.insert("threads".into(), json!(self.threads));
        d.insert("device".into(), json!(self.device));
        if let Some(ort) = &self.ort_lib {
            let abs = std::path::absolute(ort)
                .map_err(|e| Error::invalid(format!("ONNX Runtime path {}: {e}", ort.display())))?;
            d.insert("ort".into(), json!(abs));
        }
        d.insert("block".into(), json!(self.block));
        d.insert("cache_mb".into(), json!(self.cache_mb));
        Ok(Value::Object(d).to_string())
    }
}

/// Checks the mask opens (bands map, model and ONNX Runtime load: the same checks GDAL programs
/// will run), then lets GDAL's VRT driver copy it into `out`, written beside it and renamed into
/// place when complete.
pub fn write_virtual_mask(spec: &VirtualMaskSpec, out: &Path) -> Result<()> {
    if spec.outputs.is_empty() {
        return Err(Error::invalid(
            "a virtual mask needs at least one output band",
        ));
    }
    // An unknown model is the commonest mistake: say so before anything else.
    crate::model::resolve(&spec.model)?;
    check_writable(out)?;
    super::GDALRegister_cloudmask();
    let mask = Dataset::open_with_driver(&format!("CLOUDMASK:{}", spec.descriptor()?), "CLOUDMASK")
        .map_err(|e| {
            Error::new(
                e.kind,
                e.message
                    .strip_prefix("CLOUDMASK: ")
                    .unwrap_or(&e.message)
                    .to_string(),
            )
        })?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = out.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{file}.partial-{}.vrt", std::process::id()));
    if let Err(e) = mask.copy_to("VRT", &temp) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, out).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::output(format!("cannot move the VRT to {}: {e}", out.display()))
    })
}

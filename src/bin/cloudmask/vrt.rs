//! `cloudmask vrt`: writes a GDAL VRT whose bands are the exact virtual mask of an image,
//! computed block by block on read by the GDAL plugin's CLOUDMASK driver (in gdal_translate,
//! QGIS, Python …, with the plugin on GDAL_DRIVER_PATH).
//!
//! The command only turns its arguments into a mask descriptor (docs/gdal-plugin.md). Opening
//! `CLOUDMASK:{descriptor}` through the driver in this process checks everything (model, ONNX
//! Runtime, band mapping) and resolves it to absolute paths and band numbers; GDAL's own VRT
//! driver then copies that dataset (georeferencing, colours, category names, nodata) into the
//! VRT, which is written beside the target and renamed into place.

use crate::args::{DeviceArg, RuntimeArgs, ScalingArg};
use crate::mask::parse_buffers;
use clap::Args;
use cloudmask::model::CommonClass;
use cloudmask::raster::writer::{check_writable, Product};
use cloudmask::{Error, ErrorKind, Result};
use gdal_sys as g;
use serde_json::{json, Map, Value};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct VrtArgs {
    /// Image to mask (GeoTIFF, VRT, a Sentinel-2 .SAFE or subdataset, ...)
    pub input: String,
    /// The VRT to write
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Model name (see `cloudmask models`) or path to an .onnx file
    #[arg(short, long, default_value = cloudmask::model::DEFAULT_MODEL)]
    pub model: String,
    /// Bands of the VRT, comma-separated, in order: classes, valid, probabilities
    #[arg(long = "output", default_value = "classes", value_delimiter = ',')]
    pub products: Vec<String>,
    /// Valid-mask buffer in pixels: one number, or per class (cloud=4,thin=2,shadow=3,nodata=1)
    #[arg(long, default_value = "4")]
    pub buffer: String,
    /// Raster band numbers feeding the model's bands, in the model's order (default: by name)
    #[arg(long, value_delimiter = ',')]
    pub bands: Option<Vec<usize>>,
    #[arg(long, value_enum, default_value = "auto")]
    pub scaling: ScalingArg,
    /// Quantification value for --scaling dn
    #[arg(long, default_value_t = 10000.0)]
    pub quantification: f64,
    /// Radiometric offset for --scaling dn
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub dn_offset: f64,
    /// Treat this input value as nodata (overrides the raster's own)
    #[arg(long, allow_hyphen_values = true)]
    pub nodata: Option<f64>,
    /// Block size of the virtual mask in pixels (any size gives the same pixels)
    #[arg(long, default_value_t = 256)]
    pub block: usize,
    /// Tile cache per virtual mask, MiB
    #[arg(long, default_value_t = 256)]
    pub cache_mb: usize,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: VrtArgs) -> Result<()> {
    let mut outputs = Vec::new();
    for p in &a.products {
        let product = Product::parse(p).ok_or_else(|| {
            Error::invalid(format!(
                "unknown output '{p}': use classes, valid or probabilities"
            ))
        })?;
        outputs.push(product.name());
    }
    // An unknown model is the commonest mistake: say so before anything else.
    cloudmask::model::resolve(&a.model)?;
    check_writable(&a.out)?;
    let descriptor = descriptor(&a, &outputs)?;
    let connection = format!("CLOUDMASK:{descriptor}");

    cloudmask::gdal_plugin::GDALRegister_cloudmask();
    cloudmask::raster::gdal::register_drivers();
    let mask = open_mask(&connection)?;
    let written = write_vrt(mask, &a.out);
    // SAFETY: the dataset is ours and closed once.
    unsafe { g::GDALClose(mask) };
    written?;
    println!("wrote {}", a.out.display());
    println!(
        "open it with the plugin on GDAL_DRIVER_PATH (see `make install`), e.g. gdal_translate {} mask.tif",
        a.out.display()
    );
    Ok(())
}

/// The descriptor as the user asked for it; the driver resolves the rest.
fn descriptor(a: &VrtArgs, outputs: &[&str]) -> Result<String> {
    let b = parse_buffers(&a.buffer)?.radius;
    let mut d = Map::new();
    d.insert("image".into(), json!(a.input));
    d.insert("model".into(), json!(a.model));
    if let Some(bands) = &a.bands {
        d.insert("bands".into(), json!(bands));
    }
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
    match a.scaling {
        ScalingArg::Auto => {}
        ScalingArg::Reflectance => {
            d.insert("scaling".into(), json!("reflectance"));
        }
        ScalingArg::Dn => {
            d.insert("scaling".into(), json!("dn"));
            d.insert("quantification".into(), json!(a.quantification));
            d.insert("dn_offset".into(), json!(a.dn_offset));
        }
    }
    if let Some(nd) = a.nodata {
        d.insert("nodata".into(), json!(nd));
    }
    d.insert("threads".into(), json!(a.runtime.threads));
    let device = match a.runtime.device {
        DeviceArg::Cpu => "cpu",
        DeviceArg::Cuda => "cuda",
    };
    d.insert("device".into(), json!(device));
    if let Some(ort) = &a.runtime.ort_lib {
        let abs = std::path::absolute(ort)
            .map_err(|e| Error::invalid(format!("--ort-lib {}: {e}", ort.display())))?;
        d.insert("ort".into(), json!(abs));
    }
    d.insert("block".into(), json!(a.block));
    d.insert("cache_mb".into(), json!(a.cache_mb));
    Ok(Value::Object(d).to_string())
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("'{s}' contains a NUL byte")))
}

/// GDAL's last error message on this thread, then reset.
fn last_gdal_error() -> String {
    // SAFETY: thread-local string owned by GDAL, copied at once.
    unsafe {
        let msg = CStr::from_ptr(g::CPLGetLastErrorMsg())
            .to_string_lossy()
            .into_owned();
        g::CPLErrorReset();
        msg
    }
}

/// Opens the mask through the CLOUDMASK driver only: the same checks GDAL programs will run.
fn open_mask(connection: &str) -> Result<g::GDALDatasetH> {
    let name = cstring(connection)?;
    let driver = cstring("CLOUDMASK")?;
    let drivers = [driver.as_ptr(), std::ptr::null()];
    // SAFETY: valid C strings; NULL-terminated driver list; the handle becomes ours.
    let ds = unsafe {
        g::GDALOpenEx(
            name.as_ptr(),
            0x02 | 0x40, // GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR
            drivers.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if ds.is_null() {
        let why = last_gdal_error();
        let why = why.strip_prefix("CLOUDMASK: ").unwrap_or(&why).to_string();
        return Err(Error::new(
            ErrorKind::Input,
            if why.is_empty() {
                "the GDAL plugin's CLOUDMASK driver could not open the mask".to_string()
            } else {
                why
            },
        ));
    }
    Ok(ds)
}

/// Lets GDAL's VRT driver copy the mask dataset into a VRT, beside `out`, then renames it.
fn write_vrt(mask: g::GDALDatasetH, out: &Path) -> Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = out.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{file}.partial-{}.vrt", std::process::id()));
    let c_temp = cstring(&temp.to_string_lossy())?;
    let vrt = cstring("VRT")?;
    // SAFETY: valid handles and C strings; the copy is closed before the rename.
    let copied = unsafe {
        let driver = g::GDALGetDriverByName(vrt.as_ptr());
        if driver.is_null() {
            return Err(Error::output("GDAL has no VRT driver"));
        }
        let copy = g::GDALCreateCopy(
            driver,
            c_temp.as_ptr(),
            mask,
            0,
            std::ptr::null_mut(),
            None,
            std::ptr::null_mut(),
        );
        if copy.is_null() {
            false
        } else {
            g::GDALClose(copy);
            true
        }
    };
    if !copied || !temp.is_file() {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::output(format!(
            "writing {} failed: {}",
            out.display(),
            last_gdal_error()
        )));
    }
    std::fs::rename(&temp, out).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::output(format!("cannot move the VRT to {}: {e}", out.display()))
    })
}

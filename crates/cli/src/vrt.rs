//! `cloudmask vrt`: writes a GDAL VRT whose bands are the exact virtual mask of an image,
//! computed block by block on read by the GDAL plugin's CLOUDMASK driver (in gdal_translate,
//! QGIS, Python …, with the plugin on GDAL_DRIVER_PATH).
//!
//! The command only turns its arguments into a mask descriptor (docs/gdal-plugin.md). Opening
//! `CLOUDMASK:{descriptor}` through the driver in this process checks everything (model, ONNX
//! Runtime, band mapping) and resolves it to absolute paths and band numbers; GDAL's own VRT
//! driver then copies that dataset (georeferencing, colours, category names, nodata) into the
//! VRT, which is written beside the target and renamed into place.

use crate::args::{bounded, ModelArg, ReadArgs, RuntimeArgs};
use crate::mask::{model_options, parse_buffers};
use clap::Args;
use cloudmask::gdal_plugin::descriptor::{BufferSpec, DEFAULT_BLOCK, DEFAULT_CACHE_MB};
use cloudmask::gdal_plugin::{write_virtual_mask, Descriptor};

/// Where the Debian package installs the plugin: the folder Debian's GDAL loads plugins from.
const GDAL_DEFAULT_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/gdalplugins/gdal_cloudmask.so";
use cloudmask::limits::{MAX_BLOCK, MAX_CACHE_MB, MIN_BLOCK};
use cloudmask::raster::Product;
use cloudmask::Result;
use std::path::PathBuf;

#[derive(Args)]
pub struct VrtArgs {
    /// Image to mask (GeoTIFF, VRT, a Sentinel-2 .SAFE or subdataset, ...)
    pub input: String,
    #[command(flatten)]
    pub model: ModelArg,
    /// The VRT to write
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    #[arg(
        long = "output",
        default_value = Product::Classes.name(),
        value_delimiter = ',',
        help = format!("Bands of the VRT, comma-separated, in order: {}", Product::names())
    )]
    pub products: Vec<String>,
    /// Valid-mask buffer in pixels: one number, or per class (cloud=4,thin=2,shadow=3,nodata=1)
    #[arg(long, default_value_t = cloudmask::postprocess::DEFAULT_BUFFER.to_string())]
    pub buffer: String,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Block size of the virtual mask in pixels (any size gives the same pixels)
    #[arg(long, default_value_t = DEFAULT_BLOCK, value_parser = bounded(MIN_BLOCK, MAX_BLOCK))]
    pub block: usize,
    /// Tile cache per virtual mask, MiB
    #[arg(long, default_value_t = DEFAULT_CACHE_MB, value_parser = bounded(0, MAX_CACHE_MB))]
    pub cache_mb: usize,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: VrtArgs) -> Result<()> {
    let runtime = model_options(&a.runtime);
    let mut descriptor = Descriptor::new(&a.input, &a.model.name);
    descriptor.outputs = Product::parse_list(&a.products)?;
    descriptor.read_as(&a.read.input(&a.input, None));
    descriptor.buffer = BufferSpec::of(&parse_buffers(&a.buffer)?);
    descriptor.threads = runtime.threads;
    descriptor.device = runtime.device;
    descriptor.precision = runtime.precision;
    descriptor.block = a.block;
    descriptor.cache_mb = a.cache_mb;
    // --ort-lib loads ONNX Runtime for this command only: the mask cannot name a library, so
    // GDAL programs that open it find ONNX Runtime themselves (see `cloudmask doctor`).
    cloudmask::runtime::init_for(runtime.ort_lib.as_deref(), runtime.device)?;
    write_virtual_mask(&descriptor, &a.out)?;
    println!("wrote {}", a.out.display());
    // The Debian package puts the plugin where GDAL looks without being told.
    let auto_loaded = std::path::Path::new(GDAL_DEFAULT_PLUGIN).is_file();
    println!(
        "open it with {}, e.g. gdal_translate {} mask.tif",
        if auto_loaded {
            "any GDAL program (the plugin is installed in GDAL's own folder)"
        } else {
            "the plugin on GDAL_DRIVER_PATH (see `make install`)"
        },
        a.out.display()
    );
    Ok(())
}

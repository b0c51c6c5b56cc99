//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "cloudmask",
    version,
    about = "Cloud and cloud-shadow masks for optical satellite imagery"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Mask a raster: writes a class map (and optionally a valid mask and probabilities)
    Mask(MaskArgs),
    /// List the models cloudmask can see
    Models,
    /// Describe a model (its card) or a raster (size, bands and how they map onto a model)
    Info(InfoArgs),
    /// Check the installation: ONNX Runtime, execution providers, GDAL, models
    Doctor(DoctorArgs),
    /// Measure speed and memory against the ukis-csmask Python package
    Bench(BenchArgs),
    /// Write a VRT whose bands are the exact virtual mask, computed on read by the GDAL plugin
    Vrt(crate::vrt::VrtArgs),
    /// Train a network on labelled rasters and export it as an ONNX model (runs cloudmask-train;
    /// `cloudmask train --help` for its options)
    #[command(disable_help_flag = true)]
    Train {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Self-supervised pretraining (MoCo, DeepCluster, SeCo) of the trainer's ResNet-18 encoder
    /// on unlabelled rasters (runs cloudmask-train)
    #[command(disable_help_flag = true)]
    Pretrain {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Label-fraction experiments: pretraining methods x label fractions (runs cloudmask-train)
    #[command(disable_help_flag = true)]
    Experiment {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compare predicted masks (files or a model run on the fly) with reference masks
    Eval(crate::eval::EvalArgs),
    /// Split a table of samples into named splits (stratified, filtered, grouped; k-fold, bagging)
    Split(crate::split::SplitArgs),
    /// Rank tiles of unlabelled scenes by model uncertainty and pick the top k for labelling
    Select(crate::select::SelectArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TilingArg {
    Exact,
    Ukis,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Gtiff,
    Cog,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScalingArg {
    /// Integers are Sentinel-2 digital numbers, floats are reflectance
    Auto,
    /// Values are reflectance (0..1)
    Reflectance,
    /// Values are digital numbers: (DN + --dn-offset) / --quantification
    Dn,
}

/// How the input's bands are found and read (shared by `mask` and `vrt`).
#[derive(Args, Clone)]
pub struct ReadArgs {
    /// Raster band numbers feeding the model's bands, in the model's order (default: by name)
    #[arg(long, value_delimiter = ',')]
    pub bands: Option<Vec<usize>>,
    #[arg(long, value_enum, default_value = "auto")]
    pub scaling: ScalingArg,
    /// Quantification value for --scaling dn
    #[arg(long, default_value_t = 10000.0)]
    pub quantification: f64,
    /// Radiometric offset for --scaling dn (Sentinel-2 baseline 04.00 and later: -1000)
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub dn_offset: f64,
    /// Treat this input value as nodata (overrides the raster's own)
    #[arg(long, allow_hyphen_values = true)]
    pub nodata: Option<f64>,
}

impl ReadArgs {
    pub fn scaling(&self) -> cloudmask::raster::Scaling {
        use cloudmask::raster::Scaling;
        match self.scaling {
            ScalingArg::Auto => Scaling::Auto,
            ScalingArg::Reflectance => Scaling::Reflectance,
            ScalingArg::Dn => Scaling::DigitalNumbers {
                quantification: self.quantification,
                offset: self.dn_offset,
            },
        }
    }
}

#[derive(Args, Clone)]
pub struct RuntimeArgs {
    /// ONNX Runtime intra-op threads (0 = all cores)
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Execution provider; cuda falls back to cpu with a message when unavailable
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Path to libonnxruntime.so (default: $CLOUDMASK_ORT_LIB, $ORT_DYLIB_PATH, Python packages)
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Args)]
pub struct MaskArgs {
    /// Input raster (GeoTIFF, COG, VRT, a Sentinel-2 subdataset, ...)
    pub input: String,
    /// Output file of the first product; further products get `_<product>` added to its name
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Model name (see `cloudmask models`) or path to an .onnx file
    #[arg(short, long, default_value = cloudmask::model::DEFAULT_MODEL)]
    pub model: String,
    #[arg(
        long = "output",
        visible_alias = "products",
        default_value = cloudmask::raster::Product::Classes.name(),
        value_delimiter = ',',
        help = format!("What to write, comma-separated: {}", cloudmask::raster::Product::names())
    )]
    pub products: Vec<String>,
    #[arg(long, value_enum, default_value = "gtiff")]
    pub format: FormatArg,
    #[arg(long, value_enum, default_value = "exact")]
    pub tiling: TilingArg,
    /// Tiles per ONNX Runtime call (more costs memory; on CPU it gains little)
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Valid-mask buffer in pixels: one number for all cloud and shadow classes, or per class,
    /// e.g. cloud=4,thin=2,shadow=3,nodata=1
    #[arg(long, default_value = "4")]
    pub buffer: String,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Resample the input to this pixel size (map units) before masking; outputs are on that grid
    #[arg(long)]
    pub resolution: Option<f64>,
    /// Exact tiling: tile size (default: the model's)
    #[arg(long)]
    pub tile: Option<usize>,
    /// Exact tiling: overlap fraction between tiles (default 0.2, as ukis-csmask)
    #[arg(long)]
    pub overlap: Option<f64>,
    /// Also write a PNG quicklook (true colour with clouds and shadows drawn over it)
    #[arg(long)]
    pub quicklook: Option<PathBuf>,
    /// No progress bar
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Args)]
pub struct InfoArgs {
    /// A model name, an .onnx file, or a raster
    pub target: String,
    /// Model to map a raster's bands onto
    #[arg(short, long, default_value = cloudmask::model::DEFAULT_MODEL)]
    pub model: String,
}

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Sample scene the benchmark mosaics are made from
    #[arg(long, default_value = "../shared/data/ukis-s2/s2_6band.tif")]
    pub scene: String,
    /// Side of the mosaic for the speed comparison
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// Side of the mosaic for the peak-memory measurement (0 = skip)
    #[arg(long, default_value_t = 10980)]
    pub memory_size: usize,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(short, long, default_value = cloudmask::model::DEFAULT_MODEL)]
    pub model: String,
    /// Python with ukis-csmask and onnxruntime (the reference)
    #[arg(long, default_value = ".venv/bin/python")]
    pub python: PathBuf,
    /// The reference runner script
    #[arg(long, default_value = "tools/ukis_reference.py")]
    pub reference: PathBuf,
    /// Working folder for mosaics and outputs
    #[arg(long, default_value = "target/bench")]
    pub workdir: PathBuf,
    /// Write the results table into this Markdown file (between cloudmask-bench markers)
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
}

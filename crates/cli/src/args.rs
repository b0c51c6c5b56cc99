//! Command-line arguments. Options with a fixed set of values take their names, help and
//! defaults from the library's types ([`choice`]), so the command line cannot drift from them.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use cloudmask::engine::{MaskOptions, Tiling, DEFAULT_OVERLAP};
use cloudmask::limits::{MAX_BATCH, MAX_THREADS, MAX_TILE};
use cloudmask::model::Precision;
use cloudmask::options::Choice;
use cloudmask::postprocess::DEFAULT_BUFFER;
use cloudmask::raster::grid::OutputGrid;
use cloudmask::raster::scaling::DEFAULT_QUANTIFICATION;
use cloudmask::raster::Scaling;
use cloudmask::{Device, ModelOptions};
use std::path::PathBuf;
use std::str::FromStr;

/// The value parser of a library option: its names (with their help) are the possible values,
/// and the library parses the one given.
pub fn choice<T>() -> impl TypedValueParser<Value = T>
where
    T: Choice + FromStr<Err = cloudmask::Error> + Send + Sync,
{
    let values = T::ALL
        .iter()
        .map(|v| PossibleValue::new(v.name()).help(v.help()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<T>())
}

/// A whole number in `min..=max`, a documented limit (`cloudmask::limits`): parsed as a wide
/// integer, so no value wraps, and refused with the range.
pub fn bounded(min: u64, max: u64) -> impl TypedValueParser<Value = usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(min..=max)
}

/// A quantification value: a positive, finite number.
fn quantification(s: &str) -> Result<f64, String> {
    let q: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    cloudmask::raster::scaling::check_digital_numbers(q, 0.0).map_err(|e| e.message)?;
    Ok(q)
}

/// A DN offset: a finite number.
fn dn_offset(s: &str) -> Result<f64, String> {
    let o: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    cloudmask::raster::scaling::check_digital_numbers(DEFAULT_QUANTIFICATION, o)
        .map_err(|e| e.message)?;
    Ok(o)
}

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

/// How the input's bands are found and read (shared by `mask`, `vrt`, `info`, `select` and
/// `eval`).
#[derive(Args, Clone)]
pub struct ReadArgs {
    /// Raster band numbers feeding the model's bands, in the model's order (default: by name)
    #[arg(long, value_delimiter = ',')]
    pub bands: Option<Vec<usize>>,
    #[arg(long, value_parser = choice::<Scaling>(), default_value_t = Scaling::default())]
    pub scaling: Scaling,
    /// Quantification value for --scaling dn (a positive number)
    #[arg(long, default_value_t = DEFAULT_QUANTIFICATION, value_parser = quantification, allow_hyphen_values = true)]
    pub quantification: f64,
    /// Radiometric offset for --scaling dn (Sentinel-2 baseline 04.00 and later: -1000)
    #[arg(long, default_value_t = 0.0, value_parser = dn_offset, allow_hyphen_values = true)]
    pub dn_offset: f64,
    /// Treat this input value as nodata (overrides the raster's own)
    #[arg(long, allow_hyphen_values = true)]
    pub nodata: Option<f64>,
}

impl ReadArgs {
    /// `path` read as these flags say, resampled to `resolution` when given.
    pub fn input(&self, path: &str, resolution: Option<f64>) -> cloudmask::raster::Input {
        self.reading(resolution).input(path)
    }

    /// How these flags read any input, resampled to `resolution` when given.
    pub fn reading(&self, resolution: Option<f64>) -> cloudmask::raster::Reading {
        cloudmask::raster::Reading {
            bands: self
                .bands
                .clone()
                .map(cloudmask::raster::BandSelection::Indices)
                .unwrap_or_default(),
            scaling: self.scaling(),
            nodata: self.nodata,
            resolution,
        }
    }

    pub fn scaling(&self) -> Scaling {
        self.scaling
            .with_digital_numbers(self.quantification, self.dn_offset)
    }
}

#[derive(Args, Clone)]
pub struct RuntimeArgs {
    /// ONNX Runtime intra-op threads (0 = all cores)
    #[arg(long, default_value_t = ModelOptions::default().threads, value_parser = bounded(0, MAX_THREADS))]
    pub threads: usize,
    /// Execution provider; cuda and openvino fall back to cpu with a message when unavailable
    /// (openvino loads the onnxruntime-openvino runtime, e.g. the checkout's .venv-openvino)
    #[arg(long, value_parser = choice::<Device>(), default_value_t = ModelOptions::default().device)]
    pub device: Device,
    /// Inference precision: bf16 runs with --device openvino on a CPU with native bf16 only
    /// (refused elsewhere); auto picks bf16 there, f32 otherwise
    #[arg(long, value_parser = choice::<Precision>(), default_value_t = ModelOptions::default().precision)]
    pub precision: Precision,
    /// Path to libonnxruntime.so (default: the search `cloudmask doctor` shows: $CLOUDMASK_ORT_LIB,
    /// $ORT_DYLIB_PATH, the package's .venv, Python environments, system folders)
    #[arg(long, visible_alias = "ort")]
    pub ort_lib: Option<PathBuf>,
}

impl RuntimeArgs {
    /// The library named on the command line, absolute: a relative path is the user's, typed
    /// in this directory (the library itself never resolves one against the current directory).
    pub fn ort_library(&self) -> Option<PathBuf> {
        absolute(self.ort_lib.as_deref())
    }
}

/// `path` made absolute against the current directory, where the user typed it.
pub fn absolute(path: Option<&std::path::Path>) -> Option<PathBuf> {
    path.map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// The network a command runs (`--model`).
#[derive(Args)]
pub struct ModelArg {
    /// Model name (see `cloudmask models`) or path to an .onnx file
    #[arg(id = "model", short = 'm', long = "model", value_name = "MODEL", default_value = cloudmask::model::DEFAULT_MODEL)]
    pub name: String,
}

#[derive(Args)]
#[command(after_help = crate::exit::MASK_EXIT_HELP)]
pub struct MaskArgs {
    /// Input rasters (GeoTIFF, COG, VRT, a Sentinel-2 subdataset, ...): files; folders (every
    /// raster and product in them); globs (also expanded here, for quoted patterns in scripts);
    /// product folders (a Sentinel-2 .SAFE, a Landsat scene folder) are one input each
    #[arg(value_name = "INPUT", required_unless_present = "from_list")]
    pub inputs: Vec<String>,
    /// Also mask the inputs listed in FILE, one per line (`-`: standard input; blank lines and
    /// lines starting with # are skipped; relative paths are taken from the current folder)
    #[arg(long, value_name = "FILE")]
    pub from_list: Option<String>,
    /// Look for rasters in the sub-folders of input folders too
    #[arg(long)]
    pub recursive: bool,
    /// Output file of the first product (one input only); further products get `_<product>`
    /// added to its name
    #[arg(short = 'o', long = "out", required_unless_present = "output_dir")]
    pub out: Option<PathBuf>,
    /// Folder for the outputs of every input (created when missing), named by --name-pattern
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub output_dir: Option<PathBuf>,
    /// File name of each input's output in --output-dir: {stem} the input's name without its
    /// extension (a product's name for a .SAFE, .zip or Landsat scene), {product} the product
    /// (classes, valid, probabilities), {ext} the format's extension. Without {product},
    /// further products get `_<product>` added
    #[arg(long, value_name = "PATTERN", default_value = crate::mask_plan::DEFAULT_NAME_PATTERN)]
    pub name_pattern: String,
    /// Replace outputs that exist (without it, or --skip-existing, an existing output refuses
    /// the run before any work)
    #[arg(long, conflicts_with = "skip_existing")]
    pub overwrite: bool,
    /// Skip each input whose requested outputs all exist (resumes an interrupted batch)
    #[arg(long)]
    pub skip_existing: bool,
    /// Print a machine-readable summary (JSON) on standard output instead of the text lines
    #[arg(long)]
    pub json: bool,
    /// Model name (see `cloudmask models`) or path to an .onnx file (default: the model for the
    /// product's level, l1c or l2a, when the input says it; else the default model)
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model: Option<String>,
    /// Refuse an input whose product level (l1c / l2a) differs from the model's, instead of
    /// warning
    #[arg(long)]
    pub strict: bool,
    #[arg(
        long = "output",
        visible_alias = "products",
        default_value = cloudmask::raster::Product::Classes.name(),
        value_delimiter = ',',
        help = format!("What to write, comma-separated: {}", cloudmask::raster::Product::names())
    )]
    pub products: Vec<String>,
    /// Output format: any GDAL raster driver that writes files (GTiff, COG, PNG, JPEG, ...;
    /// `gdalinfo --formats`); `--format gtiff|cog` is the same option
    #[arg(
        long = "of",
        visible_alias = "format",
        value_name = "FORMAT",
        default_value = "GTiff"
    )]
    pub format: String,
    /// Creation option of the output format, KEY=VALUE (repeatable); for GTiff and COG they add
    /// to and override the defaults (tiled, DEFLATE)
    #[arg(long = "co", value_name = "KEY=VALUE")]
    pub creation_options: Vec<String>,
    /// Grid of the outputs when the mask is computed on another (--resolution, or a product's
    /// bands at several resolutions): nearest-neighbour onto the input's own grid, or not
    #[arg(long, value_parser = choice::<OutputGrid>(), default_value_t = OutputGrid::default())]
    pub output_grid: OutputGrid,
    #[arg(long, value_parser = choice::<Tiling>(), default_value_t = MaskOptions::default().tiling)]
    pub tiling: Tiling,
    /// Tiles per ONNX Runtime call (more costs memory; on CPU it gains little)
    #[arg(long, default_value_t = MaskOptions::default().batch, value_parser = bounded(1, MAX_BATCH))]
    pub batch: usize,
    /// Valid-mask buffer in pixels: one number for all cloud and shadow classes, or per class,
    /// e.g. cloud=4,thin=2,shadow=3,nodata=1
    #[arg(long, default_value_t = DEFAULT_BUFFER.to_string())]
    pub buffer: String,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Resample the input to this pixel size (map units) before masking; outputs are on that grid
    /// unless --output-grid input
    #[arg(long)]
    pub resolution: Option<f64>,
    /// Exact tiling: tile size (default: the model's)
    #[arg(long, value_parser = bounded(1, MAX_TILE))]
    pub tile: Option<usize>,
    #[arg(long, help = format!(
        "Exact tiling: overlap fraction between tiles (default {DEFAULT_OVERLAP}, as ukis-csmask)"
    ))]
    pub overlap: Option<f64>,
    /// Also write a PNG quicklook (true colour with clouds and shadows drawn over it)
    #[arg(long)]
    pub quicklook: Option<PathBuf>,
    /// Print nothing on success: no progress, no "wrote" lines, no summary (errors and
    /// warnings still go to standard error)
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Args)]
pub struct InfoArgs {
    /// A model name, an .onnx file, or an input as `cloudmask mask` takes it (a raster, a
    /// Sentinel-2 .SAFE/.zip/MTD file, a Landsat MTL/folder/.tar, a STAC item)
    pub target: String,
    /// Model to read a raster for (default: as `cloudmask mask` chooses, by the product's level)
    #[arg(short, long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Resample the input to this pixel size (map units), as `cloudmask mask --resolution`
    #[arg(long)]
    pub resolution: Option<f64>,
}

#[derive(Args)]
pub struct DoctorArgs {
    /// Check this libonnxruntime.so instead of searching for one
    #[arg(long, visible_alias = "ort")]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Sample scene the benchmark mosaics are made from
    #[arg(long, default_value = "../shared/data/ukis-s2/s2_6band.tif")]
    pub scene: String,
    /// Side of the mosaic for the speed comparison (0 = skip it and the memory measurement)
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// Also time this many 512 x 512 scenes masked by one batch run against as many separate
    /// runs (0 = skip)
    #[arg(long, default_value_t = 0)]
    pub batch_scenes: usize,
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

//! Command-line arguments of `cloudmask train` (the `cloudmask-train` program).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cloudmask train",
    version,
    about = "Train cloud-mask networks on labelled rasters and export them as ONNX models cloudmask runs",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a checkpoint as a self-describing ONNX model.
    Export(ExportArgs),
    /// Time training steps (ms per batch) of the networks on random data.
    Bench(BenchArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Training image (repeat, paired in order with --labels).
    #[arg(long = "image", value_name = "RASTER")]
    pub images: Vec<String>,
    /// Label raster for the --image at the same position (same size and grid).
    #[arg(long = "labels", value_name = "RASTER")]
    pub labels: Vec<String>,
    /// Sample list: `image labels [xoff yoff width height]` per line (e.g. a `cloudmask split` list).
    #[arg(long, value_name = "FILE")]
    pub train_list: Option<PathBuf>,
    /// Validation samples; without it the bottom --val-fraction of each training scene is held out.
    #[arg(long, value_name = "FILE")]
    pub val_list: Option<PathBuf>,
    #[arg(long, default_value_t = 0.25)]
    pub val_fraction: f64,
    /// Model input bands by name, in order (default: every band of the first image, by its name).
    /// Band subsets for other sensors and extra inputs such as "dem" are chosen here.
    #[arg(long, value_delimiter = ',')]
    pub bands: Vec<String>,
    /// Output classes in order.
    #[arg(long, value_delimiter = ',', default_value = "clear,cloud,shadow")]
    pub classes: Vec<String>,
    /// Label codes → classes: ukis, cloudmask, scl, fmask, kappamask, cloudsen12, binary, or
    /// pairs such as "0=shadow,4=cloud,1=clear,255=ignore".
    #[arg(long, default_value = "cloudmask")]
    pub label_map: String,
    /// unet[:w1,w2,...] or resnet18[:head_width].
    #[arg(long, default_value = "unet:16,32,64,128")]
    pub arch: String,
    /// Patch size (pixels).
    #[arg(long, default_value_t = 128)]
    pub patch: usize,
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Epochs in all (default 20; on --resume, the run's own unless given).
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 128)]
    pub patches_per_epoch: usize,
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-2)]
    pub weight_decay: f64,
    /// ce or ce+dice.
    #[arg(long, default_value = "ce+dice")]
    pub loss: String,
    /// none, auto (inverse square root of class frequency) or one weight per class.
    #[arg(long, default_value = "auto")]
    pub class_weights: String,
    /// Brightness augmentation: reflectance scaled by a random factor in 1 ± this.
    #[arg(long, default_value_t = 0.1)]
    pub brightness: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Early stopping after this many epochs without a better validation loss.
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// Train on this share of the labelled patches (fine-tuning with few labels).
    #[arg(long, default_value_t = 1.0)]
    pub label_fraction: f64,
    /// Start from this checkpoint's weights (fine-tuning).
    #[arg(long, value_name = "CHECKPOINT")]
    pub init_from: Option<String>,
    /// Continue the run in this folder from its last checkpoint (its settings are reused;
    /// --epochs may raise the total).
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// End this session after this many epochs (as an interruption would); continue later with
    /// --resume. The learning-rate schedule still follows --epochs.
    #[arg(long, value_name = "EPOCHS")]
    pub stop_after: Option<usize>,
    /// Run folder: checkpoints (last/, best/), log.json and the exported model.
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Name of the exported model (default: the run folder's name).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Only errors on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Default, Clone)]
pub struct ComputeArgs {
    /// auto (CUDA when libtorch sees a GPU, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Checkpoint folder (a run's best/ or last/).
    pub checkpoint: PathBuf,
    /// Output ONNX file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Model name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// l1c, l2a or any.
    #[arg(long, default_value = "any")]
    pub product_level: String,
    /// Tile size the engine should use (default 256, rounded to the network's multiple).
    #[arg(long)]
    pub tile_size: Option<usize>,
    /// Ground resolution the training data had, metres.
    #[arg(long)]
    pub resolution_m: Option<f64>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Networks to time.
    /// Repeat for several (default: both networks).
    #[arg(long, default_values = ["unet:16,32,64,128", "resnet18:256"])]
    pub arch: Vec<String>,
    #[arg(long, default_value_t = 8)]
    pub batch: i64,
    #[arg(long, default_value_t = 256)]
    pub size: i64,
    #[arg(long, default_value_t = 6)]
    pub bands: i64,
    #[arg(long, default_value_t = 3)]
    pub classes: i64,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Also time PyTorch on the same networks with this Python (which must have torch), one
    /// network after the other, and report the ratio.
    #[arg(long, value_name = "PYTHON")]
    pub pytorch: Option<PathBuf>,
    /// Write the table into this Markdown file (between cloudmask-train-bench markers).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub compute: ComputeArgs,
}

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
    /// Self-supervised pretraining of the ResNet-18 encoder on unlabelled rasters
    /// (`cloudmask pretrain moco|deepcluster|seco …`); fine-tune with `--init-from`.
    Pretrain(PretrainArgs),
    /// Label-fraction experiment (`cloudmask experiment fractions …`): every pretraining method
    /// x label fraction, fine-tuned with the same seed and scored on a held-out labelled scene.
    Experiment(ExperimentArgs),
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
    /// Weak supervision (WDCD): train a block classifier from this list of labelled blocks
    /// (CSV or JSON: image, xoff, yoff, width, height, cloudy|clear) and export its class
    /// activation map as a cloud-score model. See docs/training.md.
    #[arg(long, value_name = "BLOCKS", help_heading = "Weak supervision (WDCD)")]
    pub weak: Option<PathBuf>,
    /// Weak supervision with block labels derived from the --labels rasters (through
    /// --label-map) by their cloud fraction; the pixel labels train nothing else.
    #[arg(long, help_heading = "Weak supervision (WDCD)")]
    pub weak_from_labels: bool,
    /// Block side, pixels (--weak-from-labels).
    #[arg(long, default_value_t = 32, help_heading = "Weak supervision (WDCD)")]
    pub weak_block: usize,
    /// Step between derived blocks, pixels (default: half a block).
    #[arg(long, help_heading = "Weak supervision (WDCD)")]
    pub weak_stride: Option<usize>,
    /// A derived block with at most this cloud fraction is clear.
    #[arg(long, default_value_t = crate::weak::blocks::CLEAR_MAX, help_heading = "Weak supervision (WDCD)")]
    pub weak_clear_max: f64,
    /// A derived block with at least this cloud fraction is cloudy (between: not used).
    #[arg(long, default_value_t = crate::weak::blocks::CLOUDY_MIN, help_heading = "Weak supervision (WDCD)")]
    pub weak_cloudy_min: f64,
    /// Threshold: a pixel is cloud where its CAM exceeds the clear-sky mean + k standard
    /// deviations (over the pixels of clear blocks).
    #[arg(long, default_value_t = crate::weak::threshold::DEFAULT_K, help_heading = "Weak supervision (WDCD)")]
    pub weak_k: f64,
    /// Widths of the CAM network's levels (a stride-2 max-pool between levels).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "16,32,64",
        help_heading = "Weak supervision (WDCD)"
    )]
    pub weak_widths: Vec<i64>,
    /// Blocks per batch.
    #[arg(long, default_value_t = 32, help_heading = "Weak supervision (WDCD)")]
    pub weak_batch: usize,
    /// Sliding window of the CAM mosaic, pixels (half-overlapping); also the exported model's
    /// tile size.
    #[arg(long, default_value_t = 64, help_heading = "Weak supervision (WDCD)")]
    pub weak_window: usize,
    /// Global pooling of the CAM into the block logit: mean, max, or lse:R (log-sum-exp,
    /// between the mean and the maximum).
    #[arg(
        long,
        default_value = "lse:2",
        help_heading = "Weak supervision (WDCD)"
    )]
    pub weak_pool: String,
    /// How the local pooling is pruned for the full-resolution CAM: drop (pooling removed) or
    /// dilate (strides dropped, later layers dilated).
    #[arg(long, default_value = "drop", help_heading = "Weak supervision (WDCD)")]
    pub weak_prune: String,
}

#[derive(Args, Debug, Default, Clone)]
pub struct ComputeArgs {
    /// auto (CUDA when libtorch sees a GPU, else CPU), cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CPU threads (default: all cores). Sums depend on it: fix it to compare runs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// CPU code paths of libtorch: native (this CPU's widest), avx2 (the same on every x86-64
    /// CPU with AVX2) or baseline (SSE). Default: avx2 for `experiment`, native otherwise.
    #[arg(long, value_enum)]
    pub cpu_isa: Option<crate::cpu_isa::CpuIsa>,
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

#[derive(Args, Debug, Clone)]
pub struct PretrainArgs {
    /// moco, deepcluster or seco.
    pub method: String,
    /// Unlabelled training image (repeatable). Bands are read by name, as for training.
    #[arg(long = "image", value_name = "RASTER")]
    pub images: Vec<String>,
    /// SeCo: a list of locations, one per line: `name: date1.tif date2.tif …` (co-registered).
    #[arg(long, value_name = "FILE")]
    pub locations: Option<PathBuf>,
    /// Model input bands by name (default: every band of the first image).
    #[arg(long, value_delimiter = ',')]
    pub bands: Vec<String>,
    /// The network whose encoder is pretrained: resnet18[:head_width].
    #[arg(long, default_value = "resnet18:256")]
    pub arch: String,
    /// View size (pixels; a multiple of 32).
    #[arg(long, default_value_t = 64)]
    pub patch: usize,
    /// Patch windows views are cropped from (pixels).
    #[arg(long, default_value_t = 96)]
    pub window: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub steps_per_epoch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// MoCo / SeCo: negatives kept in the queue.
    #[arg(long, default_value_t = 1024)]
    pub queue: i64,
    /// MoCo / SeCo: key encoder momentum.
    #[arg(long, default_value_t = 0.99)]
    pub momentum: f64,
    /// MoCo / SeCo: InfoNCE temperature.
    #[arg(long, default_value_t = 0.2)]
    pub temperature: f64,
    /// DeepCluster: number of k-means clusters.
    #[arg(long, default_value_t = 16)]
    pub clusters: usize,
    /// Run folder: encoder/ (a checkpoint for --init-from) and log.json.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub compute: ComputeArgs,
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ExperimentArgs {
    /// The experiment: fractions.
    pub kind: String,
    /// Labelled training image (repeat, paired with --labels); also the pretraining images.
    #[arg(long = "image", value_name = "RASTER")]
    pub images: Vec<String>,
    #[arg(long = "labels", value_name = "RASTER")]
    pub labels: Vec<String>,
    #[arg(long, default_value = "cloudmask")]
    pub label_map: String,
    /// Held-out labelled scene the table scores.
    #[arg(long, value_name = "RASTER")]
    pub test_image: String,
    #[arg(long, value_name = "RASTER")]
    pub test_labels: String,
    /// Label map of the test labels (default: --label-map).
    #[arg(long)]
    pub test_label_map: Option<String>,
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,0.25,1.0")]
    pub fractions: Vec<f64>,
    /// none, moco, deepcluster, seco (seco needs --locations).
    #[arg(long, value_delimiter = ',', default_value = "none,moco,deepcluster")]
    pub methods: Vec<String>,
    /// SeCo locations (see `cloudmask pretrain --help`).
    #[arg(long, value_name = "FILE")]
    pub locations: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "clear,cloud,shadow")]
    pub classes: Vec<String>,
    #[arg(long, default_value = "resnet18:256")]
    pub arch: String,
    /// Fine-tuning: epochs, patch size, batch, patches per epoch, learning rate.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub patch: usize,
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, default_value_t = 64)]
    pub patches_per_epoch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Pretraining: epochs and steps per epoch.
    #[arg(long, default_value_t = 6)]
    pub pretrain_epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub pretrain_steps: usize,
    /// F-beta's beta in the table (2 = CNES's F2, recall weighted).
    #[arg(long, default_value_t = 2.0)]
    pub beta: f64,
    /// Seeds, comma-separated: every cell (pretraining included) runs once per seed, and the
    /// table gives each seed's scores and their mean, standard deviation and range.
    #[arg(
        long = "seeds",
        visible_alias = "seed",
        value_delimiter = ',',
        default_value = "0"
    )]
    pub seeds: Vec<u64>,
    /// Results folder: results.md, results.json, and one run folder per cell.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub compute: ComputeArgs,
    #[arg(short, long)]
    pub quiet: bool,
}

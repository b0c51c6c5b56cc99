//! Everything that defines a training run, saved in every checkpoint so `--resume` continues the
//! same run and the exported card can say how the model was made.

use crate::data::samples::Sample;
use crate::nets::Arch;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub train: Vec<Sample>,
    /// Validation samples; empty = hold out the bottom `val_fraction` of each training scene.
    pub val: Vec<Sample>,
    pub val_fraction: f64,
    /// Model input bands by name (as in `cloudmask mask`).
    pub bands: Vec<String>,
    /// Common classes in output order.
    pub classes: Vec<String>,
    pub label_map: String,
    pub arch: Arch,
    pub patch: usize,
    pub batch: usize,
    pub epochs: usize,
    pub patches_per_epoch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// "ce" or "ce+dice".
    pub loss: String,
    /// "none", "auto" (inverse square root of class frequency) or one weight per class.
    pub class_weights: String,
    /// Brightness augmentation: reflectance scaled by 1 ± this.
    pub brightness: f32,
    pub seed: u64,
    /// Early stopping: epochs without a better validation loss.
    pub patience: usize,
    pub label_fraction: f64,
    /// Checkpoint the weights started from (fine-tuning), if any.
    pub init_from: Option<String>,
}

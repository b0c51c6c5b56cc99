//! What defines a weak run, and how `cloudmask train --weak` / `--weak-from-labels` arguments
//! become it.

use super::blocks::{self, DeriveRule};
use super::net::{Pool, Prune};
use crate::cli::TrainArgs;
use crate::data::samples::{pairs, Sample};
use cloudmask::error::{Error, Result};
use cloudmask::raster::bandmap::model_band_key;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where the block labels come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockSource {
    /// A CSV or JSON list of labelled blocks.
    List { path: String },
    /// Derived from label rasters by cloud fraction.
    Labels {
        samples: Vec<Sample>,
        label_map: String,
        rule: DeriveRule,
    },
}

/// Everything that defines a weak run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeakSettings {
    pub source: BlockSource,
    pub bands: Vec<String>,
    pub widths: Vec<i64>,
    pub pool: Pool,
    pub prune: Prune,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub brightness: f32,
    pub seed: u64,
    /// Blocks wholly in the bottom share of each scene validate instead of training.
    pub val_fraction: f64,
    /// Threshold: clear-sky CAM mean + k standard deviations.
    pub k: f64,
    /// Sliding window of the CAM mosaic (and the exported model's tile size), pixels.
    pub window: usize,
}

pub(super) fn settings_from_args(a: &TrainArgs) -> Result<WeakSettings> {
    let source = block_source(a)?;
    let bands = if !a.bands.is_empty() {
        a.bands.iter().map(|b| model_band_key(b)).collect()
    } else {
        let first = match &source {
            BlockSource::List { path } => blocks::read_list(Path::new(path))?[0].image.clone(),
            BlockSource::Labels { samples, .. } => samples[0].image.clone(),
        };
        crate::bands_of(&first)?
    };
    let pool = Pool::parse(&a.weak_pool).ok_or_else(|| {
        Error::invalid(format!(
            "--weak-pool {}: use mean, max, lse or lse:R (R > 0)",
            a.weak_pool
        ))
    })?;
    let prune = Prune::parse(&a.weak_prune).ok_or_else(|| {
        Error::invalid(format!("--weak-prune {}: use dilate or drop", a.weak_prune))
    })?;
    if a.weak_widths.is_empty() || a.weak_widths.iter().any(|w| *w <= 0) {
        return Err(Error::invalid(
            "--weak-widths needs positive widths, one per level (e.g. 16,32,64)",
        ));
    }
    if a.weak_batch == 0 || a.epochs == Some(0) || a.weak_window == 0 {
        return Err(Error::invalid(
            "--weak-batch, --epochs and --weak-window must be positive",
        ));
    }
    if !(0.0..0.9).contains(&a.val_fraction) {
        return Err(Error::invalid("--val-fraction must be in [0, 0.9)"));
    }
    if !a.weak_k.is_finite() {
        return Err(Error::invalid("--weak-k must be a number"));
    }
    Ok(WeakSettings {
        source,
        bands,
        widths: a.weak_widths.clone(),
        pool,
        prune,
        epochs: a.epochs.unwrap_or(20),
        batch: a.weak_batch,
        lr: a.lr,
        weight_decay: a.weight_decay,
        brightness: a.brightness,
        seed: a.seed,
        val_fraction: a.val_fraction,
        k: a.weak_k,
        window: a.weak_window,
    })
}

/// Where the block labels come from, after the checks that the arguments name one source.
fn block_source(a: &TrainArgs) -> Result<BlockSource> {
    Ok(match (&a.weak, a.weak_from_labels) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "give either --weak BLOCKS (a block list) or --weak-from-labels, not both",
            ))
        }
        (Some(path), false) => {
            if !a.images.is_empty() || a.train_list.is_some() {
                return Err(Error::invalid(
                    "--weak BLOCKS names its images itself; --image/--labels/--train-list go with --weak-from-labels",
                ));
            }
            BlockSource::List {
                path: path.to_string_lossy().into_owned(),
            }
        }
        (None, _) => {
            let mut samples = pairs(&a.images, &a.labels)?;
            if let Some(list) = &a.train_list {
                samples.extend(crate::data::samples::read_list(list)?);
            }
            if samples.is_empty() {
                return Err(Error::invalid(
                    "--weak-from-labels derives block labels from --image/--labels pairs (or a --train-list); none given",
                ));
            }
            let rule = DeriveRule {
                size: a.weak_block,
                stride: a.weak_stride.unwrap_or(a.weak_block / 2).max(1),
                clear_max: a.weak_clear_max,
                cloudy_min: a.weak_cloudy_min,
            };
            rule.check()?;
            BlockSource::Labels {
                samples,
                label_map: a.label_map.clone(),
                rule,
            }
        }
    })
}

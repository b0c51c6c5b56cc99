//! Checkpoints: a folder with the weights (`model.safetensors`, PyTorch names and layouts), the
//! optimiser's moments (`optimizer.safetensors`) and `checkpoint.json` (network spec, bands,
//! classes, normalisation, training settings and progress). Written to a temporary folder and
//! renamed into place, so an interrupted write never leaves a half checkpoint.

use crate::nets::{NetSpec, Network};
use crate::optim::AdamW;
use cloudmask::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

pub const FORMAT: &str = "cloudmask-checkpoint/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointInfo {
    pub format: String,
    pub spec: NetSpec,
    /// Model input bands, in channel order.
    pub bands: Vec<String>,
    /// Common class names, in output-channel order.
    pub classes: Vec<String>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// Epochs completed.
    pub epoch: usize,
    /// The run's settings (so `--resume` continues the same run).
    pub settings: serde_json::Value,
    /// Lowest validation loss so far (`None` before the first, or without validation; JSON has
    /// no infinity).
    pub best_val_loss: Option<f64>,
    pub best_epoch: usize,
    pub stale_epochs: usize,
    /// Per-epoch log up to this point.
    pub history: Vec<serde_json::Value>,
    /// What the network was trained on.
    pub data: serde_json::Value,
}

pub fn save(dir: &Path, info: &CheckpointInfo, net: &Network, opt: Option<&AdamW>) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::output(format!(
            "cannot write checkpoint {} ({what}): {e}",
            dir.display()
        ))
    };
    let tmp = sibling(dir, ".tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| fail("folder", &e))?;
    net.vs
        .save(tmp.join("model.safetensors"))
        .map_err(|e| fail("weights", &e))?;
    if let Some(opt) = opt {
        Tensor::write_safetensors(&opt.state(), tmp.join("optimizer.safetensors"))
            .map_err(|e| fail("optimizer", &e))?;
    }
    let json = serde_json::to_string_pretty(info).map_err(|e| fail("json", &e))?;
    std::fs::write(tmp.join("checkpoint.json"), json).map_err(|e| fail("json", &e))?;
    let old = sibling(dir, ".old");
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| fail("replace", &e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| fail("rename", &e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

pub fn read_info(dir: &Path) -> Result<CheckpointInfo> {
    let path = dir.join("checkpoint.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::input(format!(
            "{} is not a cloudmask checkpoint (cannot read {}: {e})",
            dir.display(),
            path.display()
        ))
    })?;
    let info: CheckpointInfo = serde_json::from_str(&text).map_err(|e| {
        Error::model(format!(
            "{} is not a valid checkpoint description: {e}",
            path.display()
        ))
    })?;
    if info.format != FORMAT {
        return Err(Error::model(format!(
            "{}: checkpoint format '{}' is not '{FORMAT}'",
            path.display(),
            info.format
        )));
    }
    Ok(info)
}

/// Loads a checkpoint's network, refusing one of another architecture than `expected` (when
/// given) with both described.
pub fn load_network(
    dir: &Path,
    expected: Option<&NetSpec>,
    device: Device,
) -> Result<(CheckpointInfo, Network)> {
    let info = read_info(dir)?;
    if let Some(want) = expected {
        if *want != info.spec {
            return Err(Error::model(format!(
                "checkpoint {} holds a {}, but the network asked for is a {}; use the same --arch, bands and classes, or start without it",
                dir.display(),
                info.spec.describe(),
                want.describe()
            )));
        }
    }
    let mut net = Network::new(&info.spec, device);
    net.vs.load(dir.join("model.safetensors")).map_err(|e| {
        Error::model(format!(
            "cannot load the weights of checkpoint {}: {e}",
            dir.display()
        ))
    })?;
    Ok((info, net))
}

pub fn load_optimizer(dir: &Path, opt: &mut AdamW) -> Result<()> {
    let path = dir.join("optimizer.safetensors");
    let named = Tensor::read_safetensors(&path).map_err(|e| {
        Error::input(format!(
            "cannot read optimizer state {}: {e}",
            path.display()
        ))
    })?;
    opt.load_state(named)
}

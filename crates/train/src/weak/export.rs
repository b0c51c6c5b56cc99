//! What a weak run leaves: its checkpoint (`last/`) and the exported cloud-score model with
//! its card.

use super::net::{CamNet, CamSpec};
use super::threshold::ClearSky;
use super::{Outcome, WeakSettings};
use crate::export::band_specs;
use crate::files::write_json;
use cloudmask::error::{Error, Result};
use cloudmask::model::card::{ClassSpec, ModelCard, OutputKind, CARD_FORMAT, CARD_METADATA_KEY};
use cloudmask::model::classes::CommonClass;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// `last/weak.json` beside `last/model.safetensors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    pub spec: CamSpec,
    pub settings: WeakSettings,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub clear_sky: ClearSky,
    pub history: Vec<serde_json::Value>,
}

pub(super) fn save_checkpoint(dir: &Path, info: &Checkpoint, net: &CamNet) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::output(format!("cannot write checkpoint {}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    net.vs
        .save(dir.join("model.safetensors"))
        .map_err(|e| fail(&e))?;
    write_json(&dir.join("weak.json"), &json!(info))
}

/// The card of the exported CAM model.
pub fn card(s: &WeakSettings, o: &Outcome, name: &str) -> ModelCard {
    let class = |id: u8, k: CommonClass| ClassSpec {
        id,
        name: k.name().to_string(),
        colour: k.colour(),
        common: k.name().to_string(),
    };
    ModelCard {
        format: CARD_FORMAT.to_string(),
        name: name.to_string(),
        version: format!("{}-weak-epoch{}", env!("CARGO_PKG_VERSION"), o.history.len()),
        description: format!(
            "{} trained with cloudmask train --weak from {} cloudy and {} clear blocks: a class activation map, cloud where it exceeds the clear-sky mean + {} std",
            o.net.spec.describe(),
            o.blocks.0,
            o.blocks.1,
            s.k
        ),
        licence: "as the training data".to_string(),
        product_level: "any".to_string(),
        bands: band_specs(&s.bands),
        reflectance_scale: 1.0,
        mean: o.norm.mean.clone(),
        std: o.norm.std.clone(),
        classes: vec![class(0, CommonClass::Clear), class(1, CommonClass::Cloud)],
        output: OutputKind::CloudScore {
            threshold: o.clear_sky.score_threshold(),
        },
        tile_size: s.window,
        context: o.net.spec.reach(s.prune),
        size_multiple: 1,
        resolution_m: None,
        training: json!({
            "method": "wdcd",
            "network": o.net.spec,
            "block_cam_stride": o.net.spec.stride(),
            "prune": s.prune,
            "epochs": o.history.len(),
            "blocks": {"cloudy": o.blocks.0, "clear": o.blocks.1, "source": s.source},
            "clear_sky": o.clear_sky,
            "cam_threshold": o.clear_sky.threshold(),
            "score": "sigmoid((CAM - clear_sky.mean) / clear_sky.std)",
            "settings": s,
            "metrics": o.history.last(),
            "framework": "libtorch via tch 0.26.0",
        }),
    }
}

/// Writes the pruned CAM network as a cloud-score ONNX model with its card.
pub fn export(o: &Outcome, s: &WeakSettings, path: &Path, name: &str) -> Result<ModelCard> {
    let card = card(s, o, name);
    card.validate()?;
    let bytes = o.net.to_onnx(
        s.prune,
        o.clear_sky.mean,
        o.clear_sky.std,
        &[(CARD_METADATA_KEY.to_string(), card.to_json())],
    );
    crate::export::write_model(path, &bytes)?;
    Ok(card)
}

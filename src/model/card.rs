//! The model card: everything the engine must know about a network besides its weights.
//!
//! Our own models carry the card as JSON in the ONNX `metadata_props` under [`CARD_METADATA_KEY`];
//! other models carry it in a sidecar `<model>.json`. ukis-csmask's sidecars are read as they are.

use super::bands::{canonical_band, wavelength_nm};
use super::classes::CommonClass;
use crate::error::{Error, Result};
use crate::limits::{self, MAX_CONTEXT, MAX_TILE};
use serde::{Deserialize, Serialize};

/// Key of the card in ONNX `metadata_props`.
pub const CARD_METADATA_KEY: &str = "cloudmask.card";
/// Version tag of our card format, written into every card we produce.
pub const CARD_FORMAT: &str = "cloudmask-card/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandSpec {
    /// Common band name (see `model::bands`), e.g. "blue", "swir16"; or any other input such as "dem".
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wavelength_nm: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSpec {
    /// Index of the class in the network's output channels.
    pub id: u8,
    pub name: String,
    pub colour: [u8; 4],
    /// The common class this maps onto (clear, cloud, thin cloud, cloud shadow, nodata).
    pub common: String,
}

/// What the network outputs per class channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Raw scores: the engine applies a softmax.
    Logits,
    /// Already probabilities (softmax in the graph).
    Probabilities,
    /// One channel, a cloud score in 0..1 (e.g. a class activation map; `cloudmask train --weak`):
    /// the classes are clear and cloud, and a pixel is cloud where the score (blended over tiles)
    /// exceeds `threshold`. In JSON: `"output": {"cloud_score": {"threshold": 0.95}}`.
    CloudScore { threshold: f64 },
}

impl OutputKind {
    /// The cloud-score threshold, for score outputs.
    pub fn threshold(&self) -> Option<f64> {
        match self {
            OutputKind::CloudScore { threshold } => Some(*threshold),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub licence: String,
    /// "l1c" (top of atmosphere) or "l2a" (surface reflectance), or "any".
    pub product_level: String,
    pub bands: Vec<BandSpec>,
    /// Input reflectance scale the network expects: 1.0 means 0..1 reflectance.
    #[serde(default = "one")]
    pub reflectance_scale: f64,
    /// Per-band normalisation applied after scaling: (x - mean) / std.
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub classes: Vec<ClassSpec>,
    pub output: OutputKind,
    /// Tile size the network was trained on.
    pub tile_size: usize,
    /// Context (pixels) the engine should read around each tile core in exact mode.
    pub context: usize,
    /// Spatial sizes the network accepts must be multiples of this (the U-Net's total stride).
    #[serde(default = "thirty_two")]
    pub size_multiple: usize,
    /// Ground resolution the network works best at, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_m: Option<f64>,
    /// Free-form training summary and metrics (our trainer fills these).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub training: serde_json::Value,
}

fn one() -> f64 {
    1.0
}
fn thirty_two() -> usize {
    32
}

impl ModelCard {
    /// Parses a card from JSON: our own format, or a ukis-csmask sidecar (recognised by its
    /// `data.dataset_statistics` block). `fallback_name` names ukis models, whose sidecars carry no name.
    pub fn from_json(text: &str, fallback_name: &str) -> Result<ModelCard> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::model(format!("model card is not valid JSON: {e}")))?;
        let card = if value.get("format").is_some() {
            serde_json::from_value::<ModelCard>(value)
                .map_err(|e| Error::model(format!("model card is incomplete: {e}")))?
        } else if value.pointer("/data/dataset_statistics").is_some() {
            from_ukis_sidecar(&value, fallback_name)?
        } else {
            return Err(Error::model(
                "model card has neither a \"format\" field (cloudmask card) nor \"data.dataset_statistics\" (ukis-csmask sidecar)",
            ));
        };
        card.validate()?;
        Ok(card)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a card always serialises")
    }

    /// Checks the card is self-consistent; `check_against_network` checks it against the ONNX graph.
    pub fn validate(&self) -> Result<()> {
        let n = self.bands.len();
        if n == 0 {
            return Err(Error::model("model card lists no input bands"));
        }
        if self.mean.len() != n || self.std.len() != n {
            return Err(Error::model(format!(
                "model card has {n} bands but {} means and {} standard deviations",
                self.mean.len(),
                self.std.len()
            )));
        }
        if let Some(i) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::model(format!(
                "model card: standard deviation of band {} ({}) must be positive",
                i + 1,
                self.bands[i].name
            )));
        }
        if self.classes.is_empty() {
            return Err(Error::model("model card lists no classes"));
        }
        for (i, c) in self.classes.iter().enumerate() {
            if c.id as usize != i {
                return Err(Error::model(format!(
                    "model card: classes must be listed in output-channel order; entry {i} has id {}",
                    c.id
                )));
            }
            if CommonClass::parse(&c.common).is_none() {
                return Err(Error::model(format!(
                    "model card: class '{}' maps to unknown common class '{}' (use clear, cloud, thin cloud, cloud shadow or nodata)",
                    c.name, c.common
                )));
            }
        }
        if let OutputKind::CloudScore { threshold } = self.output {
            let common: Vec<&str> = self.classes.iter().map(|c| c.common.as_str()).collect();
            let is = |name: &str, want: CommonClass| CommonClass::parse(name) == Some(want);
            if common.len() != 2
                || !is(common[0], CommonClass::Clear)
                || !is(common[1], CommonClass::Cloud)
            {
                return Err(Error::model(format!(
                    "model card: a cloud-score model outputs one channel and its classes must be clear, cloud (in that order), not {}",
                    common.join(", ")
                )));
            }
            if !(threshold > 0.0 && threshold < 1.0) {
                return Err(Error::model(format!(
                    "model card: the cloud-score threshold {threshold} must lie strictly between 0 and 1"
                )));
            }
        }
        self.validate_sizes()
    }

    /// Tile geometry and scaling within the documented limits (`crate::limits`): a card is a data
    /// file, and a tile of 2^30 pixels or a scale of 0 must be refused, not run.
    fn validate_sizes(&self) -> Result<()> {
        let card = |e: Error| Error::model(format!("model card: {}", e.message));
        limits::check_usize("tile size", self.tile_size, 1, MAX_TILE).map_err(card)?;
        limits::check_usize("size multiple", self.size_multiple, 1, MAX_TILE).map_err(card)?;
        limits::check_usize("context", self.context, 0, MAX_CONTEXT).map_err(card)?;
        if !(self.reflectance_scale.is_finite() && self.reflectance_scale > 0.0) {
            return Err(Error::model(format!(
                "model card: reflectance_scale {} must be a positive number (1 when the network reads reflectance 0..1)",
                self.reflectance_scale
            )));
        }
        // An f32 field takes 1e308 from JSON as infinity, which to_json writes as null: a card
        // would read back different from the one that was checked (found by fuzzing).
        if let Some(b) = self
            .bands
            .iter()
            .find(|b| b.wavelength_nm.is_some_and(|w| !(w.is_finite() && w > 0.0)))
        {
            return Err(Error::model(format!(
                "model card: wavelength_nm of band {} must be a positive number of nanometres",
                b.name
            )));
        }
        if let Some(i) = self.mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::model(format!(
                "model card: mean of band {} ({}) must be a finite number",
                i + 1,
                self.bands[i].name
            )));
        }
        if self.tile_size % self.size_multiple != 0 {
            return Err(Error::model(format!(
                "model card: tile size {} must be a positive multiple of {}",
                self.tile_size, self.size_multiple
            )));
        }
        Ok(())
    }

    /// Channels the network outputs: one per class, or one cloud score.
    pub fn output_channels(&self) -> usize {
        match self.output {
            OutputKind::CloudScore { .. } => 1,
            _ => self.classes.len(),
        }
    }

    /// Common class code for each class (output channel, or for a cloud score clear then cloud).
    pub fn common_codes(&self) -> Vec<u8> {
        self.classes
            .iter()
            .map(|c| CommonClass::parse(&c.common).map(|k| k.code()).unwrap_or(0))
            .collect()
    }

    pub fn band_names(&self) -> Vec<String> {
        self.bands.iter().map(|b| b.name.clone()).collect()
    }
}

/// Reads a ukis-csmask 1.0 sidecar (`data.in_channels`, `data.classes`,
/// `data.dataset_statistics.{img,band_names}`, `data.target_size`, `model.version`).
fn from_ukis_sidecar(v: &serde_json::Value, name: &str) -> Result<ModelCard> {
    let missing = |what: &str| Error::model(format!("ukis-csmask model card lacks {what}"));
    let stats = &v["data"]["dataset_statistics"];
    let floats = |x: &serde_json::Value| -> Option<Vec<f64>> {
        x.as_array()?.iter().map(|f| f.as_f64()).collect()
    };
    let mean =
        floats(&stats["img"][0]).ok_or_else(|| missing("dataset_statistics.img[0] (means)"))?;
    let std = floats(&stats["img"][1]).ok_or_else(|| missing("dataset_statistics.img[1] (std)"))?;
    let names: Vec<String> = stats["band_names"]
        .as_array()
        .ok_or_else(|| missing("dataset_statistics.band_names"))?
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_string())
        .collect();
    let bands = names
        .iter()
        .map(|n| {
            let common = canonical_band(n)
                .map(str::to_string)
                .unwrap_or_else(|| n.clone());
            BandSpec {
                wavelength_nm: wavelength_nm(&common),
                name: common,
            }
        })
        .collect();
    let n_classes = v["data"]["classes"]
        .as_u64()
        .ok_or_else(|| missing("data.classes"))?;
    if n_classes != 3 {
        return Err(Error::model(format!(
            "ukis-csmask model card declares {n_classes} classes; only the 3-class layout (clear, cloud, shadow) is known"
        )));
    }
    let class = |id: u8, name: &str, common: CommonClass| ClassSpec {
        id,
        name: name.to_string(),
        colour: common.colour(),
        common: common.name().to_string(),
    };
    // Absent: ukis-csmask's 256. Present, it must be a whole number (the card's limits apply).
    let tile = match &v["data"]["target_size"][0] {
        serde_json::Value::Null => 256,
        t => t
            .as_u64()
            .map(|t| t.min(usize::MAX as u64) as usize)
            .ok_or_else(|| {
                Error::model(format!(
                "ukis-csmask model card: data.target_size[0] is {t}, not a whole number of pixels"
            ))
            })?,
    };
    let version = v["model"]["version"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let level = if name.contains("l2a") { "l2a" } else { "l1c" };
    Ok(ModelCard {
        format: CARD_FORMAT.to_string(),
        name: name.to_string(),
        description: format!(
            "ukis-csmask {} U-Net ({}), DLR",
            version,
            v["model"]["encoder_name"]
                .as_str()
                .unwrap_or("unknown encoder")
        ),
        version,
        licence: "Apache-2.0".to_string(),
        product_level: level.to_string(),
        bands,
        reflectance_scale: 1.0,
        mean,
        std,
        classes: vec![
            class(0, "clear", CommonClass::Clear),
            class(1, "cloud", CommonClass::Cloud),
            class(2, "cloud shadow", CommonClass::Shadow),
        ],
        output: OutputKind::Logits,
        tile_size: tile,
        context: 32,
        size_multiple: 32,
        resolution_m: Some(30.0),
        training: serde_json::Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UKIS: &str = r#"{"data":{"in_channels":4,"classes":3,"dataset_statistics":{"img":[[0.1,0.2,0.3,0.4],[0.5,0.5,0.5,0.25]],"band_names":["blue","green","red","nir"]},"target_size":[256,256]},"model":{"version":"1.0.0-4BL1C","encoder_name":"efficientnet-b4"}}"#;

    #[test]
    fn reads_a_ukis_sidecar() {
        let card = ModelCard::from_json(UKIS, "ukis-4b-l1c").unwrap();
        assert_eq!(card.band_names(), ["blue", "green", "red", "nir"]);
        assert_eq!(card.mean, [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(card.std[3], 0.25);
        assert_eq!(card.common_codes(), [1, 2, 4]);
        assert_eq!(card.version, "1.0.0-4BL1C");
        assert_eq!(card.tile_size, 256);
    }

    #[test]
    fn wavelengths_must_be_positive_and_finite() {
        let card = ModelCard::from_json(UKIS, "ukis-4b-l1c").unwrap();
        for bad in ["1e308", "-490", "0"] {
            let json = card.to_json().replacen(
                "\"wavelength_nm\":492.0",
                &format!("\"wavelength_nm\":{bad}"),
                1,
            );
            assert_ne!(
                json,
                card.to_json(),
                "the blue band's wavelength was not replaced"
            );
            let e = ModelCard::from_json(&json, "x").unwrap_err();
            assert!(
                e.message.contains("wavelength_nm of band blue"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn our_card_round_trips_through_json() {
        let card = ModelCard::from_json(UKIS, "ukis-4b-l1c").unwrap();
        let again = ModelCard::from_json(&card.to_json(), "ignored").unwrap();
        assert_eq!(card, again);
    }

    #[test]
    fn cloud_score_cards_parse_and_are_checked() {
        let logits = ModelCard::from_json(UKIS, "ukis-4b-l1c").unwrap();
        // Existing cards still write and read the output kind as a plain string.
        assert!(logits.to_json().contains("\"output\":\"logits\""));
        let mut card = logits.clone();
        card.classes.truncate(2);
        card.output = OutputKind::CloudScore { threshold: 0.9 };
        let json = card.to_json();
        assert!(
            json.contains("\"output\":{\"cloud_score\":{\"threshold\":0.9}}"),
            "{json}"
        );
        let again = ModelCard::from_json(&json, "x").unwrap();
        assert_eq!(again.output.threshold(), Some(0.9));
        assert_eq!((again.output_channels(), logits.output_channels()), (1, 3));
        assert_eq!(again.common_codes(), [1, 2]);
        let refused = |c: &ModelCard| ModelCard::from_json(&c.to_json(), "x").unwrap_err().message;
        let mut three = card.clone();
        three.classes = logits.classes.clone();
        assert!(
            refused(&three).contains("must be clear, cloud"),
            "{}",
            refused(&three)
        );
        let mut swapped = card.clone();
        swapped.classes.swap(0, 1);
        (swapped.classes[0].id, swapped.classes[1].id) = (0, 1);
        assert!(
            refused(&swapped).contains("not cloud, clear"),
            "{}",
            refused(&swapped)
        );
        let mut bad = card.clone();
        bad.output = OutputKind::CloudScore { threshold: 1.0 };
        assert!(
            refused(&bad).contains("strictly between 0 and 1"),
            "{}",
            refused(&bad)
        );
    }

    #[test]
    fn inconsistent_cards_are_refused_with_the_reason() {
        let bad = UKIS.replace("[0.5,0.5,0.5,0.25]", "[0.5,0.5,0.5]");
        let err = ModelCard::from_json(&bad, "x").unwrap_err();
        assert!(
            err.message
                .contains("4 bands but 4 means and 3 standard deviations"),
            "{}",
            err.message
        );
        let err = ModelCard::from_json("{\"a\":1}", "x").unwrap_err();
        assert!(err.message.contains("neither"), "{}", err.message);
        let err = ModelCard::from_json("not json", "x").unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{}", err.message);
    }
}

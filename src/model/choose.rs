//! Which model masks a product: the one the user named, or the default for the product's level
//! (top-of-atmosphere or surface reflectance), and what to say when the two disagree.
//!
//! A model trained on one level gives plausible-looking but wrong masks on the other, so a
//! mismatch is never silent: a warning, or an error under `strict`.

use super::card::ModelCard;
use super::registry::DEFAULT_MODEL;
use crate::error::{Error, Result};
use crate::raster::products::ProductLevel;

/// The default model for surface-reflectance products (the default model's L2A sibling).
pub const DEFAULT_SURFACE_MODEL: &str = "ukis-6b-l2a";

/// The default model for a product of `level` (unknown: the default model).
pub fn default_for(level: Option<ProductLevel>) -> &'static str {
    match level {
        Some(ProductLevel::Surface) => DEFAULT_SURFACE_MODEL,
        Some(ProductLevel::TopOfAtmosphere) | None => DEFAULT_MODEL,
    }
}

/// The model to load for an input of `level`: `requested` when given, else the default for the
/// level, with a note saying so when the level chose it. A requested model's own level is
/// checked once it is loaded, with [`check_level`] (its card says it).
pub fn choose_model(
    requested: Option<&str>,
    level: Option<ProductLevel>,
) -> (String, Option<String>) {
    if let Some(name) = requested {
        return (name.to_string(), None);
    }
    let name = default_for(level);
    let note = (name != DEFAULT_MODEL).then(|| {
        format!(
            "the input is a {} product, so model {name} masks it (--model chooses another)",
            describe(level)
        )
    });
    (name.to_string(), note)
}

/// Compares a model's level with the input's: `Ok(None)` when they agree or either is unknown
/// ("any" on the card, no level on the input); a warning when they differ; an error under
/// `strict`.
pub fn check_level(
    card: &ModelCard,
    level: Option<ProductLevel>,
    strict: bool,
) -> Result<Option<String>> {
    let Some(level) = level else { return Ok(None) };
    let model_level = card.product_level.trim().to_ascii_lowercase();
    if model_level == "any" || model_level == level.card_name() {
        return Ok(None);
    }
    let message = format!(
        "model {} was trained on {} ({model_level}) but the input is a {} product ({}); its masks may be wrong: use a {} model such as {}",
        card.name,
        ProductLevel::parse(&model_level)
            .map(|l| describe(Some(l)))
            .unwrap_or("other"),
        describe(Some(level)),
        level.card_name(),
        level.card_name(),
        default_for(Some(level)),
    );
    if strict {
        Err(Error::model(format!("{message} (refused under --strict)")))
    } else {
        Ok(Some(message))
    }
}

fn describe(level: Option<ProductLevel>) -> &'static str {
    level.map_or("unknown", ProductLevel::description)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ukis-csmask sidecar: the card format every installation has.
    const UKIS: &str = r#"{"data":{"in_channels":4,"classes":3,"dataset_statistics":{"img":[[0.1,0.2,0.3,0.4],[0.5,0.5,0.5,0.25]],"band_names":["blue","green","red","nir"]},"target_size":[256,256]},"model":{"version":"1.0.0-4BL1C","encoder_name":"efficientnet-b4"}}"#;

    fn card(level: &str) -> ModelCard {
        let mut c = ModelCard::from_json(UKIS, "ukis-4b-l1c").unwrap();
        c.product_level = level.to_string();
        c
    }

    #[test]
    fn the_level_picks_the_default() {
        assert_eq!(choose_model(None, None), (DEFAULT_MODEL.to_string(), None));
        let (name, note) = choose_model(None, Some(ProductLevel::Surface));
        assert_eq!(name, DEFAULT_SURFACE_MODEL);
        assert!(note.unwrap().contains("surface reflectance"));
        assert_eq!(
            choose_model(Some("mine.onnx"), Some(ProductLevel::Surface)),
            ("mine.onnx".to_string(), None)
        );
    }

    #[test]
    fn a_mismatch_warns_or_is_refused() {
        let l1c = card("l1c");
        assert_eq!(check_level(&l1c, None, true), Ok(None));
        assert_eq!(
            check_level(&l1c, Some(ProductLevel::TopOfAtmosphere), true),
            Ok(None)
        );
        assert_eq!(
            check_level(&card("any"), Some(ProductLevel::Surface), true),
            Ok(None)
        );
        let warning = check_level(&l1c, Some(ProductLevel::Surface), false)
            .unwrap()
            .unwrap();
        assert!(warning.contains("ukis-6b-l2a"), "{warning}");
        let e = check_level(&l1c, Some(ProductLevel::Surface), true).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Model);
        assert!(e.message.contains("--strict"), "{}", e.message);
    }
}

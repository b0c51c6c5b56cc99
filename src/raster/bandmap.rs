//! Matching a raster's bands to the bands a model expects.

use super::gdal::Dataset;
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;

/// How the user wants bands chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BandSelection {
    /// By name: band descriptions or GDAL's `BANDNAME` metadata (B02, blue, …).
    #[default]
    Auto,
    /// 1-based raster band numbers, one per model band, in the model card's order.
    Indices(Vec<usize>),
}

/// The name a raster band goes by: its description, else its Sentinel-2 `BANDNAME` metadata.
pub fn raster_band_name(ds: &Dataset, index: usize) -> String {
    let d = ds.band_description(index);
    if !d.trim().is_empty() {
        return d;
    }
    ds.band_metadata_item(index, "BANDNAME", "")
        .unwrap_or_default()
}

/// Every name a band could be matched by: its description, the description's first word
/// (GDAL's SENTINEL2 driver writes "B4, central wavelength 665 nm"), and `BANDNAME` metadata.
pub fn band_name_candidates(ds: &Dataset, index: usize) -> Vec<String> {
    let d = ds.band_description(index);
    let mut names = vec![d.trim().to_string()];
    if let Some(first) = d.split([',', ' ', '(']).find(|w| !w.is_empty()) {
        names.push(first.to_string());
    }
    names.extend(ds.band_metadata_item(index, "BANDNAME", ""));
    names.retain(|n| !n.is_empty());
    names
}

/// The common spectral band name any of a band's names resolves to.
pub fn spectral_key(ds: &Dataset, index: usize) -> Option<&'static str> {
    band_name_candidates(ds, index)
        .iter()
        .find_map(|n| canonical_band(n))
}

/// The common name (or, for non-spectral inputs such as "dem", the lower-cased name) a band
/// matches, if any.
pub fn band_key(ds: &Dataset, index: usize) -> Option<String> {
    spectral_key(ds, index).map(str::to_string).or_else(|| {
        band_name_candidates(ds, index)
            .first()
            .map(|n| n.to_ascii_lowercase())
    })
}

/// The key a model band name is matched with.
pub fn model_band_key(name: &str) -> String {
    canonical_band(name)
        .map(str::to_string)
        .unwrap_or_else(|| name.trim().to_ascii_lowercase())
}

/// Returns, for each model band, the 1-based raster band that feeds it.
pub fn map_bands(
    ds: &Dataset,
    model_bands: &[String],
    selection: &BandSelection,
) -> Result<Vec<usize>> {
    let count = ds.band_count();
    match selection {
        BandSelection::Indices(idx) => {
            if idx.len() != model_bands.len() {
                return Err(Error::bands(format!(
                    "{} band numbers given but the model needs {} bands ({})",
                    idx.len(),
                    model_bands.len(),
                    model_bands.join(", ")
                )));
            }
            if let Some(bad) = idx.iter().find(|&&i| i == 0 || i > count) {
                return Err(Error::bands(format!(
                    "band {bad} does not exist: {} has bands 1 to {count}",
                    ds.description
                )));
            }
            Ok(idx.clone())
        }
        BandSelection::Auto => {
            let names: Vec<String> = (1..=count).map(|i| raster_band_name(ds, i)).collect();
            let key = |s: &str| {
                canonical_band(s)
                    .map(str::to_string)
                    .unwrap_or_else(|| s.trim().to_ascii_lowercase())
            };
            let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
            let mut out = Vec::with_capacity(model_bands.len());
            let mut missing = Vec::new();
            for want in model_bands {
                let want_key = key(want);
                match keys.iter().position(|k| !k.is_empty() && *k == want_key) {
                    Some(i) => out.push(i + 1),
                    None => missing.push(want.clone()),
                }
            }
            if missing.is_empty() {
                return Ok(out);
            }
            let described: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{}={}", i + 1, if n.is_empty() { "(no name)" } else { n }))
                .collect();
            if count < model_bands.len() {
                return Err(Error::bands(format!(
                    "{} has {count} bands but the model needs {} ({})",
                    ds.description,
                    model_bands.len(),
                    model_bands.join(", ")
                )));
            }
            Err(Error::bands(format!(
                "cannot find the model's band(s) {} in {} (its bands: {}); name the bands in the raster or give \
                 their numbers in the model's order ({}) with --bands",
                missing.join(", "),
                ds.description,
                described.join(", "),
                model_bands.join(", ")
            )))
        }
    }
}

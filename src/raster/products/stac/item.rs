//! The parts of a STAC item cloudmask reads, as serde structs (unknown fields are ignored, as
//! STAC readers must), and what they say: each asset's bands and the item's level.

use super::super::ProductLevel;
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Items are small (tens of KiB); anything past this is not one, and is not read whole.
const MAX_ITEM_BYTES: u64 = 16 << 20;

/// The parts of a STAC item cloudmask reads.
#[derive(Debug, Deserialize)]
pub struct Item {
    id: String,
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    properties: Properties,
    pub(super) assets: BTreeMap<String, Asset>,
}

#[derive(Debug, Default, Deserialize)]
struct Properties {
    /// Processing extension: "L1C", "L2A", "L2SP", …
    #[serde(rename = "processing:level", default)]
    processing_level: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Asset {
    pub(super) href: String,
    #[serde(rename = "type", default)]
    pub(super) media_type: Option<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    /// STAC 1.0: the EO extension's bands, in file order.
    #[serde(rename = "eo:bands", default)]
    eo_bands: Vec<EoBand>,
    /// STAC 1.0: the raster extension's bands, in the same order.
    #[serde(rename = "raster:bands", default)]
    raster_bands: Vec<RasterBand>,
    /// STAC 1.1: one band list merging both.
    #[serde(default)]
    bands: Vec<Band>,
    /// STAC 1.1 lets a single-band asset carry its band's fields itself.
    #[serde(flatten)]
    own: Band,
}

#[derive(Debug, Default, Deserialize)]
struct EoBand {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    common_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RasterBand {
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    offset: Option<f64>,
    #[serde(default)]
    nodata: Option<NoData>,
}

/// A STAC 1.1 band (or an asset's own band fields).
#[derive(Debug, Default, Deserialize)]
struct Band {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "eo:common_name", default)]
    common_name: Option<String>,
    #[serde(rename = "raster:scale", default)]
    scale: Option<f64>,
    #[serde(rename = "raster:offset", default)]
    offset: Option<f64>,
    #[serde(default)]
    nodata: Option<NoData>,
}

/// STAC writes nodata as a number, or as "nan", "inf", "-inf".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum NoData {
    Number(f64),
    Text(String),
}

impl NoData {
    fn value(&self) -> Option<f64> {
        match self {
            NoData::Number(v) => Some(*v),
            NoData::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// One band of an asset, as the item describes it.
#[derive(Debug, Default)]
pub(super) struct BandInfo {
    /// The common name it resolves to, when it resolves to one.
    pub(super) key: Option<&'static str>,
    pub(super) scale: Option<f64>,
    pub(super) offset: Option<f64>,
    pub(super) nodata: Option<f64>,
}

impl Item {
    /// The item at `path`, or `None` when `path` is not a STAC item (a raster, a GeoJSON that is
    /// no item). Only a file that starts like JSON is read whole.
    pub fn probe(path: &str) -> Result<Option<Item>> {
        let p = Path::new(path);
        if path.starts_with("/vsi") || !p.is_file() || !starts_like_json(p) {
            return Ok(None);
        }
        let size = p.metadata().map(|m| m.len()).unwrap_or(0);
        if size > MAX_ITEM_BYTES {
            return Ok(None);
        }
        let text = std::fs::read_to_string(p)
            .map_err(|e| Error::input(format!("cannot read {path}: {e}")))?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            // Not JSON after all; GDAL says what it is (or is not).
            return Ok(None);
        };
        let is_item = value.get("type").and_then(|t| t.as_str()) == Some("Feature")
            && value.get("stac_version").is_some();
        if !is_item {
            return Ok(None);
        }
        if value.get("assets").is_none() {
            return Err(Error::input(format!(
                "{path} is a STAC item without assets, so it names no raster to mask"
            )));
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| Error::input(format!("{path} is not a valid STAC item: {e}")))
    }

    /// The level of the item's reflectance, from `processing:level`, else from a collection
    /// id we know; `None` when the item does not say.
    pub fn level(&self) -> Option<ProductLevel> {
        if let Some(level) = &self.properties.processing_level {
            let l = level.trim().to_ascii_uppercase();
            let l = l
                .strip_prefix("LEVEL")
                .unwrap_or(&l)
                .trim_start_matches(['-', ' ']);
            let l = l.strip_prefix('L').unwrap_or(l);
            if l.starts_with('2') {
                return Some(ProductLevel::Surface);
            }
            if l == "1" || l.starts_with("1C") || l.starts_with("1T") || l.starts_with("1G") {
                return Some(ProductLevel::TopOfAtmosphere);
            }
        }
        let c = self.collection.as_deref()?.to_ascii_lowercase();
        if c.starts_with("sentinel-2") {
            match () {
                _ if c.ends_with("l2a") => Some(ProductLevel::Surface),
                _ if c.ends_with("l1c") => Some(ProductLevel::TopOfAtmosphere),
                _ => None,
            }
        } else if c.starts_with("landsat") {
            match () {
                _ if c.ends_with("-l2") => Some(ProductLevel::Surface),
                _ if c.ends_with("-l1") => Some(ProductLevel::TopOfAtmosphere),
                _ => None,
            }
        } else {
            None
        }
    }

    /// What `CLOUDMASK_INPUT_PRODUCT` says of the item.
    pub(super) fn product_name(&self) -> String {
        match &self.collection {
            Some(c) => format!("STAC item {}, collection {c}", self.id),
            None => format!("STAC item {}", self.id),
        }
    }
}

/// True when the first non-blank byte of the file is `{`.
fn starts_like_json(p: &Path) -> bool {
    let mut head = [0u8; 256];
    let Ok(n) = std::fs::File::open(p).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let head = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n]);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The bands the item describes for `asset`, in file order; one band named after the asset's
/// key when it describes none.
pub(super) fn band_infos(key: &str, asset: &Asset) -> Vec<BandInfo> {
    let resolve = |common: &Option<String>, name: &Option<String>| {
        common
            .as_deref()
            .and_then(canonical_band)
            .or_else(|| name.as_deref().and_then(canonical_band))
    };
    let own = &asset.own;
    let mut infos: Vec<BandInfo> = if !asset.bands.is_empty() {
        asset
            .bands
            .iter()
            .map(|b| BandInfo {
                key: resolve(&b.common_name, &b.name),
                scale: b.scale,
                offset: b.offset,
                nodata: b.nodata.as_ref().and_then(NoData::value),
            })
            .collect()
    } else {
        let n = asset.eo_bands.len().max(asset.raster_bands.len()).max(1);
        (0..n)
            .map(|i| {
                let eo = asset.eo_bands.get(i);
                let raster = asset.raster_bands.get(i);
                BandInfo {
                    key: eo.and_then(|e| resolve(&e.common_name, &e.name)),
                    scale: raster.and_then(|r| r.scale),
                    offset: raster.and_then(|r| r.offset),
                    nodata: raster.and_then(|r| r.nodata.as_ref().and_then(NoData::value)),
                }
            })
            .collect()
    };
    if infos.len() == 1 && infos[0].key.is_none() {
        infos[0].key = resolve(&own.common_name, &own.name).or_else(|| canonical_band(key));
    }
    for info in &mut infos {
        info.scale = info.scale.or(own.scale);
        info.offset = info.offset.or(own.offset);
        info.nodata = info
            .nodata
            .or_else(|| own.nodata.as_ref().and_then(NoData::value));
    }
    infos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn levels_come_from_processing_level_then_collection() {
        let with = |props: &str, collection: &str| {
            item(&format!(
                r#"{{"id": "x", "collection": {collection}, "properties": {props}, "assets": {{}}}}"#
            ))
            .level()
        };
        let (toa, sr) = (
            Some(ProductLevel::TopOfAtmosphere),
            Some(ProductLevel::Surface),
        );
        assert_eq!(with(r#"{"processing:level": "L2A"}"#, "null"), sr);
        assert_eq!(with(r#"{"processing:level": "L1C"}"#, "null"), toa);
        assert_eq!(with(r#"{"processing:level": "L1TP"}"#, "null"), toa);
        assert_eq!(with(r#"{"processing:level": "L0"}"#, "null"), None);
        assert_eq!(with("{}", r#""sentinel-2-l2a""#), sr);
        assert_eq!(with("{}", r#""sentinel-2-l1c""#), toa);
        assert_eq!(with("{}", r#""landsat-c2-l2""#), sr);
        assert_eq!(with("{}", r#""landsat-c2-l1""#), toa);
        assert_eq!(with("{}", r#""naip""#), None);
        assert_eq!(with("{}", "null"), None);
    }

    #[test]
    fn bands_are_read_from_stac_1_0_and_1_1() {
        let a = item(
            r#"{"id": "x", "assets": {
                "old": {"href": "a.tif", "eo:bands": [{"name": "B04"}, {"name": "x", "common_name": "nir"}],
                        "raster:bands": [{"scale": 0.0001, "offset": -0.1, "nodata": 0}, {"nodata": "nan"}]},
                "new": {"href": "b.tif", "bands": [{"name": "b", "eo:common_name": "swir16", "raster:scale": 2.75e-5}]},
                "swir22": {"href": "c.tif", "raster:offset": -0.2}
            }}"#,
        );
        let old = band_infos("old", &a.assets["old"]);
        assert_eq!(
            (old[0].key, old[0].scale, old[0].offset),
            (Some("red"), Some(0.0001), Some(-0.1))
        );
        assert_eq!(old[0].nodata, Some(0.0));
        assert_eq!(old[1].key, Some("nir"));
        assert!(old[1].nodata.unwrap().is_nan());
        let new = band_infos("new", &a.assets["new"]);
        assert_eq!((new[0].key, new[0].scale), (Some("swir16"), Some(2.75e-5)));
        let by_key = band_infos("swir22", &a.assets["swir22"]);
        assert_eq!(
            (by_key[0].key, by_key[0].offset),
            (Some("swir22"), Some(-0.2))
        );
    }
}

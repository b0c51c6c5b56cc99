//! A STAC item (`item.json`, STAC 1.0 or 1.1) opened as one raster: for each model band the asset
//! whose band is named after it (`eo:bands` common names or band names such as B04; STAC 1.1
//! `bands`), stacked on one grid with the `raster:bands` scale and offset as GDAL's.
//!
//! The item is read with serde into typed structs holding only the fields used here; unknown
//! fields are ignored, as STAC readers must.

use super::super::gdal::Dataset;
use super::super::stack::{self, Found};
use super::{Opened, ProductLevel, LEVEL_KEY, PRODUCT_KEY};
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use gdal_sys as g;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

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
    assets: BTreeMap<String, Asset>,
}

#[derive(Debug, Default, Deserialize)]
struct Properties {
    /// Processing extension: "L1C", "L2A", "L2SP", …
    #[serde(rename = "processing:level", default)]
    processing_level: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Asset {
    href: String,
    #[serde(rename = "type", default)]
    media_type: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
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
struct BandInfo {
    /// The common name it resolves to, when it resolves to one.
    key: Option<&'static str>,
    scale: Option<f64>,
    offset: Option<f64>,
    nodata: Option<f64>,
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

    /// What `CLOUDMASK_PRODUCT` says of the item.
    fn product_name(&self) -> String {
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

/// Assets that hold a display rendering, not reflectance: never a model band's source.
fn is_preview(key: &str, asset: &Asset) -> bool {
    let k = key.to_ascii_lowercase();
    let kind = asset
        .media_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    ["visual", "tci", "preview", "thumbnail", "overview"]
        .iter()
        .any(|w| k.contains(w))
        || asset.roles.iter().any(|r| {
            matches!(
                r.to_ascii_lowercase().as_str(),
                "visual" | "overview" | "thumbnail"
            )
        })
        || kind.starts_with("image/png")
        || kind.starts_with("image/jpeg")
}

/// The bands the item describes for `asset`, in file order; one band named after the asset's
/// key when it describes none.
fn band_infos(key: &str, asset: &Asset) -> Vec<BandInfo> {
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

/// The GDAL name of an asset's file: remote hrefs through GDAL's network file systems, relative
/// ones from the item's folder.
fn gdal_name(href: &str, item_dir: &Path) -> String {
    let lower = href.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        format!("/vsicurl/{href}")
    } else if let Some(rest) = href.strip_prefix("s3://") {
        format!("/vsis3/{rest}")
    } else if let Some(rest) = href.strip_prefix("gs://") {
        format!("/vsigs/{rest}")
    } else if let Some(rest) = href.strip_prefix("file://") {
        rest.to_string()
    } else if href.starts_with("/vsi") || Path::new(href).is_absolute() {
        href.to_string()
    } else {
        item_dir.join(href).to_string_lossy().into_owned()
    }
}

/// One model band's source: the asset, the band in its file (1-based), the item's description.
struct Choice<'a> {
    asset: &'a str,
    band: usize,
    info: BandInfo,
}

/// For each model band, the asset band it is read from. A "nir" model band takes a narrow NIR
/// ("nir08", Landsat OLI band 5) only where the item has no broad one. Among several candidates,
/// an asset with the "data" role wins, then a GeoTIFF, then the first asset key.
fn choose<'a>(item: &'a Item, path: &str, model_bands: &[String]) -> Result<Vec<Choice<'a>>> {
    let mut chosen = Vec::new();
    let mut missing = Vec::new();
    for want in model_bands {
        let want = canonical_band(want).unwrap_or(want.as_str());
        let mut best: Option<((bool, bool, bool), Choice)> = None;
        for (key, asset) in item.assets.iter().filter(|(k, a)| !is_preview(k, a)) {
            for (i, info) in band_infos(key, asset).into_iter().enumerate() {
                let exact = info.key == Some(want);
                let narrow_nir = want == "nir" && info.key == Some("nir08");
                if !(exact || narrow_nir) {
                    continue;
                }
                let rank = (
                    exact,
                    asset.roles.iter().any(|r| r == "data"),
                    asset.media_type.as_deref().unwrap_or("").contains("tiff"),
                );
                if best.as_ref().map_or(true, |(r, _)| rank > *r) {
                    let choice = Choice {
                        asset: key,
                        band: i + 1,
                        info,
                    };
                    best = Some((rank, choice));
                }
            }
        }
        match best {
            Some((_, c)) => chosen.push(c),
            None => missing.push(want),
        }
    }
    if !missing.is_empty() {
        return Err(Error::bands(format!(
            "{path}: no asset of the STAC item holds the model's band(s) {} (assets: {}; a band is found by its eo:bands common_name or name, or by the asset's key)",
            missing.join(", "),
            item.assets.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(chosen)
}

/// The scale and offset GDAL itself reads for band `band` of `ds`, when they are not 1 and 0.
fn own_scale_offset(ds: &Dataset, band: usize) -> Option<(f64, f64)> {
    // SAFETY: valid handle, band index checked against the band count by the caller.
    let (scale, offset) = unsafe {
        let h = g::GDALGetRasterBand(ds.handle(), band as i32);
        if h.is_null() {
            return None;
        }
        (
            g::GDALGetRasterScale(h, std::ptr::null_mut()),
            g::GDALGetRasterOffset(h, std::ptr::null_mut()),
        )
    };
    (scale != 1.0 || offset != 0.0).then_some((scale, offset))
}

/// Opens the item at `path` (already read as `item`) as a stack of the model's bands.
pub fn open(
    path: &str,
    item: &Item,
    model_bands: &[String],
    resolution: Option<f64>,
) -> Result<Opened> {
    let choices = choose(item, path, model_bands)?;
    let item_dir = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let mut found = Vec::new();
    for c in &choices {
        let asset = &item.assets[c.asset];
        let name = gdal_name(&asset.href, &item_dir);
        let ds = Dataset::open(&name).map_err(|e| {
            Error::input(format!(
                "{path}: asset {} ({}): {}",
                c.asset, asset.href, e.message
            ))
        })?;
        let described = band_infos(c.asset, asset).len();
        if c.band > ds.band_count() || (described == 1 && ds.band_count() > 1) {
            return Err(Error::bands(format!(
                "{path}: asset {} has {} band(s) but the item describes {described}, so cloudmask cannot tell which band is which; list them in its eo:bands",
                c.asset,
                ds.band_count()
            )));
        }
        let mut f = Found::read(&ds, &name, c.band).ok_or_else(|| {
            Error::input(format!(
                "{path}: asset {} ({}) has no georeferencing, so it cannot be stacked with the others",
                c.asset, asset.href
            ))
        })?;
        f.scale_offset = match (c.info.scale, c.info.offset) {
            (None, None) => own_scale_offset(&ds, c.band),
            (s, o) => Some((s.unwrap_or(1.0), o.unwrap_or(0.0))),
        };
        f.nodata = f.nodata.or(c.info.nodata);
        found.push(f);
    }
    let mut metadata = vec![(PRODUCT_KEY.to_string(), item.product_name())];
    if let Some(level) = item.level() {
        metadata.push((LEVEL_KEY.to_string(), level.card_name().to_string()));
    }
    let handle = stack::open_stack(path, model_bands, &found, &metadata, resolution)?;
    Ok(Opened {
        dataset: Dataset::from_owned_handle(handle, path),
        stacked: true,
    })
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

    #[test]
    fn hrefs_resolve_to_gdal_names() {
        let dir = Path::new("/data/item");
        assert_eq!(gdal_name("B04.tif", dir), "/data/item/B04.tif");
        assert_eq!(gdal_name("./b/B04.tif", dir), "/data/item/./b/B04.tif");
        assert_eq!(gdal_name("/abs/B04.tif", dir), "/abs/B04.tif");
        assert_eq!(
            gdal_name("https://host/a/B04.tif", dir),
            "/vsicurl/https://host/a/B04.tif"
        );
        assert_eq!(
            gdal_name("s3://bucket/a/B04.tif", dir),
            "/vsis3/bucket/a/B04.tif"
        );
        assert_eq!(gdal_name("file:///x/B04.tif", dir), "/x/B04.tif");
    }
}

//! A STAC item (`item.json`, STAC 1.0 or 1.1) opened as one raster: for each model band the asset
//! whose band is named after it (`eo:bands` common names or band names such as B04; STAC 1.1
//! `bands`), stacked on one grid with the `raster:bands` scale and offset as GDAL's. Reading the
//! item is `item`'s job; choosing assets and stacking them is this module's.

mod item;

pub use item::Item;

use super::super::gdal::Dataset;
use super::super::stack::{self, Found};
use super::{Opened, LEVEL_KEY, PRODUCT_KEY};
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use gdal_sys as g;
use item::{band_infos, Asset, BandInfo};
use std::path::{Path, PathBuf};

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
    let (handle, input_grid) = stack::open_stack(path, model_bands, &found, &metadata, resolution)?;
    Ok(Opened {
        dataset: Dataset::from_owned_handle(handle, path),
        stacked: true,
        input_grid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

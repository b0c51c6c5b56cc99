//! Sentinel-2 Level-1C and Level-2A products as users download them (a `.SAFE` folder, its
//! `.zip`, or its `MTD_MSIL1C.xml` / `MTD_MSIL2A.xml`), read through GDAL's SENTINEL2 driver and
//! stacked by [`crate::raster::stack`], each band carrying the scale and offset that make its
//! digital numbers reflectance.
//!
//! What GDAL 3.6 exposes (asserted by tests/sentinel2.rs): the product's default metadata has
//! `PRODUCT_TYPE`, `PROCESSING_BASELINE` and `QUANTIFICATION_VALUE` (L1C) or
//! `BOA_QUANTIFICATION_VALUE` (L2A); the bands have `BANDNAME` (B2, B8A, …) but no offset. The
//! per-band offsets of baseline 04.00 on (`RADIO_ADD_OFFSET` / `BOA_ADD_OFFSET`) are only in
//! the main metadata file, which GDAL hands over as the `xml:SENTINEL2` domain: they are read
//! from there with GDAL's XML parser.

use super::{ProductLevel, LEVEL_KEY, PRODUCT_KEY};
use crate::error::{Error, ErrorKind, Result};
use crate::model::bands::canonical_band;
use crate::raster::gdal::{Dataset, XmlDoc};
use crate::raster::grid::InputGrid;
use crate::raster::stack;

/// The driver whose products this module reads.
const DRIVER: &str = "SENTINEL2";

/// Sentinel-2's band ids, as the `band_id` attributes of the offset lists count them.
const BAND_IDS: [&str; 13] = [
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
];

/// The first processing baseline whose digital numbers carry an additive offset.
pub(crate) const OFFSET_BASELINE: f64 = 4.0;

/// How one kind of product names its reflectance scaling.
struct Kind {
    level: ProductLevel,
    name: &'static str,
    quantification_key: &'static str,
    offset_list: &'static str,
    offset_key: &'static str,
}

const L1C: Kind = Kind {
    level: ProductLevel::TopOfAtmosphere,
    name: "L1C",
    quantification_key: "QUANTIFICATION_VALUE",
    offset_list: "Radiometric_Offset_List",
    offset_key: "RADIO_ADD_OFFSET",
};

const L2A: Kind = Kind {
    level: ProductLevel::Surface,
    name: "L2A",
    quantification_key: "BOA_QUANTIFICATION_VALUE",
    offset_list: "BOA_ADD_OFFSET_VALUES_LIST",
    offset_key: "BOA_ADD_OFFSET",
};

/// The kind of a product from its `PRODUCT_TYPE`.
fn kind(product_type: &str) -> Option<&'static Kind> {
    match product_type.trim() {
        "S2MSI1C" => Some(&L1C),
        t if t.starts_with("S2MSI2A") => Some(&L2A),
        _ => None,
    }
}

/// The product's reflectance scaling: quantification and, from baseline 04.00 on, the offset
/// of each band id.
struct Scaling {
    kind: &'static Kind,
    baseline: String,
    quantification: f64,
    offsets: Vec<Option<f64>>,
}

impl Scaling {
    fn read(ds: &Dataset, path: &str, kind: &'static Kind) -> Result<Scaling> {
        let baseline = ds
            .metadata_item("PROCESSING_BASELINE", "")
            .unwrap_or_default();
        let q = ds.metadata_item(kind.quantification_key, "");
        let quantification = q
            .as_deref()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|q| q.is_finite() && *q > 0.0)
            .ok_or_else(|| {
                Error::input(format!(
                    "{path}: the Sentinel-2 {} metadata has no valid {} ({})",
                    kind.name,
                    kind.quantification_key,
                    q.as_deref().unwrap_or("missing")
                ))
            })?;
        let mut offsets = vec![None; BAND_IDS.len()];
        if let Some(text) = ds.metadata_xml("xml:SENTINEL2") {
            let doc = XmlDoc::parse(&text)?;
            if let Some(list) = doc.find(kind.offset_list) {
                for item in list.children(kind.offset_key) {
                    let id = item.value("band_id").and_then(|v| v.parse::<usize>().ok());
                    let value = item.value("").and_then(|v| v.parse::<f64>().ok());
                    if let (Some(id), Some(value)) = (id, value) {
                        if let Some(slot) = offsets.get_mut(id) {
                            *slot = Some(value);
                        }
                    }
                }
            }
        }
        Ok(Scaling {
            kind,
            baseline,
            quantification,
            offsets,
        })
    }

    fn has_offsets(&self) -> bool {
        self.baseline
            .trim()
            .parse::<f64>()
            .is_ok_and(|b| b >= OFFSET_BASELINE)
    }

    /// GDAL scale and offset for band `id` (B02, B8A, …): reflectance = (DN + offset) / Q.
    fn scale_offset(&self, id: &str, path: &str) -> Result<(f64, f64)> {
        let q = self.quantification;
        if !self.has_offsets() {
            return Ok((1.0 / q, 0.0));
        }
        let index = BAND_IDS.iter().position(|b| *b == id);
        match index.and_then(|i| self.offsets[i]) {
            Some(offset) => Ok((1.0 / q, offset / q)),
            None => Err(Error::input(format!(
                "{path}: processing baseline {} has radiometric offsets, but the metadata states no {} for band {id}; give the scaling yourself: --scaling dn --quantification {q} --dn-offset OFFSET",
                self.baseline, self.kind.offset_key
            ))),
        }
    }

    fn description(&self) -> String {
        format!(
            "Sentinel-2 {}, processing baseline {}",
            self.kind.name, self.baseline
        )
    }
}

/// The Sentinel-2 band id (B02, B8A, …) of a band called `name` by GDAL (B2, B8A).
fn band_id(name: &str) -> Option<&'static str> {
    let key = canonical_band(name)?;
    BAND_IDS
        .iter()
        .find(|id| canonical_band(id) == Some(key))
        .copied()
}

/// The image file of band `band` of `sub`, when GDAL found it: GDAL 3.6 lists every band of a
/// resolution whether or not its file exists, reading zeros for a missing one.
fn band_file(sub: &Dataset, band: usize) -> Option<String> {
    let id = sub
        .band_metadata_item(band, "BANDNAME", "")
        .as_deref()
        .and_then(band_id)?;
    sub.file_list().into_iter().find(|f| {
        let name = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
        // T32TMR_20230823T095559_B02.jp2 (L1C), …_B02_10m.jp2 (L2A).
        name.ends_with(".jp2")
            && name
                .split(['_', '.'])
                .any(|token| token.len() == 3 && band_id(token) == Some(id))
    })
}

/// Points `f` at its band's own image file, opened without overviews. Read through the
/// driver's subdataset, a band averaged onto a coarser grid comes from the JPEG 2000's reduced
/// resolution level (a wavelet approximation), not from the mean of its pixels.
fn read_full_resolution(f: &mut stack::Found) {
    let Some(file) = Dataset::open(&f.subdataset)
        .ok()
        .and_then(|sub| band_file(&sub, f.band))
    else {
        return;
    };
    let same_grid = Dataset::open(&file)
        .is_ok_and(|img| img.band_count() == 1 && (img.width(), img.height()) == f.size());
    if same_grid {
        f.subdataset = file;
        f.band = 1;
        f.open_options = vec![("OVERVIEW_LEVEL".to_string(), "NONE".to_string())];
    }
}

/// A band-mapping error that also gives the Sentinel-2 names of the model's bands, since a
/// product lacks a band when its image file is missing.
fn missing_bands(e: Error, model_bands: &[String]) -> Error {
    if e.kind != ErrorKind::BandMapping {
        return e;
    }
    let names: Vec<String> = model_bands
        .iter()
        .filter_map(|m| Some(format!("{m} = {}", band_id(m)?)))
        .collect();
    Error::bands(format!(
        "{}; in Sentinel-2 terms the model needs {}, each with its image file in the product (a download may be incomplete)",
        e.message,
        names.join(", ")
    ))
}

/// The kind of product, when `ds` is a Sentinel-2 L1C or L2A product.
fn recognise(ds: &Dataset) -> Option<&'static Kind> {
    if ds.driver_name() != DRIVER {
        return None;
    }
    ds.metadata_item("PRODUCT_TYPE", "")
        .as_deref()
        .and_then(kind)
}

/// The level of `ds` when it is a Sentinel-2 L1C or L2A product (metadata only), `None` for
/// anything else.
pub fn level(ds: &Dataset) -> Option<ProductLevel> {
    recognise(ds).map(|k| k.level)
}

/// Opens `ds`, a Sentinel-2 L1C or L2A product opened from `path` (see [`level`]), as the
/// stack of the model's bands with their scale and offset, and the product named in its
/// metadata.
pub fn open(
    ds: Dataset,
    path: &str,
    model_bands: &[String],
    resolution: Option<f64>,
) -> Result<(Dataset, Option<InputGrid>)> {
    let kind = recognise(&ds)
        .ok_or_else(|| Error::input(format!("{path} is not a Sentinel-2 L1C or L2A product")))?;
    let scaling = Scaling::read(&ds, path, kind)?;
    let mut found = stack::find_bands(&ds, path, model_bands, &|sub, b| {
        band_file(sub, b).is_some()
    })
    .map_err(|e| missing_bands(e, model_bands))?;
    for f in &mut found {
        let name = f
            .metadata
            .iter()
            .find(|(k, _)| k == "BANDNAME")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let id = band_id(&name).ok_or_else(|| {
            Error::bands(format!(
                "{path}: band {} of {} is not a Sentinel-2 spectral band ({name})",
                f.band, f.subdataset
            ))
        })?;
        f.scale_offset = Some(scaling.scale_offset(id, path)?);
        read_full_resolution(f);
        // Sentinel-2 digital number 0 is "no data" (SPECIAL_VALUE_NODATA), which GDAL 3.6 does
        // not set on the bands.
        f.nodata = f.nodata.or(Some(0.0));
    }
    let mut metadata = ds.metadata_list(None, "");
    metadata.push((PRODUCT_KEY.to_string(), scaling.description()));
    metadata.push((LEVEL_KEY.to_string(), kind.level.card_name().to_string()));
    stack::stack(ds, path, model_bands, &found, resolution, &metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaling(kind: &'static Kind, baseline: &str, offsets: Vec<Option<f64>>) -> Scaling {
        Scaling {
            kind,
            baseline: baseline.to_string(),
            quantification: 10000.0,
            offsets,
        }
    }

    #[test]
    fn gdal_band_names_are_sentinel2_band_ids() {
        assert_eq!(band_id("B2"), Some("B02"));
        assert_eq!(band_id("B8A"), Some("B8A"));
        assert_eq!(band_id("B12"), Some("B12"));
        assert_eq!(band_id("AOT"), None);
        assert_eq!(
            kind("S2MSI1C").map(|k| k.level),
            Some(ProductLevel::TopOfAtmosphere)
        );
        assert_eq!(
            kind("S2MSI2Ap").map(|k| k.level),
            Some(ProductLevel::Surface)
        );
        assert!(kind("S2MSI1B").is_none());
    }

    #[test]
    fn offsets_apply_from_baseline_04_on_and_must_be_stated() {
        let old = scaling(&L1C, "02.09", vec![None; 13]);
        assert_eq!(old.scale_offset("B02", "p").unwrap(), (1e-4, 0.0));
        let mut offsets = vec![Some(-1000.0); 13];
        offsets[12] = None;
        let new = scaling(&L2A, "04.00", offsets);
        assert_eq!(new.scale_offset("B8A", "p").unwrap(), (1e-4, -0.1));
        let e = new.scale_offset("B12", "p").unwrap_err();
        assert!(e.message.contains("BOA_ADD_OFFSET for band B12"), "{e}");
        assert!(e.message.contains("--dn-offset"), "{e}");
        assert_eq!(
            new.description(),
            "Sentinel-2 L2A, processing baseline 04.00"
        );
    }
}

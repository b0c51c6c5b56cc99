//! Turning stored pixel values into the reflectance a model expects.

use super::gdal::{Dataset, ValueKind};
use crate::error::{Error, Result};
use crate::options::Choice;

/// Sentinel-2's quantification value: reflectance = DN / 10000 (before any offset).
pub const DEFAULT_QUANTIFICATION: f64 = 10000.0;

/// How stored values become reflectance: `reflectance = value * gain + bias`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Scaling {
    /// Integers are Sentinel-2 style digital numbers (quantification and offset read from the
    /// product metadata when present, else 10000 and 0); floats are taken as reflectance.
    #[default]
    Auto,
    /// Values already are reflectance (0..1).
    Reflectance,
    /// Digital numbers: reflectance = (DN + offset) / quantification.
    DigitalNumbers { quantification: f64, offset: f64 },
}

impl Scaling {
    /// This scaling with digital numbers' quantification and offset set (the string form names
    /// only the kind of scaling; the numbers come as options of their own).
    pub fn with_digital_numbers(self, quantification: f64, offset: f64) -> Scaling {
        match self {
            Scaling::DigitalNumbers { .. } => Scaling::DigitalNumbers {
                quantification,
                offset,
            },
            other => other,
        }
    }
}

impl Choice for Scaling {
    const OPTION: &'static str = "scaling";
    const ALL: &'static [Self] = &[
        Scaling::Auto,
        Scaling::Reflectance,
        Scaling::DigitalNumbers {
            quantification: DEFAULT_QUANTIFICATION,
            offset: 0.0,
        },
    ];
    fn name(self) -> &'static str {
        match self {
            Scaling::Auto => "auto",
            Scaling::Reflectance => "reflectance",
            Scaling::DigitalNumbers { .. } => "dn",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Scaling::Auto => "Integers are Sentinel-2 digital numbers, floats are reflectance",
            Scaling::Reflectance => "Values are reflectance (0..1)",
            Scaling::DigitalNumbers { .. } => {
                "Values are digital numbers: (DN + offset) / quantification"
            }
        }
    }
}

crate::options::choice_strings!(Scaling);

/// Gain and bias for one raster band (1-based) under a scaling choice. Values that no scaling
/// makes reflectance (complex numbers), and Byte or Int8 bands under automatic scaling (they
/// cannot hold Sentinel-2 digital numbers, so DN / 10000 would make every pixel dark, "clear"),
/// are errors that say what to give instead.
pub fn band_gain_bias(ds: &Dataset, band: usize, scaling: Scaling) -> Result<(f64, f64)> {
    let kind = ds.band_kind(band);
    let name = &ds.description;
    if kind == ValueKind::Complex {
        return Err(Error::input(format!(
            "band {band} of {name} holds complex values ({}), which are not reflectance: write the amplitude or the real part to a real-valued raster first (e.g. gdal_translate -ot Float32 or gdal_calc.py)",
            ds.band_type_name(band)
        )));
    }
    Ok(match scaling {
        Scaling::Reflectance => (1.0, 0.0),
        Scaling::DigitalNumbers {
            quantification,
            offset,
        } => (1.0 / quantification, offset / quantification),
        Scaling::Auto => match kind {
            ValueKind::SmallInteger => {
                return Err(Error::input(format!(
                    "band {band} of {name} is {}, too narrow for Sentinel-2 digital numbers, so automatic scaling cannot tell what its values mean: give the scaling, --scaling dn --quantification Q [--dn-offset O] (reflectance = (value + O) / Q) or --scaling reflectance",
                    ds.band_type_name(band)
                )))
            }
            ValueKind::Integer => {
                let (q, o) = sentinel2_quantification(ds, band);
                (1.0 / q, o / q)
            }
            ValueKind::Float | ValueKind::Complex => (1.0, 0.0),
        },
    })
}

/// Refuses quantification values that would make every reflectance infinite, zero or negated,
/// and offsets that are not numbers.
pub fn check_digital_numbers(quantification: f64, offset: f64) -> Result<()> {
    if !(quantification.is_finite() && quantification > 0.0) {
        return Err(Error::invalid(format!(
            "quantification {quantification} must be a positive number (Sentinel-2: {DEFAULT_QUANTIFICATION})"
        )));
    }
    if !offset.is_finite() {
        return Err(Error::invalid(format!(
            "DN offset {offset} must be a finite number"
        )));
    }
    Ok(())
}

/// Sentinel-2 products state their quantification value and, from processing baseline 04.00 on,
/// a radiometric offset of −1000. GDAL's SENTINEL2 driver exposes them as metadata.
fn sentinel2_quantification(ds: &Dataset, band: usize) -> (f64, f64) {
    let num = |s: Option<String>| s.and_then(|v| v.trim().parse::<f64>().ok());
    let q = num(ds.metadata_item("QUANTIFICATION_VALUE", ""))
        .or_else(|| num(ds.metadata_item("BOA_QUANTIFICATION_VALUE", "")))
        .filter(|q| *q > 0.0)
        .unwrap_or(DEFAULT_QUANTIFICATION);
    let band_offset = num(ds.band_metadata_item(band, "RADIO_ADD_OFFSET", ""))
        .or_else(|| num(ds.band_metadata_item(band, "BOA_ADD_OFFSET", "")));
    let offset = band_offset.unwrap_or_else(|| {
        let baseline = num(ds.metadata_item("PROCESSING_BASELINE", "")).unwrap_or(0.0);
        if baseline >= 4.0 {
            -1000.0
        } else {
            0.0
        }
    });
    (q, offset)
}

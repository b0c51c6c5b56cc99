//! Turning stored pixel values into the reflectance a model expects.

use super::gdal::{Dataset, ValueKind};
use crate::error::{Error, Result};
use crate::options::Choice;

/// Sentinel-2's quantification value: reflectance = DN / 10000 (before any offset).
pub const DEFAULT_QUANTIFICATION: f64 = 10000.0;

/// How stored values become reflectance: `reflectance = value * gain + bias`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Scaling {
    /// From what the raster says: its bands' GDAL scale/offset, Sentinel-2 product metadata, or
    /// floating-point reflectance; integers that say nothing are refused.
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
            Scaling::Auto => {
                "From the raster: band scale/offset or product metadata; floats without them are reflectance; other integers are refused"
            }
            Scaling::Reflectance => "Values are reflectance (0..1)",
            Scaling::DigitalNumbers { .. } => {
                "Values are digital numbers: (DN + offset) / quantification"
            }
        }
    }
}

crate::options::choice_strings!(Scaling);

/// How one band's stored values become reflectance, and what said so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandScale {
    pub gain: f64,
    pub bias: f64,
    pub from: ScaleSource,
}

/// Where a band's scaling came from: recorded in the outputs' metadata, so a mask says how its
/// input was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleSource {
    /// The user's `--scaling reflectance` / `dn`.
    Given,
    /// The band's GDAL scale and offset (a product opener's, a COG's, a STAC item's).
    BandScaleOffset,
    /// Sentinel-2 quantification and offset from the SENTINEL2 driver's metadata.
    Sentinel2Metadata,
    /// Floating-point values without scale or offset, read as reflectance.
    FloatReflectance,
}

impl ScaleSource {
    fn name(self) -> &'static str {
        match self {
            ScaleSource::Given => "given",
            ScaleSource::BandScaleOffset => "band scale/offset",
            ScaleSource::Sentinel2Metadata => "Sentinel-2 metadata",
            ScaleSource::FloatReflectance => "float reflectance",
        }
    }
}

impl std::fmt::Display for BandScale {
    /// `value * 0.0001 + -0.1 (band scale/offset)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "value * {} + {} ({})",
            self.gain,
            self.bias,
            self.from.name()
        )
    }
}

/// How one raster band (1-based) becomes reflectance under a scaling choice. Automatic scaling
/// decides only from what the raster says: its GDAL scale/offset, Sentinel-2 product metadata,
/// or floating-point values (reflectance). Integers that say nothing are refused with a message
/// naming `--scaling`: DN / 10000 is right for Sentinel-2 but wrong for Landsat Collection 2 or a
/// harmonised COG, and a wrong scaling gives a plausible, wrong mask. Complex values are refused
/// under every scaling.
pub fn band_gain_bias(ds: &Dataset, band: usize, scaling: Scaling) -> Result<BandScale> {
    let kind = ds.band_kind(band);
    let name = &ds.description;
    if kind == ValueKind::Complex {
        return Err(Error::input(format!(
            "band {band} of {name} holds complex values ({}), which are not reflectance: write the amplitude or the real part to a real-valued raster first (e.g. gdal_translate -ot Float32 or gdal_calc.py)",
            ds.band_type_name(band)
        )));
    }
    let scale = |gain, bias, from| BandScale { gain, bias, from };
    Ok(match scaling {
        Scaling::Reflectance => scale(1.0, 0.0, ScaleSource::Given),
        Scaling::DigitalNumbers {
            quantification,
            offset,
        } => scale(
            1.0 / quantification,
            offset / quantification,
            ScaleSource::Given,
        ),
        Scaling::Auto => {
            if let Some((gain, bias)) = ds.band_scale_offset(band) {
                return Ok(scale(gain, bias, ScaleSource::BandScaleOffset));
            }
            match kind {
                ValueKind::Float | ValueKind::Complex => {
                    scale(1.0, 0.0, ScaleSource::FloatReflectance)
                }
                ValueKind::Integer | ValueKind::SmallInteger => {
                    match sentinel2_quantification(ds) {
                        Some((q, o)) => scale(1.0 / q, o / q, ScaleSource::Sentinel2Metadata),
                        None => return Err(unknown_scaling(ds, band)),
                    }
                }
            }
        }
    })
}

/// The refusal of an integer band whose meaning the raster does not say.
fn unknown_scaling(ds: &Dataset, band: usize) -> Error {
    Error::input(format!(
        "band {band} of {} holds {} values with no scale/offset and no product metadata, so --scaling auto cannot tell what they mean: \
         give --scaling dn --quantification Q [--dn-offset O] (reflectance = (value + O) / Q; Sentinel-2 L1C/L2A: Q 10000, O -1000 from baseline 04.00, 0 before), \
         or --scaling reflectance (in QGIS the Scaling, Quantification and DN offset parameters; in the C API cm_input_options' scaling, quantification and dn_offset), \
         or open the product itself (.SAFE, MTL, STAC item) so its metadata is read; for the trainer, which has no --scaling, give the raster its scale and offset: gdal_translate -a_scale 0.0001 -a_offset 0 in.tif in.vrt",
        ds.description,
        ds.band_type_name(band)
    ))
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

/// Sentinel-2 digital numbers outside a product opener (e.g. a subdataset copied to GeoTIFF);
/// `None` when the raster carries no Sentinel-2 metadata. GDAL 3.6's SENTINEL2 driver exposes
/// the quantification as dataset metadata `QUANTIFICATION_VALUE` (L1C) or
/// `BOA_QUANTIFICATION_VALUE` (L2A), and `PROCESSING_BASELINE`, but no per-band offset
/// (tests/sentinel2.rs asserts this): the offsets of baseline 04.00 on (−1000 for every band so
/// far) are only in the product's XML, which `products::sentinel2` reads and puts on the bands
/// as GDAL offset.
fn sentinel2_quantification(ds: &Dataset) -> Option<(f64, f64)> {
    let num = |s: Option<String>| s.and_then(|v| v.trim().parse::<f64>().ok());
    let q = num(ds.metadata_item("QUANTIFICATION_VALUE", ""))
        .or_else(|| num(ds.metadata_item("BOA_QUANTIFICATION_VALUE", "")))
        .filter(|q| *q > 0.0);
    let baseline = num(ds.metadata_item("PROCESSING_BASELINE", ""));
    if q.is_none() && baseline.is_none() {
        return None;
    }
    let offset = if baseline.unwrap_or(0.0) >= super::products::OFFSET_BASELINE {
        -1000.0
    } else {
        0.0
    };
    Some((q.unwrap_or(DEFAULT_QUANTIFICATION), offset))
}

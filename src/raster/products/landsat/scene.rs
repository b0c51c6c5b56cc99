//! What a Landsat Collection 2 MTL says about its scene: the sensor (which band number holds
//! which colour), the level (top-of-atmosphere or surface reflectance), the band files and the
//! scale and offset that make each band's digital numbers reflectance.

use super::mtl::Mtl;
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use crate::raster::products::ProductLevel;

/// MTL groups read here (Collection 2, Level-1 and Level-2).
pub const PRODUCT_CONTENTS: &str = "PRODUCT_CONTENTS";
pub const IMAGE_ATTRIBUTES: &str = "IMAGE_ATTRIBUTES";
pub const LEVEL1_RESCALING: &str = "LEVEL1_RADIOMETRIC_RESCALING";
pub const LEVEL2_REFLECTANCE: &str = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS";

/// Collection 2 Level-2 surface reflectance: reflectance = DN * 0.0000275 - 0.2, the
/// documented constants used when the MTL does not state its own.
pub const L2_SR_MULT: f64 = 2.75e-5;
pub const L2_SR_ADD: f64 = -0.2;

/// The sensor families whose reflective bands differ in numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    /// Thematic Mapper (Landsat 4, 5) and Enhanced Thematic Mapper Plus (Landsat 7).
    TmEtm,
    /// Operational Land Imager (Landsat 8, 9).
    Oli,
}

impl Sensor {
    /// Common band name → band number (`FILE_NAME_BAND_n`).
    pub fn bands(self) -> &'static [(&'static str, u32)] {
        match self {
            Sensor::TmEtm => &[
                ("blue", 1),
                ("green", 2),
                ("red", 3),
                ("nir", 4),
                ("swir16", 5),
                ("swir22", 7),
            ],
            Sensor::Oli => &[
                ("coastal", 1),
                ("blue", 2),
                ("green", 3),
                ("red", 4),
                ("nir", 5),
                ("nir08", 5),
                ("swir16", 6),
                ("swir22", 7),
                ("cirrus", 9),
            ],
        }
    }
}

/// A Landsat scene as its MTL describes it.
#[derive(Debug)]
pub struct Scene {
    pub mtl: Mtl,
    pub sensor: Sensor,
    /// `PROCESSING_LEVEL` of the delivered product: L1TP, L1GT, L1GS, L2SP or L2SR.
    pub processing_level: String,
    pub level: ProductLevel,
}

impl Scene {
    pub fn from_mtl(mtl: Mtl) -> Result<Scene> {
        let sensor_id = mtl.require(IMAGE_ATTRIBUTES, "SENSOR_ID")?;
        let sensor = match sensor_id {
            "TM" | "ETM" => Sensor::TmEtm,
            "OLI_TIRS" | "OLI" => Sensor::Oli,
            other => {
                return Err(Error::input(format!(
                    "{}: SENSOR_ID {other} has no blue, green, red, NIR and SWIR bands to mask clouds with (TM, ETM+ and OLI scenes can be masked)",
                    mtl.name
                )))
            }
        };
        // PRODUCT_CONTENTS names the product delivered; a Level-2 MTL also carries the
        // PROCESSING_LEVEL of the Level-1 product it was made from, in LEVEL1_PROCESSING_RECORD.
        let processing_level = mtl
            .require(PRODUCT_CONTENTS, "PROCESSING_LEVEL")?
            .to_string();
        let level = match processing_level.as_str() {
            "L1TP" | "L1GT" | "L1GS" => ProductLevel::TopOfAtmosphere,
            "L2SP" | "L2SR" => ProductLevel::Surface,
            other => {
                return Err(Error::input(format!(
                    "{}: PROCESSING_LEVEL {other} is not a Collection 2 reflectance product (L1TP, L1GT, L1GS, L2SP or L2SR)",
                    mtl.name
                )))
            }
        };
        Ok(Scene {
            mtl,
            sensor,
            processing_level,
            level,
        })
    }

    /// "Landsat 8 OLI/TIRS Collection 2 Level-1 L1TP".
    pub fn product_name(&self) -> String {
        let craft = self
            .mtl
            .get(IMAGE_ATTRIBUTES, "SPACECRAFT_ID")
            .unwrap_or("LANDSAT")
            .replace("LANDSAT_", "Landsat ");
        let sensor = match self.mtl.get(IMAGE_ATTRIBUTES, "SENSOR_ID") {
            Some("ETM") => "ETM+".to_string(),
            Some(s) => s.replace('_', "/"),
            None => String::new(),
        };
        let collection = self
            .mtl
            .get(PRODUCT_CONTENTS, "COLLECTION_NUMBER")
            .and_then(|c| c.parse::<u32>().ok())
            .unwrap_or(2);
        let level = match self.level {
            ProductLevel::TopOfAtmosphere => "Level-1",
            ProductLevel::Surface => "Level-2",
        };
        format!(
            "{craft} {sensor} Collection {collection} {level} {}",
            self.processing_level
        )
    }

    /// The band number holding the model band `name` ("blue", "B02", "SWIR1"...), or an error
    /// naming the bands this sensor has.
    pub fn band_number(&self, name: &str) -> Result<u32> {
        let common = canonical_band(name).unwrap_or(name);
        let table = self.sensor.bands();
        table
            .iter()
            .find(|(c, _)| *c == common)
            .map(|(_, n)| *n)
            .ok_or_else(|| {
                let have: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
                Error::bands(format!(
                    "{}: the model's band {name} is not one of this sensor's bands ({})",
                    self.mtl.name,
                    have.join(", ")
                ))
            })
    }

    /// The file name of band `n` (`FILE_NAME_BAND_n`), or an error naming the missing key.
    pub fn band_file(&self, n: u32, model_band: &str) -> Result<&str> {
        let key = format!("FILE_NAME_BAND_{n}");
        self.mtl.get(PRODUCT_CONTENTS, &key).ok_or_else(|| {
            Error::input(format!(
                "{}: {key} (band {n}, the model's {model_band}) is missing from {PRODUCT_CONTENTS}",
                self.mtl.name
            ))
        })
    }

    /// Scale and offset making band `n`'s digital numbers reflectance (value * scale + offset).
    /// Level-1: top-of-atmosphere reflectance corrected for the sun's elevation,
    /// (DN * REFLECTANCE_MULT + REFLECTANCE_ADD) / sin(SUN_ELEVATION). Level-2: surface
    /// reflectance, DN * REFLECTANCE_MULT + REFLECTANCE_ADD from the Level-2 group, or the
    /// Collection 2 constants when the MTL leaves them out.
    pub fn scale_offset(&self, n: u32) -> Result<(f64, f64)> {
        let mult = format!("REFLECTANCE_MULT_BAND_{n}");
        let add = format!("REFLECTANCE_ADD_BAND_{n}");
        match self.level {
            ProductLevel::TopOfAtmosphere => {
                let m = self.mtl.require_number(LEVEL1_RESCALING, &mult)?;
                let a = self.mtl.require_number(LEVEL1_RESCALING, &add)?;
                let sin = self.sun_elevation_sine()?;
                Ok((m / sin, a / sin))
            }
            ProductLevel::Surface => {
                let m = self.mtl.number(LEVEL2_REFLECTANCE, &mult)?;
                let a = self.mtl.number(LEVEL2_REFLECTANCE, &add)?;
                Ok((m.unwrap_or(L2_SR_MULT), a.unwrap_or(L2_SR_ADD)))
            }
        }
    }

    fn sun_elevation_sine(&self) -> Result<f64> {
        let elevation = self.mtl.require_number(IMAGE_ATTRIBUTES, "SUN_ELEVATION")?;
        if !(elevation > 0.0 && elevation <= 90.0) {
            return Err(Error::input(format!(
                "{}: SUN_ELEVATION {elevation} puts the sun at or below the horizon, so top-of-atmosphere reflectance is undefined",
                self.mtl.name
            )));
        }
        Ok(elevation.to_radians().sin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(level: &str, sensor: &str, extra: &str) -> Result<Scene> {
        let text = format!(
            "GROUP = LANDSAT_METADATA_FILE\n GROUP = PRODUCT_CONTENTS\n  PROCESSING_LEVEL = \"{level}\"\n  COLLECTION_NUMBER = 02\n  FILE_NAME_BAND_4 = \"X_B4.TIF\"\n END_GROUP = PRODUCT_CONTENTS\n GROUP = IMAGE_ATTRIBUTES\n  SPACECRAFT_ID = \"LANDSAT_7\"\n  SENSOR_ID = \"{sensor}\"\n  SUN_ELEVATION = 30.0\n END_GROUP = IMAGE_ATTRIBUTES\n{extra}END_GROUP = LANDSAT_METADATA_FILE\nEND\n"
        );
        Scene::from_mtl(Mtl::parse("X_MTL.txt", text.as_bytes()).unwrap())
    }

    #[test]
    fn level_1_is_top_of_atmosphere_over_the_sun_elevation() {
        let s = scene(
            "L1TP",
            "ETM",
            " GROUP = LEVEL1_RADIOMETRIC_RESCALING\n  REFLECTANCE_MULT_BAND_4 = 2.0000E-05\n  REFLECTANCE_ADD_BAND_4 = -0.100000\n END_GROUP = LEVEL1_RADIOMETRIC_RESCALING\n",
        )
        .unwrap();
        assert_eq!(s.level, ProductLevel::TopOfAtmosphere);
        assert_eq!(s.product_name(), "Landsat 7 ETM+ Collection 2 Level-1 L1TP");
        let (scale, offset) = s.scale_offset(4).unwrap();
        // sin(30°) = 0.5 (to within rounding).
        assert!((scale - 4e-5).abs() < 1e-15 && (offset + 0.2).abs() < 1e-12);
        assert_eq!(s.band_number("nir").unwrap(), 4);
        assert_eq!(s.band_number("SWIR2").unwrap(), 7);
        assert_eq!(s.band_file(4, "red").unwrap(), "X_B4.TIF");
        let e = s.band_file(3, "red").unwrap_err();
        assert!(e
            .message
            .contains("FILE_NAME_BAND_3 (band 3, the model's red) is missing"));
        let e = s.scale_offset(3).unwrap_err();
        assert!(e.message.contains(
            "REFLECTANCE_MULT_BAND_3 is missing from group LEVEL1_RADIOMETRIC_RESCALING"
        ));
        let e = s.band_number("cirrus").unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::BandMapping);
    }

    #[test]
    fn level_2_reads_its_own_group_or_the_constants() {
        // The Level-1 group a Level-2 MTL also carries must not be used.
        let s = scene(
            "L2SP",
            "OLI_TIRS",
            " GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n  REFLECTANCE_MULT_BAND_4 = 3.0e-05\n  REFLECTANCE_ADD_BAND_4 = -0.1\n END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS\n GROUP = LEVEL1_RADIOMETRIC_RESCALING\n  REFLECTANCE_MULT_BAND_4 = 2.0000E-05\n  REFLECTANCE_ADD_BAND_4 = -0.100000\n END_GROUP = LEVEL1_RADIOMETRIC_RESCALING\n",
        )
        .unwrap();
        assert_eq!(s.level, ProductLevel::Surface);
        assert_eq!(s.scale_offset(4).unwrap(), (3.0e-5, -0.1));
        assert_eq!(s.scale_offset(5).unwrap(), (L2_SR_MULT, L2_SR_ADD));
        assert_eq!(s.band_number("nir").unwrap(), 5);
        // Model bands carry common or Sentinel-2 names: B02 is blue, OLI's band 2.
        assert_eq!(s.band_number("B02").unwrap(), 2);
    }

    #[test]
    fn unsupported_sensors_and_levels_are_refused() {
        let e = scene("L1TP", "MSS", "").unwrap_err();
        assert!(e.message.contains("SENSOR_ID MSS"), "{}", e.message);
        let e = scene("L1GS_X", "TM", "").unwrap_err();
        assert!(
            e.message.contains("PROCESSING_LEVEL L1GS_X"),
            "{}",
            e.message
        );
    }
}

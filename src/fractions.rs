//! The share of each common class in a mask, from the pixel counts the streaming pass gathers:
//! what `cloudmask mask` reports per scene and writes into its outputs' metadata, so a catalogue
//! can filter scenes by cloud cover without reading pixels.

use crate::model::CommonClass;
use serde::Serialize;

/// Dataset metadata key of a class's fraction: `CLOUDMASK_FRACTION_CLOUD` and so on.
pub const METADATA_PREFIX: &str = "CLOUDMASK_FRACTION_";

/// Fractions (0 to 1) of all pixels of a mask, per common class; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassFractions {
    pub clear: f64,
    pub cloud: f64,
    pub thin_cloud: f64,
    pub shadow: f64,
    pub nodata: f64,
}

impl ClassFractions {
    /// From pixels per common class code (0 nodata … 4 shadow); all zero for an empty mask.
    pub fn from_counts(counts: &[u64; 5]) -> ClassFractions {
        let total: u64 = counts.iter().sum();
        let share = |c: CommonClass| match total {
            0 => 0.0,
            _ => counts[c.code() as usize] as f64 / total as f64,
        };
        ClassFractions {
            clear: share(CommonClass::Clear),
            cloud: share(CommonClass::Cloud),
            thin_cloud: share(CommonClass::ThinCloud),
            shadow: share(CommonClass::Shadow),
            nodata: share(CommonClass::Nodata),
        }
    }

    /// Cloud cover as scene catalogues give it: cloud and thin cloud, in percent of the pixels
    /// that hold data (nodata left out). `None` when no pixel holds data.
    pub fn cloud_percent(&self) -> Option<f64> {
        let data = self.clear + self.cloud + self.thin_cloud + self.shadow;
        (data > 0.0).then(|| 100.0 * (self.cloud + self.thin_cloud) / data)
    }

    /// `(key, value)` per class, e.g. `CLOUDMASK_FRACTION_THIN_CLOUD`; values in Rust's shortest
    /// form that reads back to the same number.
    pub fn metadata(&self) -> Vec<(String, String)> {
        [
            ("CLEAR", self.clear),
            ("CLOUD", self.cloud),
            ("THIN_CLOUD", self.thin_cloud),
            ("SHADOW", self.shadow),
            ("NODATA", self.nodata),
        ]
        .into_iter()
        .map(|(name, v)| (format!("{METADATA_PREFIX}{name}"), v.to_string()))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_cloud_cover_and_metadata() {
        // 10 nodata, 50 clear, 20 cloud, 10 thin cloud, 10 shadow.
        let f = ClassFractions::from_counts(&[10, 50, 20, 10, 10]);
        assert_eq!((f.nodata, f.clear, f.cloud), (0.1, 0.5, 0.2));
        assert_eq!((f.thin_cloud, f.shadow), (0.1, 0.1));
        assert!((f.cloud_percent().unwrap() - 100.0 * 0.3 / 0.9).abs() < 1e-12);
        let md = f.metadata();
        assert_eq!(md[1], ("CLOUDMASK_FRACTION_CLOUD".into(), "0.2".into()));
        assert_eq!(md[2].0, "CLOUDMASK_FRACTION_THIN_CLOUD");
        assert_eq!(ClassFractions::from_counts(&[0; 5]).cloud_percent(), None);
        assert_eq!(
            ClassFractions::from_counts(&[7, 0, 0, 0, 0]).cloud_percent(),
            None
        );
    }
}

//! Spectral band names: the common names model cards use, and the aliases rasters carry
//! (Sentinel-2 band ids, Landsat descriptions), so bands can be matched by name.

/// Common band names with the Sentinel-2 band id and central wavelength (nm, Sentinel-2A).
pub const COMMON_BANDS: &[(&str, &str, f32)] = &[
    ("coastal", "B01", 443.0),
    ("blue", "B02", 492.0),
    ("green", "B03", 560.0),
    ("red", "B04", 665.0),
    ("rededge1", "B05", 704.0),
    ("rededge2", "B06", 740.0),
    ("rededge3", "B07", 783.0),
    ("nir", "B08", 833.0),
    ("nir08", "B8A", 865.0),
    ("nir09", "B09", 945.0),
    ("cirrus", "B10", 1374.0),
    ("swir16", "B11", 1614.0),
    ("swir22", "B12", 2202.0),
];

/// Reduces any spelling of a band name to its common name, or `None` when it is not a band we know.
/// "B2", "B02", "b02", "Blue", "SWIR1", "swir 1.6" all resolve.
pub fn canonical_band(name: &str) -> Option<&'static str> {
    let n: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .collect();
    if let Some(id) = n.strip_prefix('b') {
        let id = id.trim_start_matches('0');
        let sid = match id {
            "8a" => "B8A".to_string(),
            "" => return None,
            d if d.chars().all(|c| c.is_ascii_digit()) => format!("B{:0>2}", d),
            _ => String::new(),
        };
        if let Some((common, _, _)) = COMMON_BANDS.iter().find(|(_, s, _)| *s == sid) {
            return Some(common);
        }
    }
    let alias = match n.as_str() {
        "aerosol" | "coastalaerosol" | "ultrablue" => "coastal",
        "swir1" | "swir16" | "swir1.6" => "swir16",
        "swir2" | "swir22" | "swir2.2" => "swir22",
        "nir" | "nearinfrared" | "nir1" => "nir",
        "nir08" | "narrownir" | "rededge4" => "nir08",
        "watervapour" | "watervapor" | "nir09" => "nir09",
        other => other,
    };
    COMMON_BANDS
        .iter()
        .map(|(c, _, _)| *c)
        .find(|c| *c == alias)
}

/// Central wavelength of a common band, when known.
pub fn wavelength_nm(common: &str) -> Option<f32> {
    COMMON_BANDS
        .iter()
        .find(|(c, _, _)| *c == common)
        .map(|(_, _, w)| *w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_resolve_to_common_names() {
        for (given, want) in [
            ("B2", "blue"),
            ("B02", "blue"),
            ("b8a", "nir08"),
            ("B08", "nir"),
            ("SWIR1", "swir16"),
            ("swir22", "swir22"),
            ("B12", "swir22"),
            ("Red", "red"),
        ] {
            assert_eq!(canonical_band(given), Some(want), "{given}");
        }
        assert_eq!(canonical_band("Band 1"), None);
        assert_eq!(canonical_band("B13"), None);
        assert_eq!(canonical_band(""), None);
    }
}

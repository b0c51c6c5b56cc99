//! From a label raster's codes to the model's class indices.
//!
//! A scheme maps each code to a common class (clear, cloud, thin cloud, cloud shadow) or to
//! "ignore" (nodata, saturated, unclassified: pixels that do not train). Named schemes cover the
//! usual sources; `--label-map "0=shadow,4=cloud,1=clear"` spells one out. A code found in the
//! labels that the scheme does not name is an error, so a wrong scheme is caught before training.

use cloudmask::error::{Error, Result};
use cloudmask::model::classes::CommonClass;

/// Label value for pixels that do not contribute to the loss or the metrics.
pub const IGNORE: i64 = -1;

#[derive(Debug, Clone, PartialEq)]
pub struct LabelScheme {
    pub name: String,
    /// (code, class) pairs; `None` = ignore.
    pub codes: Vec<(u16, Option<CommonClass>)>,
}

impl LabelScheme {
    /// A named scheme or an explicit `code=class,...` list.
    pub fn parse(text: &str) -> Result<LabelScheme> {
        let named = |pairs: &[(u16, Option<CommonClass>)]| LabelScheme {
            name: text.to_string(),
            codes: pairs.to_vec(),
        };
        // Short names keep each table on a line or two.
        let (c, k, t, s) = (
            Some(CommonClass::Clear),
            Some(CommonClass::Cloud),
            Some(CommonClass::ThinCloud),
            Some(CommonClass::Shadow),
        );
        let no = None;
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            // ukis-csmask / Wieland et al. reference masks: 0 shadow, 1-3 clear surfaces, 4 cloud.
            "ukis" => named(&[(0, s), (1, c), (2, c), (3, c), (4, k)]),
            // cloudmask's own class rasters.
            "cloudmask" | "common" => named(&[(0, no), (1, c), (2, k), (3, t), (4, s)]),
            // Sen2Cor scene classification (SCL).
            "scl" | "sen2cor" => named(&[
                (0, no),
                (1, no),
                (2, c),
                (3, s),
                (4, c),
                (5, c),
                (6, c),
                (7, no),
                (8, k),
                (9, k),
                (10, t),
                (11, c),
            ]),
            // Fmask: 0 land, 1 water, 2 shadow, 3 snow, 4 cloud, 255 fill.
            "fmask" => named(&[(0, c), (1, c), (2, s), (3, c), (4, k), (255, no)]),
            // KappaMask / CloudSEN12-style: 0 missing, 1 clear, 2 cloud shadow, 3 thin, 4 cloud.
            "kappamask" => named(&[(0, no), (1, c), (2, s), (3, t), (4, k)]),
            // CloudSEN12: 0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow.
            "cloudsen12" => named(&[(0, c), (1, k), (2, t), (3, s)]),
            // Binary masks such as 38-Cloud's: 0 clear, 255 (or 1) cloud.
            "binary" => named(&[(0, c), (1, k), (255, k)]),
            _ => parse_pairs(text)?,
        })
    }

    /// A lookup table code → model class index (or IGNORE) for a model with `classes` (common
    /// classes in output order). Thin cloud falls back to cloud when the model has no thin-cloud
    /// class; a class the model lacks otherwise is an error.
    pub fn lookup(&self, classes: &[CommonClass]) -> Result<Vec<Option<i64>>> {
        let mut table = vec![None; 65536];
        for &(code, class) in &self.codes {
            table[code as usize] = Some(match class {
                None => IGNORE,
                Some(k) => model_index(k, classes).ok_or_else(|| {
                    Error::invalid(format!(
                        "label scheme '{}' maps code {code} to '{}', which the model's classes ({}) do not include",
                        self.name,
                        k.name(),
                        classes.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                    ))
                })?,
            });
        }
        Ok(table)
    }
}

fn model_index(class: CommonClass, classes: &[CommonClass]) -> Option<i64> {
    let find = |k: CommonClass| classes.iter().position(|c| *c == k).map(|i| i as i64);
    find(class).or_else(|| {
        (class == CommonClass::ThinCloud)
            .then(|| find(CommonClass::Cloud))
            .flatten()
    })
}

fn parse_pairs(text: &str) -> Result<LabelScheme> {
    let bad = |why: String| {
        Error::invalid(format!(
            "label map '{text}': {why}; give a scheme (ukis, cloudmask, scl, fmask, kappamask, cloudsen12, binary) or pairs like \"0=shadow,4=cloud,1=clear,255=ignore\""
        ))
    };
    let mut codes = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (code, class) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("'{part}' is not code=class")))?;
        let code: u16 = code.trim().parse().map_err(|_| {
            bad(format!(
                "'{}' is not a label code (0 to 65535)",
                code.trim()
            ))
        })?;
        let class = match class.trim().to_ascii_lowercase().as_str() {
            "ignore" | "nodata" => None,
            name => Some(
                CommonClass::parse(name).ok_or_else(|| bad(format!("'{name}' is not a class")))?,
            ),
        };
        codes.push((code, class));
    }
    if codes.is_empty() {
        return Err(bad("no pairs".to_string()));
    }
    Ok(LabelScheme {
        name: text.to_string(),
        codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommonClass::*;

    #[test]
    fn ukis_codes_map_onto_a_three_class_model() {
        let s = LabelScheme::parse("ukis").unwrap();
        let t = s.lookup(&[Clear, Cloud, Shadow]).unwrap();
        assert_eq!(
            &t[..6],
            &[Some(2), Some(0), Some(0), Some(0), Some(1), None]
        );
    }

    #[test]
    fn explicit_pairs_and_thin_cloud_fallback() {
        let s = LabelScheme::parse("0=clear, 7=thin cloud, 255=ignore").unwrap();
        let t = s.lookup(&[Clear, Cloud]).unwrap();
        assert_eq!(
            (t[0], t[7], t[255], t[1]),
            (Some(0), Some(1), Some(IGNORE), None)
        );
        let err = LabelScheme::parse("0=shadow")
            .unwrap()
            .lookup(&[Clear, Cloud])
            .unwrap_err();
        assert!(err.message.contains("do not include"), "{}", err.message);
        let err = LabelScheme::parse("0=rain").unwrap_err();
        assert!(
            err.message.contains("'rain' is not a class"),
            "{}",
            err.message
        );
    }
}

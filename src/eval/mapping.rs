//! Class mappings: the codes of a mask raster (ours, ukis-csmask's, Sen2Cor's SCL, Fmask's,
//! CloudSEN12's, a binary mask, or a user's own) onto cloudmask's common classes.
//!
//! A mapping is named by a built-in scheme (`ukis`), written inline (`0=shadow,1-3=clear,4=cloud`,
//! `*=nodata` for every other code), or read from a JSON file
//! (`{"name": "labels", "classes": {"0": "shadow", "1-3": "clear", "4": "cloud"}}`).
//! A code the mapping does not name is an error, never a silent guess.

use crate::error::{Error, Result};
use crate::model::CommonClass;
use std::collections::BTreeMap;
use std::path::Path;

/// Built-in schemes: name, description, mapping.
const BUILTIN: [(&str, &str, &str); 6] = [
    (
        "cloudmask",
        "cloudmask's own class maps (cloudmask mask)",
        "0=nodata,1=clear,2=cloud,3=thin cloud,4=shadow",
    ),
    (
        "ukis",
        "ukis-csmask class maps",
        "0=clear,1=cloud,2=shadow",
    ),
    (
        "scl",
        "Sen2Cor scene classification (SCL)",
        "0=nodata,1=nodata,2=clear,3=shadow,4=clear,5=clear,6=clear,7=clear,8=cloud,9=cloud,10=thin cloud,11=clear",
    ),
    (
        "fmask",
        "Fmask 4 (0 land, 1 water, 2 shadow, 3 snow, 4 cloud, 255 fill)",
        "0=clear,1=clear,2=shadow,3=clear,4=cloud,255=nodata",
    ),
    (
        "cloudsen12",
        "CloudSEN12 labels (0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow)",
        "0=clear,1=cloud,2=thin cloud,3=shadow",
    ),
    (
        "binary",
        "binary cloud masks (0 clear; 1 or 255 cloud)",
        "0=clear,1=cloud,255=cloud",
    ),
];

/// Names of the built-in schemes, for messages and help.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _, _)| *n).collect()
}

/// Raw codes → common classes. `CommonClass::Nodata` marks pixels to leave out (in a reference)
/// or predictions of "no data" (in a prediction).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMapping {
    /// The scheme's name (a built-in name, the JSON file's `name`, or "custom").
    pub name: String,
    codes: BTreeMap<i64, CommonClass>,
    /// The class of every code not listed (`*=...`), if any.
    other: Option<CommonClass>,
}

/// Codes a mapping does not name, found while mapping (sorted, at most `MAX_REPORTED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    pub codes: Vec<String>,
    pub pixels: u64,
}

const MAX_REPORTED: usize = 8;

impl ClassMapping {
    /// A built-in scheme name, an inline mapping, or a JSON file.
    pub fn parse(spec: &str) -> Result<ClassMapping> {
        let spec = spec.trim();
        if let Some(m) = ClassMapping::builtin(spec) {
            return Ok(m);
        }
        if spec.ends_with(".json") || Path::new(spec).is_file() {
            return ClassMapping::from_json_file(Path::new(spec));
        }
        if spec.contains('=') {
            return ClassMapping::inline("custom", spec);
        }
        Err(Error::invalid(format!(
            "unknown class scheme '{spec}': use one of {}, a mapping such as '0=shadow,1-3=clear,4=cloud', or a .json file",
            builtin_names().join(", ")
        )))
    }

    pub fn builtin(name: &str) -> Option<ClassMapping> {
        let lower = name.to_ascii_lowercase();
        let (n, _, spec) = BUILTIN.iter().find(|(n, _, _)| *n == lower)?;
        Some(ClassMapping::inline(n, spec).expect("built-in schemes parse"))
    }

    /// `code=class` items separated by commas; a code may be a range `a-b` or `*` (any other).
    pub fn inline(name: &str, spec: &str) -> Result<ClassMapping> {
        let mut m = ClassMapping {
            name: name.to_string(),
            codes: BTreeMap::new(),
            other: None,
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (codes, class) = item.split_once('=').ok_or_else(|| {
                Error::invalid(format!(
                    "class mapping item '{item}' must be code=class, e.g. 4=cloud"
                ))
            })?;
            m.set(codes.trim(), class.trim())?;
        }
        if m.codes.is_empty() && m.other.is_none() {
            return Err(Error::invalid(format!(
                "class mapping '{spec}' names no code"
            )));
        }
        Ok(m)
    }

    /// `{"name": ..., "classes": {"0": "shadow", "1-3": "clear", "*": "nodata"}}`, or the
    /// `classes` object alone.
    pub fn from_json_file(path: &Path) -> Result<ClassMapping> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(format!("cannot read class mapping {}: {e}", path.display()))
        })?;
        let bad = |why: String| Error::invalid(format!("class mapping {}: {why}", path.display()));
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("must be a JSON object".into()))?;
        let (name, classes) = match object.get("classes") {
            Some(c) => (
                object
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("custom"),
                c.as_object()
                    .ok_or_else(|| bad("\"classes\" must be an object of code: class".into()))?,
            ),
            None => ("custom", object),
        };
        let mut m = ClassMapping {
            name: name.to_string(),
            codes: BTreeMap::new(),
            other: None,
        };
        for (codes, class) in classes {
            let class = class.as_str().ok_or_else(|| {
                bad(format!(
                    "the class of \"{codes}\" must be a name such as \"cloud\""
                ))
            })?;
            m.set(codes, class).map_err(|e| bad(e.message))?;
        }
        if m.codes.is_empty() && m.other.is_none() {
            return Err(bad("it names no code".into()));
        }
        Ok(m)
    }

    fn set(&mut self, codes: &str, class: &str) -> Result<()> {
        let class = parse_class(class)?;
        if codes == "*" {
            self.other = Some(class);
            return Ok(());
        }
        let (lo, hi) = parse_codes(codes)?;
        if hi - lo > 65_535 {
            return Err(Error::invalid(format!(
                "code range '{codes}' is too wide (at most 65536 codes)"
            )));
        }
        for code in lo..=hi {
            if let Some(old) = self.codes.insert(code, class) {
                if old != class {
                    return Err(Error::invalid(format!(
                        "code {code} is mapped twice ({} and {})",
                        old.name(),
                        class.name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The class of one raw code, `None` when the mapping does not name it.
    pub fn class_of(&self, code: i64) -> Option<CommonClass> {
        self.codes.get(&code).copied().or(self.other)
    }

    /// Maps raw values (as read from the raster) into common class codes. Pixels equal to
    /// `nodata` (the band's nodata value) or NaN become `Nodata`. Values that are not integers
    /// or that the mapping does not name are collected in the error.
    pub fn map_values(
        &self,
        raw: &[f32],
        nodata: Option<f64>,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), Unmapped> {
        let lut = self.small_table();
        out.clear();
        out.reserve(raw.len());
        let mut bad = BTreeMap::<String, ()>::new();
        let mut pixels = 0u64;
        for &v in raw {
            let class = if v.is_nan() || nodata.is_some_and(|n| v as f64 == n) {
                Some(CommonClass::Nodata)
            } else if (0.0..256.0).contains(&v) && v.fract() == 0.0 {
                lut[v as usize]
            } else if v.fract() == 0.0 && v.abs() < 1e15 {
                self.class_of(v as i64)
            } else {
                None
            };
            match class {
                Some(c) => out.push(c.code()),
                None => {
                    pixels += 1;
                    if bad.len() < MAX_REPORTED {
                        bad.insert(format_code(v), ());
                    }
                    out.push(CommonClass::Nodata.code());
                }
            }
        }
        if pixels > 0 {
            return Err(Unmapped {
                codes: bad.into_keys().collect(),
                pixels,
            });
        }
        Ok(())
    }

    fn small_table(&self) -> [Option<CommonClass>; 256] {
        std::array::from_fn(|c| self.class_of(c as i64))
    }

    /// The classes this mapping can produce, in common-code order.
    pub fn classes(&self) -> Vec<CommonClass> {
        CommonClass::ALL
            .into_iter()
            .filter(|c| self.codes.values().any(|v| v == c) || self.other == Some(*c))
            .collect()
    }

    /// `0=clear, 1=cloud, 2=shadow`: ranges folded, for messages and reports.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut run: Option<(i64, i64, CommonClass)> = None;
        let flush = |run: Option<(i64, i64, CommonClass)>, parts: &mut Vec<String>| {
            if let Some((a, b, c)) = run {
                let codes = if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                };
                parts.push(format!("{codes}={}", short_name(c)));
            }
        };
        for (&code, &class) in &self.codes {
            run = match run {
                Some((a, b, c)) if c == class && b + 1 == code => Some((a, code, c)),
                other => {
                    flush(other, &mut parts);
                    Some((code, code, class))
                }
            };
        }
        flush(run, &mut parts);
        if let Some(c) = self.other {
            parts.push(format!("*={}", short_name(c)));
        }
        parts.join(", ")
    }
}

/// The names a mapping uses: `thin cloud`, `shadow`, … (CommonClass::name says "cloud shadow").
fn short_name(c: CommonClass) -> &'static str {
    match c {
        CommonClass::Shadow => "shadow",
        other => other.name(),
    }
}

fn parse_class(name: &str) -> Result<CommonClass> {
    let n = name.trim().to_ascii_lowercase();
    if n == "ignore" || n == "none" {
        return Ok(CommonClass::Nodata);
    }
    CommonClass::parse(&n).ok_or_else(|| {
        Error::invalid(format!(
            "unknown class '{name}': use clear, cloud, thin cloud, shadow or nodata (ignore)"
        ))
    })
}

/// `4`, `-9999` or `1-3`.
fn parse_codes(s: &str) -> Result<(i64, i64)> {
    let bad = || {
        Error::invalid(format!(
            "'{s}' is not a code or a range of codes such as 1-3"
        ))
    };
    if let Ok(c) = s.parse::<i64>() {
        return Ok((c, c));
    }
    // The separator is a '-' after the first character, so "-5-3" is not accepted by accident.
    let split = s
        .char_indices()
        .skip(1)
        .find(|&(_, ch)| ch == '-')
        .map(|(i, _)| i);
    let (a, b) = split.map(|i| (&s[..i], &s[i + 1..])).ok_or_else(bad)?;
    let (lo, hi) = (
        a.trim().parse::<i64>().map_err(|_| bad())?,
        b.trim().parse::<i64>().map_err(|_| bad())?,
    );
    if lo > hi {
        return Err(Error::invalid(format!("code range '{s}' runs backwards")));
    }
    Ok((lo, hi))
}

fn format_code(v: f32) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommonClass::*;

    #[test]
    fn builtin_schemes_map_their_codes() {
        let ukis = ClassMapping::parse("ukis").unwrap();
        assert_eq!(ukis.class_of(0), Some(Clear));
        assert_eq!(ukis.class_of(1), Some(Cloud));
        assert_eq!(ukis.class_of(2), Some(Shadow));
        assert_eq!(ukis.class_of(3), None);
        let scl = ClassMapping::parse("SCL").unwrap();
        assert_eq!(scl.class_of(3), Some(Shadow));
        assert_eq!(scl.class_of(9), Some(Cloud));
        assert_eq!(scl.class_of(10), Some(ThinCloud));
        assert_eq!(scl.class_of(11), Some(Clear));
        assert_eq!(
            ClassMapping::parse("fmask").unwrap().class_of(255),
            Some(Nodata)
        );
        assert_eq!(
            ClassMapping::parse("cloudsen12").unwrap().class_of(2),
            Some(ThinCloud)
        );
        assert_eq!(
            ClassMapping::parse("binary").unwrap().class_of(255),
            Some(Cloud)
        );
        let ours = ClassMapping::parse("cloudmask").unwrap();
        assert_eq!(ours.classes(), CommonClass::ALL.to_vec());
    }

    #[test]
    fn inline_mappings_with_ranges_and_a_default() {
        let m = ClassMapping::parse("0=shadow, 1-3=clear, 4=cloud").unwrap();
        assert_eq!(m.class_of(2), Some(Clear));
        assert_eq!(m.class_of(5), None);
        assert_eq!(m.describe(), "0=shadow, 1-3=clear, 4=cloud");
        assert_eq!(m.classes(), vec![Clear, Cloud, Shadow]);
        let with_default = ClassMapping::parse("1=cloud,*=clear,-9999=ignore").unwrap();
        assert_eq!(with_default.class_of(77), Some(Clear));
        assert_eq!(with_default.class_of(-9999), Some(Nodata));
    }

    #[test]
    fn bad_mappings_say_what_is_wrong() {
        for (spec, needle) in [
            ("nonsense", "unknown class scheme 'nonsense'"),
            ("1=cloudy", "unknown class 'cloudy'"),
            ("1=cloud,1=clear", "code 1 is mapped twice"),
            ("3-1=cloud", "runs backwards"),
            ("a=cloud", "'a' is not a code"),
            ("missing.json", "cannot read class mapping missing.json"),
        ] {
            let e = ClassMapping::parse(spec).unwrap_err();
            assert!(e.message.contains(needle), "{spec}: {}", e.message);
        }
    }

    #[test]
    fn mapping_values_reports_unknown_codes_and_honours_nodata() {
        let m = ClassMapping::parse("ukis").unwrap();
        let mut out = Vec::new();
        m.map_values(&[0.0, 1.0, 2.0, 9.0, f32::NAN], Some(9.0), &mut out)
            .unwrap();
        assert_eq!(out, vec![1, 2, 4, 0, 0]);
        let err = m
            .map_values(&[0.0, 4.0, 4.0, 300.0, 1.5], None, &mut out)
            .unwrap_err();
        assert_eq!(err.codes, vec!["1.5", "300", "4"]);
        assert_eq!(err.pixels, 4);
    }

    #[test]
    fn json_files_name_their_scheme() {
        let dir = std::env::temp_dir().join(format!("cloudmask-mapping-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("labels.json");
        std::fs::write(
            &path,
            r#"{"name": "labels", "classes": {"0": "shadow", "1-3": "clear", "4": "cloud"}}"#,
        )
        .unwrap();
        let m = ClassMapping::parse(path.to_str().unwrap()).unwrap();
        assert_eq!(m.name, "labels");
        assert_eq!(m.class_of(3), Some(Clear));
        std::fs::write(&path, r#"{"0": 5}"#).unwrap();
        let e = ClassMapping::parse(path.to_str().unwrap()).unwrap_err();
        assert!(e.message.contains("must be a name"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! A Landsat Collection 2 metadata file (MTL), from either of the forms USGS ships: `*_MTL.txt`
//! (ODL-like text, [`super::odl`]) or `*_MTL.json` (read with serde_json). Both hold the same
//! groups under `LANDSAT_METADATA_FILE`; values are looked up by group and key, because the
//! Level-2 MTL repeats Level-1 key names (`REFLECTANCE_MULT_BAND_4`, `PROCESSING_LEVEL`) in
//! other groups with other meanings.

use super::odl::{self, Groups};
use crate::error::{Error, Result};
use serde_json::Value;

/// The outermost group of every Collection 2 MTL.
pub const ROOT: &str = "LANDSAT_METADATA_FILE";
/// The outermost group of Collection 1 MTLs, refused with a note.
const COLLECTION_1_ROOT: &str = "L1_METADATA_FILE";

/// A parsed MTL and the name it is reported under.
#[derive(Debug)]
pub struct Mtl {
    pub name: String,
    groups: Groups,
}

impl Mtl {
    /// Parses the MTL called `name` (its extension picks the form) from its bytes.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Mtl> {
        let bad = |why: String| Error::input(format!("{name} is not a valid Landsat MTL: {why}"));
        let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text ({e})")))?;
        let groups = if name.to_ascii_lowercase().ends_with(".json") {
            from_json(text).map_err(bad)?
        } else {
            odl::parse(text).map_err(bad)?
        };
        if groups.root == COLLECTION_1_ROOT {
            return Err(Error::input(format!(
                "{name} is a Landsat Collection 1 MTL ({COLLECTION_1_ROOT}); Collection 1 is retired: download the scene's Collection 2 product"
            )));
        }
        if groups.root != ROOT {
            return Err(bad(format!(
                "its outermost group is '{}', not {ROOT}",
                groups.root
            )));
        }
        Ok(Mtl {
            name: name.to_string(),
            groups,
        })
    }

    /// The value of `key` in `group` (a path below `LANDSAT_METADATA_FILE`).
    pub fn get(&self, group: &str, key: &str) -> Option<&str> {
        self.groups
            .values
            .get(group)
            .and_then(|g| g.get(key))
            .map(String::as_str)
    }

    /// The value of `key` in `group`, or an error naming both.
    pub fn require(&self, group: &str, key: &str) -> Result<&str> {
        self.get(group, key).ok_or_else(|| {
            Error::input(format!(
                "{}: {key} is missing from group {group}",
                self.name
            ))
        })
    }

    /// The number `key` in `group`: `None` when absent, an error when it is not a finite number.
    pub fn number(&self, group: &str, key: &str) -> Result<Option<f64>> {
        let Some(v) = self.get(group, key) else {
            return Ok(None);
        };
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(Error::input(format!(
                "{}: {group} {key} = '{v}' is not a number",
                self.name
            ))),
        }
    }

    /// The number `key` in `group`, or an error naming both.
    pub fn require_number(&self, group: &str, key: &str) -> Result<f64> {
        self.require(group, key)?;
        Ok(self.number(group, key)?.unwrap_or_default())
    }
}

/// `{"LANDSAT_METADATA_FILE": {"GROUP": {"KEY": "value", ...}, ...}}` as the text form's
/// groups. USGS writes every value as a string; numbers are taken too.
fn from_json(text: &str) -> std::result::Result<Groups, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    let Value::Object(top) = doc else {
        return Err("the JSON is not an object".to_string());
    };
    let mut it = top.iter();
    let (Some((root, body)), None) = (it.next(), it.next()) else {
        return Err("the JSON must hold exactly one outermost group".to_string());
    };
    let mut groups = Groups {
        root: root.clone(),
        ..Groups::default()
    };
    add_json_group(&mut groups, "", body)?;
    Ok(groups)
}

fn add_json_group(
    groups: &mut Groups,
    path: &str,
    body: &Value,
) -> std::result::Result<(), String> {
    let Value::Object(map) = body else {
        return Err(format!("group '{path}' is not an object"));
    };
    groups.values.entry(path.to_string()).or_default();
    for (key, value) in map {
        let scalar = match value {
            Value::Object(_) => {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}/{key}")
                };
                add_json_group(groups, &sub, value)?;
                continue;
            }
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("{key} holds {other}, not a string or number")),
        };
        groups
            .values
            .entry(path.to_string())
            .or_default()
            .insert(key.clone(), scalar);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "GROUP = LANDSAT_METADATA_FILE\n  GROUP = IMAGE_ATTRIBUTES\n    SUN_ELEVATION = 35.09902700\n  END_GROUP = IMAGE_ATTRIBUTES\nEND_GROUP = LANDSAT_METADATA_FILE\nEND\n";
    const JSON: &str = r#"{"LANDSAT_METADATA_FILE": {"IMAGE_ATTRIBUTES": {"SUN_ELEVATION": "35.09902700", "WRS_ROW": 30}}}"#;

    #[test]
    fn text_and_json_read_alike() {
        let t = Mtl::parse("X_MTL.txt", TEXT.as_bytes()).unwrap();
        let j = Mtl::parse("X_MTL.json", JSON.as_bytes()).unwrap();
        for m in [&t, &j] {
            assert_eq!(
                m.number("IMAGE_ATTRIBUTES", "SUN_ELEVATION").unwrap(),
                Some(35.099027)
            );
            assert_eq!(m.number("IMAGE_ATTRIBUTES", "SUN_AZIMUTH").unwrap(), None);
        }
        assert_eq!(j.get("IMAGE_ATTRIBUTES", "WRS_ROW"), Some("30"));
        let e = t
            .require("PRODUCT_CONTENTS", "PROCESSING_LEVEL")
            .unwrap_err();
        assert_eq!(
            e.message,
            "X_MTL.txt: PROCESSING_LEVEL is missing from group PRODUCT_CONTENTS"
        );
    }

    #[test]
    fn foreign_and_collection_1_files_are_refused() {
        let c1 = TEXT.replace(ROOT, COLLECTION_1_ROOT);
        let e = Mtl::parse("X_MTL.txt", c1.as_bytes()).unwrap_err();
        assert!(e.message.contains("Collection 1"), "{}", e.message);
        let e = Mtl::parse("X_MTL.json", br#"{"A": {}, "B": {}}"#).unwrap_err();
        assert!(
            e.message.contains("exactly one outermost group"),
            "{}",
            e.message
        );
        let e = Mtl::parse("X_MTL.json", b"{").unwrap_err();
        assert!(e
            .message
            .starts_with("X_MTL.json is not a valid Landsat MTL: bad JSON"));
        let e = Mtl::parse("X_MTL.json", br#"{"OTHER": {}}"#).unwrap_err();
        assert!(e.message.contains("'OTHER', not LANDSAT_METADATA_FILE"));
        let bad = TEXT.replace("35.09902700", "high");
        let m = Mtl::parse("X_MTL.txt", bad.as_bytes()).unwrap();
        let e = m.number("IMAGE_ATTRIBUTES", "SUN_ELEVATION").unwrap_err();
        assert_eq!(
            e.message,
            "X_MTL.txt: IMAGE_ATTRIBUTES SUN_ELEVATION = 'high' is not a number"
        );
    }
}

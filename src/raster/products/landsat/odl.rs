//! The text form of a Landsat MTL file (`*_MTL.txt`): USGS's ODL-like `GROUP = NAME`,
//! `KEY = value`, `END_GROUP = NAME`, closed by `END`.
//!
//! Why a parser of our own: no maintained Rust crate reads this format (PDS/ODL crates target
//! the much larger PDS3 label grammar), and the subset USGS writes is tiny. It is kept strict:
//! anything outside that subset is refused with its line number rather than guessed at, so a
//! damaged MTL never yields a wrong scaling.

use std::collections::BTreeMap;

/// Key/value pairs per group, the group named by its path below the outermost group
/// (`"PRODUCT_CONTENTS"`), plus the name of that outermost group.
#[derive(Debug, Default, PartialEq)]
pub struct Groups {
    pub root: String,
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// Parses MTL text. Errors say which line is wrong and why.
pub fn parse(text: &str) -> Result<Groups, String> {
    let mut out = Groups::default();
    let mut stack: Vec<String> = Vec::new();
    let mut ended = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if ended {
            return Err(format!("line {n}: text after END"));
        }
        if line == "END" {
            if let Some(open) = stack.last() {
                return Err(format!("line {n}: END while group {open} is still open"));
            }
            ended = true;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {n}: expected KEY = value, found '{line}'"));
        };
        let (key, value) = (key.trim(), value.trim());
        if !is_name(key) {
            return Err(format!(
                "line {n}: '{key}' is not a key (upper-case letters, digits and _)"
            ));
        }
        match key {
            "GROUP" => {
                if !is_name(value) {
                    return Err(format!("line {n}: '{value}' is not a group name"));
                }
                if stack.is_empty() && !out.root.is_empty() {
                    return Err(format!(
                        "line {n}: a second outermost group {value} after {}",
                        out.root
                    ));
                }
                stack.push(value.to_string());
                if stack.len() == 1 {
                    out.root = value.to_string();
                } else {
                    out.values.entry(stack[1..].join("/")).or_default();
                }
            }
            "END_GROUP" => match stack.pop() {
                Some(open) if open == value => {}
                Some(open) => {
                    return Err(format!("line {n}: END_GROUP = {value} closes group {open}"))
                }
                None => return Err(format!("line {n}: END_GROUP = {value} with no open group")),
            },
            _ => {
                if stack.is_empty() {
                    return Err(format!("line {n}: {key} outside any GROUP"));
                }
                let value = parse_value(value).map_err(|why| format!("line {n}: {key}: {why}"))?;
                let group = out.values.entry(stack[1..].join("/")).or_default();
                if group.insert(key.to_string(), value).is_some() {
                    return Err(format!("line {n}: {key} given twice in one group"));
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("group {open} is never closed (END_GROUP = {open})"));
    }
    if !ended {
        return Err("the text does not end with END (truncated?)".to_string());
    }
    Ok(out)
}

/// Keys and group names: upper-case letters, digits and underscores.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A value: a double-quoted string (quotes removed) or a bare token (a number, a date).
fn parse_value(v: &str) -> Result<String, String> {
    if let Some(rest) = v.strip_prefix('"') {
        return match rest.strip_suffix('"') {
            Some(inner) if !inner.contains('"') => Ok(inner.to_string()),
            _ => Err(format!("unbalanced quotes in {v}")),
        };
    }
    if v.is_empty() {
        return Err("no value".to_string());
    }
    if v.contains(|c: char| c.is_whitespace() || c == '"') {
        return Err(format!("'{v}' must be quoted"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "GROUP = LANDSAT_METADATA_FILE\n  GROUP = PRODUCT_CONTENTS\n    LANDSAT_PRODUCT_ID = \"LC08_L1TP_193026_20200423_20200822_02_T1\"\n    PROCESSING_LEVEL = \"L1TP\"\n    COLLECTION_NUMBER = 02\n  END_GROUP = PRODUCT_CONTENTS\n  GROUP = IMAGE_ATTRIBUTES\n    SUN_ELEVATION = 50.94013515\n    DATE_ACQUIRED = 2020-04-23\n    SCENE_CENTER_TIME = \"10:03:33.0040110Z\"\n  END_GROUP = IMAGE_ATTRIBUTES\nEND_GROUP = LANDSAT_METADATA_FILE\nEND\n";

    #[test]
    fn groups_quoted_strings_and_numbers() {
        let g = parse(SAMPLE).unwrap();
        assert_eq!(g.root, "LANDSAT_METADATA_FILE");
        let pc = &g.values["PRODUCT_CONTENTS"];
        assert_eq!(
            pc["LANDSAT_PRODUCT_ID"],
            "LC08_L1TP_193026_20200423_20200822_02_T1"
        );
        assert_eq!(pc["PROCESSING_LEVEL"], "L1TP");
        assert_eq!(pc["COLLECTION_NUMBER"], "02");
        let ia = &g.values["IMAGE_ATTRIBUTES"];
        assert_eq!(ia["SUN_ELEVATION"].parse::<f64>().unwrap(), 50.94013515);
        assert_eq!(ia["DATE_ACQUIRED"], "2020-04-23");
        assert_eq!(ia["SCENE_CENTER_TIME"], "10:03:33.0040110Z");
        assert_eq!(g.values.len(), 2);
        // Windows line ends read the same.
        assert_eq!(parse(&SAMPLE.replace('\n', "\r\n")).unwrap(), g);
    }

    #[test]
    fn nested_groups_are_named_by_their_path() {
        let g = parse("GROUP = A\n GROUP = B\n  GROUP = C\n   K = 1\n  END_GROUP = C\n END_GROUP = B\nEND_GROUP = A\nEND\n").unwrap();
        assert_eq!(g.values["B/C"]["K"], "1");
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let cases = [
            (
                SAMPLE.replace(
                    "    PROCESSING_LEVEL = \"L1TP\"",
                    "    PROCESSING_LEVEL \"L1TP\"",
                ),
                "line 4: expected KEY = value",
            ),
            (
                SAMPLE.replace("\"L1TP\"", "\"L1TP"),
                "line 4: PROCESSING_LEVEL: unbalanced quotes",
            ),
            (
                SAMPLE.replace("= 02", "="),
                "line 5: COLLECTION_NUMBER: no value",
            ),
            (
                SAMPLE.replace("= 02", "= 0 2"),
                "line 5: COLLECTION_NUMBER: '0 2' must be quoted",
            ),
            (
                SAMPLE.replace("SUN_ELEVATION", "sun_elevation"),
                "line 8: 'sun_elevation' is not a key",
            ),
            (
                SAMPLE.replace(
                    "END_GROUP = IMAGE_ATTRIBUTES",
                    "END_GROUP = PRODUCT_CONTENTS",
                ),
                "line 11: END_GROUP = PRODUCT_CONTENTS closes group IMAGE_ATTRIBUTES",
            ),
            (format!("{SAMPLE}FOO = 1\n"), "line 14: text after END"),
            (
                SAMPLE.replace(
                    "    DATE_ACQUIRED = 2020-04-23\n",
                    "    SUN_ELEVATION = 1\n",
                ),
                "line 9: SUN_ELEVATION given twice",
            ),
            ("K = 1\nEND\n".to_string(), "line 1: K outside any GROUP"),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        let truncated: String = SAMPLE.lines().take(6).collect::<Vec<_>>().join("\n");
        assert_eq!(
            parse(&truncated).unwrap_err(),
            "group LANDSAT_METADATA_FILE is never closed (END_GROUP = LANDSAT_METADATA_FILE)"
        );
        let no_end = SAMPLE.replace("\nEND\n", "\n");
        assert!(parse(&no_end)
            .unwrap_err()
            .contains("does not end with END"));
    }
}

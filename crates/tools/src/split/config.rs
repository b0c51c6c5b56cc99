//! The split configuration: named splits with ratios and filters, stratification, minimums,
//! adjusted ratios for rare classes, caps, groups, k-fold and bagging, and the seed. Read from
//! JSON or from a TOML file; see docs/data-tools.md.

use super::table::{Sample, Table};
use cloudmask::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// At most this many splits (eligibility is a bit set).
pub const MAX_SPLITS: usize = 32;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Seeds every random choice: the same table and config give the same lists.
    #[serde(default)]
    pub seed: u64,
    pub splits: Vec<SplitSpec>,
    /// Split every class by the ratios (its stratum: a sample's rarest class). Default true.
    #[serde(default = "yes")]
    pub stratify: bool,
    /// Every split gets at least this many samples of every class (stratified only). Default 1.
    #[serde(default = "one")]
    pub min_per_class: usize,
    /// A sample holds a class when its count is at least this (count tables). Default 1.
    #[serde(default = "one_u64")]
    pub min_class_count: u64,
    /// Other ratios for classes with few samples.
    #[serde(default)]
    pub rare: Option<Rare>,
    /// Largest number of samples kept per class ("*" for every class not named).
    #[serde(default)]
    pub cap: BTreeMap<String, usize>,
    /// Keep each group in one split. Default: when the table has a group column.
    #[serde(default)]
    pub groups: Option<bool>,
    #[serde(default)]
    pub folds: Option<Folds>,
    #[serde(default)]
    pub bags: Option<Bags>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    pub name: String,
    /// Relative size; ratios are normalised by their sum (70/20/10 = 0.7/0.2/0.1).
    pub ratio: f64,
    #[serde(default)]
    pub filter: Filter,
}

/// Which samples a split accepts. Empty accepts everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only samples whose confidence is at least this (unknown confidence fails).
    #[serde(default)]
    pub min_confidence: Option<f64>,
    /// Only samples from these sources.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// No samples from these sources.
    #[serde(default)]
    pub exclude_sources: Vec<String>,
}

/// Classes with fewer than `below` samples are split by `ratios` instead.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rare {
    pub below: usize,
    pub ratios: RareRatios,
}

/// In split order, or by split name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RareRatios {
    List(Vec<f64>),
    Named(BTreeMap<String, f64>),
}

/// K-fold cross-validation: the samples of `split` cut into `k` folds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Folds {
    pub split: String,
    pub k: usize,
    /// Default: the top-level `min_per_class`.
    #[serde(default)]
    pub min_per_class: Option<usize>,
}

/// Bagging: `count` bootstrap samples (drawn with replacement, per class) of `split`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bags {
    pub split: String,
    pub count: usize,
    /// Size of each bag as a fraction of the split. Default 1.
    #[serde(default = "one_f64")]
    pub fraction: f64,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn one_u64() -> u64 {
    1
}
fn one_f64() -> f64 {
    1.0
}

impl Filter {
    pub fn accepts(&self, s: &Sample) -> bool {
        if let Some(min) = self.min_confidence {
            if !s.confidence.is_some_and(|c| c >= min) {
                return false;
            }
        }
        if let Some(sources) = &self.sources {
            if !sources.contains(&s.source) {
                return false;
            }
        }
        !self.exclude_sources.contains(&s.source)
    }

    pub fn is_empty(&self) -> bool {
        self.min_confidence.is_none() && self.sources.is_none() && self.exclude_sources.is_empty()
    }

    /// "confidence >= 0.9, source in [cvat]" for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.min_confidence {
            parts.push(format!("confidence >= {c}"));
        }
        if let Some(s) = &self.sources {
            parts.push(format!("source in [{}]", s.join(", ")));
        }
        if !self.exclude_sources.is_empty() {
            parts.push(format!(
                "source not in [{}]",
                self.exclude_sources.join(", ")
            ));
        }
        if parts.is_empty() {
            "no filter".into()
        } else {
            parts.join(", ")
        }
    }
}

impl SplitConfig {
    /// Reads a config file: TOML when it ends in `.toml`, JSON otherwise.
    pub fn read(path: &Path) -> Result<SplitConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("cannot read config {}: {e}", path.display())))?;
        let name = path.display().to_string();
        if path.extension().is_some_and(|e| e == "toml") {
            SplitConfig::from_toml(&text, &name)
        } else {
            SplitConfig::from_json(&text, &name)
        }
    }

    /// Reads JSON; a misspelt or mistyped field is named by its path (`splits[1]`, `cap.clear`).
    pub fn from_json(text: &str, name: &str) -> Result<SplitConfig> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: SplitConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().clone();
            match e.into_inner() {
                e if e.is_data() => invalid_field(name, &path, e),
                e => Error::invalid(format!("{name} is not valid JSON: {e}")),
            }
        })?;
        de.end()
            .map_err(|e| Error::invalid(format!("{name} is not valid JSON: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Reads TOML; errors name the line, and the field's path as for JSON.
    pub fn from_toml(text: &str, name: &str) -> Result<SplitConfig> {
        // "c.toml: line 7" where toml knows the place.
        let at = |e: &toml::de::Error| match e.span() {
            Some(s) => format!(
                "{name}: line {}",
                text.get(..s.start).unwrap_or(text).matches('\n').count() + 1
            ),
            None => name.to_string(),
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| Error::invalid(format!("{}: {}", at(&e), e.message())))?;
        let config: SplitConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().clone();
            let e = e.into_inner();
            invalid_field(&at(&e), &path, e.message())
        })?;
        config.check()?;
        Ok(config)
    }

    /// Checks what can be checked without the table.
    pub fn check(&self) -> Result<()> {
        let n = self.splits.len();
        if n == 0 {
            return Err(Error::invalid(
                "the config names no split: add splits with a name and a ratio",
            ));
        }
        if n > MAX_SPLITS {
            return Err(Error::invalid(format!(
                "the config names {n} splits; at most {MAX_SPLITS} are supported"
            )));
        }
        for (i, s) in self.splits.iter().enumerate() {
            let bad_name = s.name.is_empty()
                || s.name.starts_with('.')
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if bad_name {
                return Err(Error::invalid(format!(
                    "split name '{}' must be letters, digits, '-', '_' or '.' (it names a file) and not start with '.'",
                    s.name
                )));
            }
            if self.splits[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::invalid(format!("split '{}' is named twice", s.name)));
            }
            if !(s.ratio.is_finite() && s.ratio > 0.0) {
                return Err(Error::invalid(format!(
                    "split '{}': ratio {} must be a number above 0",
                    s.name, s.ratio
                )));
            }
            if let Some(c) = s.filter.min_confidence {
                if !c.is_finite() {
                    return Err(Error::invalid(format!(
                        "split '{}': min_confidence must be a number",
                        s.name
                    )));
                }
            }
        }
        check_sum(self.splits.iter().map(|s| s.ratio), "the split ratios")?;
        if let Some(rare) = &self.rare {
            if rare.below == 0 {
                return Err(Error::invalid(
                    "rare.below must be at least 1 (a number of samples)",
                ));
            }
            let ratios = self.rare_ratios_unchecked(rare)?;
            if let Some(r) = ratios.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
                return Err(Error::invalid(format!(
                    "rare.ratios: {r} must be a number above 0"
                )));
            }
            check_sum(ratios.into_iter(), "rare.ratios")?;
        }
        if let Some((class, _)) = self.cap.iter().find(|(_, &v)| v == 0) {
            return Err(Error::invalid(format!(
                "cap of class '{class}' is 0; a cap keeps at least 1 sample (leave the class out of the table to drop it)"
            )));
        }
        if self.min_class_count == 0 {
            return Err(Error::invalid("min_class_count must be at least 1"));
        }
        if let Some(f) = &self.folds {
            self.split_index(&f.split, "folds.split")?;
            if !(2..=MAX_SPLITS).contains(&f.k) {
                return Err(Error::invalid(format!(
                    "folds.k is {}; k-fold needs at least 2 folds and at most {MAX_SPLITS}",
                    f.k
                )));
            }
        }
        if let Some(b) = &self.bags {
            self.split_index(&b.split, "bags.split")?;
            if b.count == 0 {
                return Err(Error::invalid("bags.count must be at least 1"));
            }
            if !(b.fraction.is_finite() && b.fraction > 0.0 && b.fraction <= 1.0) {
                return Err(Error::invalid(format!(
                    "bags.fraction is {}; it must be above 0 and at most 1",
                    b.fraction
                )));
            }
        }
        Ok(())
    }

    /// Checks the config against a table: class names in caps, groups.
    pub fn check_table(&self, table: &Table) -> Result<()> {
        for class in self.cap.keys() {
            if class != "*" && !table.classes.contains(class) {
                return Err(Error::invalid(format!(
                    "cap names class '{class}', which the table does not have (its classes: {})",
                    table.classes.join(", ")
                )));
            }
        }
        if self.groups == Some(true) && !table.has_groups {
            return Err(Error::invalid(
                "groups = true but the table has no 'group' column",
            ));
        }
        Ok(())
    }

    pub fn split_index(&self, name: &str, field: &str) -> Result<usize> {
        self.splits
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{field} is '{name}', which is not a split (splits: {})",
                    self.split_names().join(", ")
                ))
            })
    }

    pub fn split_names(&self) -> Vec<String> {
        self.splits.iter().map(|s| s.name.clone()).collect()
    }

    /// The ratios, normalised to sum to 1.
    pub fn ratios(&self) -> Vec<f64> {
        normalise(self.splits.iter().map(|s| s.ratio).collect())
    }

    /// The rare-class ratios in split order, normalised; `None` without a `rare` section.
    pub fn rare_ratios(&self) -> Option<Vec<f64>> {
        let rare = self.rare.as_ref()?;
        self.rare_ratios_unchecked(rare).ok().map(normalise)
    }

    fn rare_ratios_unchecked(&self, rare: &Rare) -> Result<Vec<f64>> {
        let n = self.splits.len();
        match &rare.ratios {
            RareRatios::List(list) if list.len() == n => Ok(list.clone()),
            RareRatios::List(list) => Err(Error::invalid(format!(
                "rare.ratios has {} values but there are {n} splits ({}); give one per split, in order",
                list.len(),
                self.split_names().join(", ")
            ))),
            RareRatios::Named(map) => {
                if let Some(k) = map.keys().find(|k| !self.splits.iter().any(|s| &s.name == *k)) {
                    return Err(Error::invalid(format!(
                        "rare.ratios names '{k}', which is not a split (splits: {})",
                        self.split_names().join(", ")
                    )));
                }
                self.splits
                    .iter()
                    .map(|s| {
                        map.get(&s.name).copied().ok_or_else(|| {
                            Error::invalid(format!("rare.ratios lacks split '{}'", s.name))
                        })
                    })
                    .collect()
            }
        }
    }

    /// Whether splitting keeps groups together for this table.
    pub fn use_groups(&self, table: &Table) -> bool {
        self.groups.unwrap_or(table.has_groups) && table.has_groups
    }

    /// The cap of a class, if any.
    pub fn cap_of(&self, class: &str) -> Option<usize> {
        self.cap.get(class).or_else(|| self.cap.get("*")).copied()
    }
}

/// "{name}: {path}: {what}", or without the path when the whole config is wrong.
fn invalid_field(
    name: &str,
    path: &serde_path_to_error::Path,
    what: impl std::fmt::Display,
) -> Error {
    if path.iter().next().is_none() {
        Error::invalid(format!("{name}: {what}"))
    } else {
        Error::invalid(format!("{name}: {path}: {what}"))
    }
}

/// Ratios are normalised by their sum: a sum past f64's range (1e308 + 1e308) would make every
/// ratio 0 and every split empty.
fn check_sum(ratios: impl Iterator<Item = f64>, what: &str) -> Result<()> {
    let total: f64 = ratios.sum();
    if !total.is_finite() {
        return Err(Error::invalid(format!(
            "{what} add up to {total}; use smaller numbers (they are normalised: 70/20/10 is 0.7/0.2/0.1)"
        )));
    }
    Ok(())
}

fn normalise(v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    v.into_iter().map(|r| r / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
        "seed": 7,
        "splits": [
            {"name": "train", "ratio": 70},
            {"name": "val", "ratio": 20, "filter": {"min_confidence": 0.8}},
            {"name": "test", "ratio": 10, "filter": {"sources": ["cvat"]}}
        ],
        "rare": {"below": 100, "ratios": {"train": 40, "val": 30, "test": 30}},
        "cap": {"clear": 500},
        "folds": {"split": "train", "k": 5},
        "bags": {"split": "train", "count": 3}
    }"#;

    #[test]
    fn a_full_config_reads_with_defaults() {
        let c = SplitConfig::from_json(EXAMPLE, "c.json").unwrap();
        assert_eq!(c.seed, 7);
        assert!(c.stratify);
        assert_eq!(c.min_per_class, 1);
        let r = c.ratios();
        assert!((r[0] - 0.7).abs() < 1e-12 && (r[2] - 0.1).abs() < 1e-12);
        assert_eq!(c.rare_ratios().unwrap(), vec![0.4, 0.3, 0.3]);
        assert_eq!(c.cap_of("clear"), Some(500));
        assert_eq!(c.cap_of("cloud"), None);
        assert_eq!(c.bags.as_ref().unwrap().fraction, 1.0);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let base: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (serde_json::json!({"splits": []}), "no split"),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 0}]}),
                "ratio 0",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}, {"name": "a", "ratio": 1}]}),
                "named twice",
            ),
            (
                serde_json::json!({"splits": [{"name": "../x", "ratio": 1}]}),
                "names a file",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratoi": 1}]}),
                "splits[0].ratoi: unknown field `ratoi`",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"clear": 5, "groups": false}}),
                "cap.groups: invalid type: boolean",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "rare": {"below": 5, "ratios": [1, 2]}}),
                "2 values but there are 1 splits",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "folds": {"split": "b", "k": 3}}),
                "folds.split is 'b'",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "folds": {"split": "a", "k": 1}}),
                "at least 2 folds",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "bags": {"split": "a", "count": 2, "fraction": 1.5}}),
                "bags.fraction",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"x": 0}}),
                "cap of class 'x' is 0",
            ),
            // Fails the split_config fuzz target's check that ratios sum to 1: each ratio is
            // finite, their sum is not, and every normalised ratio was 0.
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1e308}, {"name": "b", "ratio": 1e308}]}),
                "the split ratios add up to inf; use smaller numbers",
            ),
            (
                serde_json::json!({"splits": [{"name": "a", "ratio": 1}, {"name": "b", "ratio": 1}], "rare": {"below": 5, "ratios": [1.7e308, 1.7e308]}}),
                "rare.ratios add up to inf",
            ),
        ];
        for (value, needle) in cases {
            let e = SplitConfig::from_json(&value.to_string(), "c.json").unwrap_err();
            assert_eq!(e.kind, cloudmask::error::ErrorKind::InvalidArgument);
            assert!(e.message.contains(needle), "{value}: {e} lacks {needle:?}");
        }
        assert!(SplitConfig::from_json(&base.to_string(), "c.json").is_ok());
        let e = SplitConfig::from_json("{", "c.json").unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn toml_configs_read_like_json_and_errors_name_the_line() {
        let text = r#"
# splits for the KappaMask set
seed = 7
splits = [
  { name = "train", ratio = 70 },
  { name = "val", ratio = 2e1, filter = { min_confidence = 0.8 } },
  { name = "test", ratio = 10, filter.sources = ["cvat"] },   # trailing comma and comments
]
[rare]
below = 1_00
ratios.train = 40
ratios.val = 30.0
ratios.test = 30
[cap]
clear = 500
[folds]
split = "train"
k = 5
[bags]
split = "train"
count = 3
"#;
        let json = SplitConfig::from_json(EXAMPLE, "c.json").unwrap();
        assert_eq!(SplitConfig::from_toml(text, "c.toml").unwrap(), json);
        for (text, needle) in [
            ("seed = 1\nseed = 2", "c.toml: line 2: duplicate key"),
            ("seed = hello", "c.toml: line 1: "),
            (
                "[[splits]]\nname = \"a\"\nratio = 1\nratoi = 2",
                "line 4: splits[0].ratoi: unknown field `ratoi`",
            ),
            (
                "[[splits]]\nname = \"a\"\nratio = 1\n[cap]\nclear = \"many\"",
                "line 5: cap.clear: invalid type: string \"many\"",
            ),
        ] {
            let e = SplitConfig::from_toml(text, "c.toml").unwrap_err();
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }
}

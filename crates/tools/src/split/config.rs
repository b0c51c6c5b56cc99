//! The split configuration: named splits with ratios and filters, stratification, minimums,
//! adjusted ratios for rare classes, caps, groups, k-fold and bagging, and the seed. Read from
//! JSON or from a TOML file; see docs/data-tools.md.
//!
//! One job per file: this file holds the configuration's types and what the splitter asks of
//! it (split names and indices, normalised ratios, caps, groups); `filter` decides which samples
//! a split accepts ([`Filter`]); `read` reads JSON or TOML with errors that name the field;
//! `check` refuses what cannot be split, before and against the table.

mod check;
mod filter;
mod read;
#[cfg(test)]
mod tests;

pub use filter::Filter;

use super::table::Table;
use cloudmask::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

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

impl SplitConfig {
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

fn normalise(v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    v.into_iter().map(|r| r / total).collect()
}

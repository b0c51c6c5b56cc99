//! Checking a configuration: what can be split at all (names, ratios, rare classes, caps,
//! folds, bags), and then whether it fits a table (class names in caps, a group column).

use super::super::table::Table;
use super::{SplitConfig, MAX_SPLITS};
use cloudmask::error::{Error, Result};

impl SplitConfig {
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

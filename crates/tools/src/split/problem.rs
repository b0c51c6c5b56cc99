//! What an allocator is given: the samples to place, the class (stratum) of each, which splits
//! accept each, and the per-class targets; and the words its error messages are made of.

use super::targets::ClassTargets;

/// One allocation: the main split, the folds of a split, ….
pub struct Problem<'a> {
    /// Split (or fold) names, in order.
    pub splits: Vec<String>,
    /// Each split's filter in words ("no filter" when it has none).
    pub filters: Vec<String>,
    /// Names of the strata (the table's classes, or one "all" when not stratifying).
    pub classes: Vec<String>,
    /// Table indices of the samples to place, ascending.
    pub samples: Vec<usize>,
    /// Stratum of every table row (only rows in `samples` are read).
    pub stratum: &'a [usize],
    /// Bit `s` set when split `s` accepts the row (only rows in `samples` are read).
    pub eligible: &'a [u64],
    /// Per stratum: its targets per split (all zero for a stratum without samples).
    pub targets: Vec<ClassTargets>,
    /// Samples per stratum among `samples`.
    pub counts: Vec<usize>,
    /// The minimum per class and split the targets were raised to.
    pub min: usize,
    /// Units that must stay together, when splitting by group.
    pub groups: Option<Vec<Group>>,
    pub seed: u64,
    /// Names the random stream, so each allocation draws independently.
    pub purpose: String,
    /// Whether the strata are classes (else one stratum of all samples, never named).
    pub stratified: bool,
}

/// Samples that must land in the same split (a scene, a location).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// Table indices, ascending.
    pub members: Vec<usize>,
}

impl Problem<'_> {
    pub fn n_splits(&self) -> usize {
        self.splits.len()
    }

    /// Each split's total target: the sum over classes.
    pub fn split_targets(&self) -> Vec<f64> {
        (0..self.n_splits())
            .map(|s| super::targets::snap(self.targets.iter().map(|t| t.targets[s]).sum::<f64>()))
            .collect()
    }

    /// "split 'test'" or "splits 'val' and 'test'" for the splits in `mask`.
    pub fn split_list(&self, mask: u64) -> String {
        let names: Vec<String> = (0..self.n_splits())
            .filter(|s| mask >> s & 1 == 1)
            .map(|s| format!("'{}'", self.splits[s]))
            .collect();
        match names.len() {
            1 => format!("split {}", names[0]),
            _ => {
                let (last, rest) = names.split_last().expect("at least two");
                format!("splits {} and {last}", rest.join(", "))
            }
        }
    }

    /// The filters of the splits in `mask`: "its filter (…)" or "their filters ('a': …; 'b': …)".
    pub fn filter_list(&self, mask: u64) -> String {
        let parts: Vec<usize> = (0..self.n_splits())
            .filter(|s| mask >> s & 1 == 1)
            .collect();
        if let [s] = parts[..] {
            return format!("its filter ({})", self.filters[s]);
        }
        let described: Vec<String> = parts
            .iter()
            .map(|&s| format!("'{}': {}", self.splits[s], self.filters[s]))
            .collect();
        format!("their filters ({})", described.join("; "))
    }

    /// " of class 'cloud'", or nothing when not stratified.
    pub fn of_class(&self, c: usize) -> String {
        if self.stratified {
            format!(" of class '{}'", self.classes[c])
        } else {
            String::new()
        }
    }

    /// "'cloud' samples", or "samples" when not stratified.
    pub fn class_samples(&self, c: usize) -> String {
        if self.stratified {
            format!("'{}' samples", self.classes[c])
        } else {
            "samples".into()
        }
    }

    /// Why class `c` needs what it needs in split `s`.
    pub fn why(&self, c: usize, s: usize) -> String {
        let t = &self.targets[c];
        if t.raised[s] {
            format!("min_per_class = {}", self.min)
        } else {
            let share = t.targets[s] / self.counts[c].max(1) as f64;
            let which = if t.rare { "rare-class ratio" } else { "ratio" };
            format!(
                "its {which} {:.1} % of {} samples",
                100.0 * share,
                self.counts[c]
            )
        }
    }
}

/// "1 sample", "3 samples".
pub fn samples(n: impl Into<i64>) -> String {
    let n = n.into();
    if n == 1 {
        "1 sample".into()
    } else {
        format!("{n} samples")
    }
}

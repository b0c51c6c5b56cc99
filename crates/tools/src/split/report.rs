//! The class distribution of every list (split, fold, bag): samples, targets, and per class the
//! samples whose stratum it is, the samples holding it and the summed counts (pixels).

use super::config::SplitConfig;
use super::prepare::DropReason;
use super::problem::Problem;
use super::table::Table;
use super::List;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub classes: Vec<String>,
    /// Rows in the table.
    pub total: usize,
    /// Rows in the main splits.
    pub placed: usize,
    pub stratified: bool,
    pub grouped: bool,
    /// Whether the table gave counts per class (pixels) rather than one label per sample.
    pub counts: bool,
    pub seed: u64,
    /// Dropped rows by reason: "filtered", "capped: <class>", "group rejected".
    pub dropped: BTreeMap<String, usize>,
    pub lists: Vec<ListReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListReport {
    pub name: String,
    /// "split", "fold" or "bag".
    pub kind: String,
    pub samples: usize,
    /// Samples the ratios ask for (splits and folds).
    pub target: Option<f64>,
    /// Distinct groups in the list, when splitting by group.
    pub groups: Option<usize>,
    pub classes: Vec<ClassReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    pub class: String,
    /// Samples whose stratum (rarest class) is this class.
    pub stratum: usize,
    /// What the ratios ask for of those (splits and folds, when stratified).
    pub stratum_target: Option<f64>,
    /// Samples holding the class at all.
    pub holding: usize,
    /// Sum of the class's counts (pixels, for count tables; samples for label tables).
    pub count: u64,
}

/// A list to report, its kind ("split", "fold", "bag") and its targets (total, per stratum).
pub type Reported<'a> = (&'a List, &'a str, Option<(f64, Vec<f64>)>);

/// The report of a whole assignment.
pub fn build(
    table: &Table,
    config: &SplitConfig,
    stratum: &[usize],
    grouped: bool,
    problem: &Problem,
    lists: &[Reported],
    dropped: &[(usize, DropReason)],
) -> Report {
    let lists = lists
        .iter()
        .map(|(l, kind, targets)| {
            let (target, stratum_targets) = match targets {
                Some((t, per)) => (Some(*t), config.stratify.then(|| per.clone())),
                None => (None, None),
            };
            list_report(
                table,
                stratum,
                config.stratify,
                grouped,
                config.min_class_count,
                ListInput {
                    name: &l.name,
                    kind,
                    rows: &l.indices,
                    target,
                    stratum_targets,
                },
            )
        })
        .collect();
    let mut counts = BTreeMap::new();
    for (_, why) in dropped {
        *counts.entry(why.key()).or_insert(0) += 1;
    }
    Report {
        classes: table.classes.clone(),
        total: table.len(),
        placed: problem.samples.len(),
        stratified: config.stratify,
        grouped,
        counts: table.has_counts,
        seed: config.seed,
        dropped: counts,
        lists,
    }
}

/// One list to report: its name, kind, rows, and targets (total, per stratum).
pub struct ListInput<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub rows: &'a [usize],
    pub target: Option<f64>,
    pub stratum_targets: Option<Vec<f64>>,
}

pub fn list_report(
    table: &Table,
    stratum: &[usize],
    stratified: bool,
    grouped: bool,
    min_class_count: u64,
    list: ListInput,
) -> ListReport {
    let classes = table
        .classes
        .iter()
        .enumerate()
        .map(|(c, name)| ClassReport {
            class: name.clone(),
            stratum: if stratified {
                list.rows.iter().filter(|&&i| stratum[i] == c).count()
            } else {
                0
            },
            stratum_target: list.stratum_targets.as_ref().map(|t| t[c]),
            holding: list
                .rows
                .iter()
                .filter(|&&i| table.samples[i].counts[c] >= min_class_count)
                .count(),
            count: list.rows.iter().map(|&i| table.samples[i].counts[c]).sum(),
        })
        .collect();
    let groups = grouped.then(|| {
        let mut names: Vec<&str> = list
            .rows
            .iter()
            .map(|&i| {
                let s = &table.samples[i];
                s.group.as_deref().unwrap_or(&s.id)
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    });
    ListReport {
        name: list.name.to_string(),
        kind: list.kind.to_string(),
        samples: list.rows.len(),
        target: list.target,
        groups,
        classes,
    }
}

impl Report {
    /// A plain-text table: one line per list, per class the samples holding it and its share
    /// of the list (of the list's summed counts for count tables, of its samples otherwise).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "per class: samples holding it ({})",
            if self.counts {
                "its share of the list's summed counts"
            } else {
                "its share of the list's samples"
            }
        );
        let mut header = format!("{:<16} {:>8} {:>9}", "list", "samples", "target");
        for c in &self.classes {
            header += &format!(" {:>16}", truncate(c, 16));
        }
        let _ = writeln!(out, "{header}");
        for l in &self.lists {
            let target = l.target.map(|t| format!("{t:.1}")).unwrap_or_default();
            let mut line = format!(
                "{:<16} {:>8} {:>9}",
                truncate(&l.name, 16),
                l.samples,
                target
            );
            let total: u64 = l.classes.iter().map(|c| c.count).sum();
            for c in &l.classes {
                let share = if self.counts {
                    100.0 * c.count as f64 / total.max(1) as f64
                } else {
                    100.0 * c.holding as f64 / l.samples.max(1) as f64
                };
                line += &format!(" {:>16}", format!("{} ({share:.1} %)", c.holding));
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = write!(
            out,
            "{} of {} samples placed{}{}",
            self.placed,
            self.total,
            if self.stratified { ", stratified" } else { "" },
            if self.grouped { ", by group" } else { "" }
        );
        for (why, n) in &self.dropped {
            let _ = write!(out, "; {n} dropped ({why})");
        }
        out.push('\n');
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

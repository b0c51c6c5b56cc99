//! The generic dataset splitter (`cloudmask split`): a table of samples in, one list of sample
//! indices per split out, with a report of the class distribution per split.
//!
//! It works on row indices only, so the samples can be tiles, patches, scenes or anything else.
//! What each constraint guarantees is stated in docs/data-tools.md and tested in tests/split/.
//!
//! filters (which splits accept each sample) → strata (each sample's rarest class) → caps →
//! groups → per-class targets (ratios, rare-class ratios, minimum per class) → allocation
//! (`stratify`: sample by sample, exact; `groups`: group by group) → folds and bags → report.
//!
//! - `table`: the sample table, read from CSV;
//! - `config`: the configuration (JSON or TOML);
//! - `prepare`: filters, strata, caps, groups;
//! - `targets`: per-class targets;
//! - `stratify` (with `flow`), `groups`: the two allocators;
//! - `resample`: k-fold and bagging;
//! - `report`, `output`: the report and the files.

pub mod config;
mod flow;
mod groups;
pub mod output;
mod prepare;
mod problem;
pub mod report;
mod resample;
mod stratify;
pub mod table;
mod targets;

pub use config::{Filter, SplitConfig, SplitSpec};
pub use prepare::DropReason;
pub use report::Report;
pub use table::{Sample, Table};

use cloudmask::error::{Error, Result};
use problem::Problem;
use targets::{targets_per_class, ClassTargets};

/// One output list: a split, a fold or a bag, as row indices of the table (ascending; bags
/// may repeat a row).
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub name: String,
    pub indices: Vec<usize>,
}

/// What `split` decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The configured splits, in config order: every placed row is in exactly one.
    pub splits: Vec<List>,
    /// `<split>.fold<i>`: the folds' rows partition their split.
    pub folds: Vec<List>,
    /// `<split>.bag<i>`: bootstrap samples of their split.
    pub bags: Vec<List>,
    /// Rows in no split, and why.
    pub dropped: Vec<(usize, DropReason)>,
    pub report: Report,
}

/// Splits the rows of `table` as `config` says.
pub fn split(table: &Table, config: &SplitConfig) -> Result<Assignment> {
    config.check()?;
    config.check_table(table)?;
    let mut dropped: Vec<(usize, DropReason)> = Vec::new();
    let eligible = prepare::eligibility(table, config);
    let accepted = accepted_rows(table, config, &eligible, &mut dropped)?;
    let class = prepare::rarest_classes(table, &accepted, config.min_class_count);
    let (kept, capped) = prepare::apply_caps(table, config, &accepted, &class);
    dropped.extend(
        capped
            .into_iter()
            .map(|(i, class)| (i, DropReason::Capped { class })),
    );
    let (stratum, classes) = if config.stratify {
        (class, table.classes.clone())
    } else {
        (vec![0; table.len()], vec!["all".to_string()])
    };
    let grouped = config.use_groups(table);
    let (samples, groups) = if grouped {
        let (samples, groups) = grouped_rows(table, &kept, &eligible, &mut dropped);
        (samples, Some(groups))
    } else {
        (kept, None)
    };
    if samples.is_empty() {
        return Err(Error::invalid(
            "no sample is left to split after the filters, caps and groups",
        ));
    }
    dropped.sort_by_key(|d| d.0);

    let min = if config.stratify {
        config.min_per_class
    } else {
        0
    };
    let mut counts = vec![0usize; classes.len()];
    for &i in &samples {
        counts[stratum[i]] += 1;
    }
    let problem = Problem {
        splits: config.split_names(),
        filters: config.splits.iter().map(|s| s.filter.describe()).collect(),
        targets: split_targets(config, &classes, &counts, min)?,
        classes,
        samples,
        stratum: &stratum,
        eligible: &eligible,
        counts,
        min,
        groups,
        seed: config.seed,
        purpose: "split".into(),
        stratified: config.stratify,
    };
    let splits = named(&problem.splits, allocate(&problem)?);
    let (folds, fold_problem_targets) = folds(config, &problem, &splits, table.len())?;
    let bags = bags(config, &problem, &splits)?;

    let mut lists: Vec<report::Reported> = splits
        .iter()
        .enumerate()
        .map(|(s, l)| (l, "split", Some(per_split(&problem, s))))
        .collect();
    lists.extend(
        folds
            .iter()
            .zip(fold_problem_targets)
            .map(|(l, t)| (l, "fold", Some(t))),
    );
    lists.extend(bags.iter().map(|l| (l, "bag", None)));
    let report = report::build(table, config, &stratum, grouped, &problem, &lists, &dropped);
    Ok(Assignment {
        splits,
        folds,
        bags,
        dropped,
        report,
    })
}

/// Rows some split's filter accepts; the others are dropped.
fn accepted_rows(
    table: &Table,
    config: &SplitConfig,
    eligible: &[u64],
    dropped: &mut Vec<(usize, DropReason)>,
) -> Result<Vec<usize>> {
    let (accepted, refused): (Vec<usize>, Vec<usize>) =
        (0..table.len()).partition(|&i| eligible[i] != 0);
    dropped.extend(refused.into_iter().map(|i| (i, DropReason::Filtered)));
    if accepted.is_empty() {
        let filters: Vec<String> = config
            .splits
            .iter()
            .map(|s| format!("'{}': {}", s.name, s.filter.describe()))
            .collect();
        return Err(Error::invalid(format!(
            "none of the {} samples passes any split's filter ({})",
            table.len(),
            filters.join("; ")
        )));
    }
    Ok(accepted)
}

/// The groups of `rows` some split accepts whole (a group goes only where every one of its
/// samples is accepted), and their rows; the rows of the others are dropped.
fn grouped_rows(
    table: &Table,
    rows: &[usize],
    eligible: &[u64],
    dropped: &mut Vec<(usize, DropReason)>,
) -> (Vec<usize>, Vec<problem::Group>) {
    let (groups, rejected): (Vec<problem::Group>, Vec<problem::Group>) =
        prepare::groups_of(table, rows)
            .into_iter()
            .partition(|g| mask_of(&g.members, eligible) != 0);
    for g in rejected {
        dropped.extend(g.members.iter().map(|&i| {
            (
                i,
                DropReason::GroupRejected {
                    group: g.name.clone(),
                },
            )
        }));
    }
    let mut samples: Vec<usize> = groups.iter().flat_map(|g| g.members.clone()).collect();
    samples.sort_unstable();
    (samples, groups)
}

/// Each stratum's targets per split, from its number of samples.
fn split_targets(
    config: &SplitConfig,
    classes: &[String],
    counts: &[usize],
    min: usize,
) -> Result<Vec<ClassTargets>> {
    let n_splits = config.splits.len();
    let ratios = config.ratios();
    let rare_ratios = config.rare_ratios();
    let rare = config
        .rare
        .as_ref()
        .zip(rare_ratios.as_deref())
        .map(|(r, ratios)| (r.below, ratios));
    targets_per_class(counts, &ratios, rare, min, |c, n| {
        Error::invalid(format!(
                    "class '{}' has {} but min_per_class = {min} needs at least {}, {min} in each of the splits {}: lower min_per_class, drop a split, or add samples",
                    classes[c],
                    problem::samples(n as i64),
                    min * n_splits,
                    config.split_names().join(", ")
                ))
    })
}

/// The folds of `folds.split`, and each fold's targets.
fn folds(
    config: &SplitConfig,
    problem: &Problem,
    splits: &[List],
    rows: usize,
) -> Result<(Vec<List>, Vec<Targets>)> {
    let Some(f) = &config.folds else {
        return Ok((Vec::new(), Vec::new()));
    };
    let of = &splits[config.split_index(&f.split, "folds.split")?];
    let all_folds = vec![(1u64 << f.k) - 1; rows];
    let min = if config.stratify {
        f.min_per_class.unwrap_or(config.min_per_class)
    } else {
        0
    };
    let fp = resample::fold_problem(problem, &of.name, &of.indices, f.k, min, &all_folds)?;
    let lists = named(&fp.splits, allocate(&fp)?);
    let targets = (0..f.k).map(|s| per_split(&fp, s)).collect();
    Ok((lists, targets))
}

/// The bags of `bags.split`.
fn bags(config: &SplitConfig, problem: &Problem, splits: &[List]) -> Result<Vec<List>> {
    let Some(b) = &config.bags else {
        return Ok(Vec::new());
    };
    let of = &splits[config.split_index(&b.split, "bags.split")?];
    let names: Vec<String> = (1..=b.count)
        .map(|i| format!("{}.bag{i}", of.name))
        .collect();
    let drawn = resample::bags(problem, &of.indices, b.count, b.fraction, &of.name);
    Ok(named(&names, drawn))
}

fn named(names: &[String], lists: Vec<Vec<usize>>) -> Vec<List> {
    names
        .iter()
        .zip(lists)
        .map(|(name, indices)| List {
            name: name.clone(),
            indices,
        })
        .collect()
}

fn allocate(p: &Problem) -> Result<Vec<Vec<usize>>> {
    if p.groups.is_some() {
        groups::allocate_groups(p)
    } else {
        stratify::allocate_samples(p)
    }
}

/// A list's total target and its target per stratum.
type Targets = (f64, Vec<f64>);

/// Split `s`'s total target and its target per stratum.
fn per_split(p: &Problem, s: usize) -> Targets {
    let per: Vec<f64> = p.targets.iter().map(|t| t.targets[s]).collect();
    (p.split_targets()[s], per)
}

/// The splits that accept every one of `rows`.
fn mask_of(rows: &[usize], eligible: &[u64]) -> u64 {
    rows.iter().fold(u64::MAX, |m, &i| m & eligible[i])
}

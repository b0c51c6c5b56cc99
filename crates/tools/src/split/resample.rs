//! K-fold cross-validation and bagging of one split's samples.
//!
//! Folds are an allocation like the main split (`k` equal ratios, the same stratification,
//! groups and minimum, no filters): every sample of the split is in exactly one fold. Bags are
//! bootstrap samples drawn with replacement, per class (per group when splitting by group).

use super::problem::{Group, Problem};
use super::targets::targets_per_class;
use crate::rng::Rng;
use cloudmask::error::{Error, Result};

/// The problem of cutting `samples` (one split's) into `k` folds named `<split>.fold<i>`.
pub fn fold_problem<'a>(
    base: &Problem<'a>,
    split: &str,
    samples: &[usize],
    k: usize,
    min: usize,
    all_folds: &'a [u64],
) -> Result<Problem<'a>> {
    let splits: Vec<String> = (1..=k).map(|i| format!("{split}.fold{i}")).collect();
    let ratios = vec![1.0 / k as f64; k];
    let mut counts = vec![0usize; base.classes.len()];
    for &i in samples {
        counts[base.stratum[i]] += 1;
    }
    let targets = targets_per_class(&counts, &ratios, None, min, |c, n| {
        Error::invalid(format!(
                    "class '{}' has {} in split '{split}' but {k} folds with min_per_class = {min} need at least {}: lower folds.min_per_class or folds.k",
                    base.classes[c],
                    super::problem::samples(n as i64),
                    min * k
                ))
    })?;
    let groups = base.groups.as_ref().map(|all| {
        all.iter()
            .filter(|g| samples.binary_search(&g.members[0]).is_ok())
            .cloned()
            .collect::<Vec<Group>>()
    });
    Ok(Problem {
        filters: vec!["no filter".into(); k],
        splits,
        classes: base.classes.clone(),
        samples: samples.to_vec(),
        stratum: base.stratum,
        eligible: all_folds,
        targets,
        counts,
        min,
        groups,
        seed: base.seed,
        purpose: format!("{split}/folds"),
        stratified: base.stratified,
    })
}

/// `count` bootstrap samples of `samples` (one split's), each `fraction` of its size, drawn
/// with replacement within each stratum (or, with groups, whole groups until the size is
/// reached). Indices ascending, repeats kept.
pub fn bags(
    base: &Problem,
    samples: &[usize],
    count: usize,
    fraction: f64,
    split: &str,
) -> Vec<Vec<usize>> {
    (0..count)
        .map(|b| {
            let mut rng = Rng::stream(base.seed, &format!("{split}/bags"), b as u64);
            let mut bag = match &base.groups {
                Some(all) => {
                    let groups: Vec<&Group> = all
                        .iter()
                        .filter(|g| samples.binary_search(&g.members[0]).is_ok())
                        .collect();
                    let want = ((fraction * samples.len() as f64).round() as usize).max(1);
                    let mut bag = Vec::new();
                    while bag.len() < want && !groups.is_empty() {
                        bag.extend_from_slice(&groups[rng.below(groups.len())].members);
                    }
                    bag
                }
                None => {
                    let mut by_class = vec![Vec::new(); base.classes.len()];
                    for &i in samples {
                        by_class[base.stratum[i]].push(i);
                    }
                    let mut bag = Vec::new();
                    for members in by_class.iter().filter(|m| !m.is_empty()) {
                        let want = ((fraction * members.len() as f64).round() as usize).max(1);
                        bag.extend((0..want).map(|_| members[rng.below(members.len())]));
                    }
                    bag
                }
            };
            bag.sort_unstable();
            bag
        })
        .collect()
}

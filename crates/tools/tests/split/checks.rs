//! Every property the documentation promises, checked on one successful case: one function per
//! property, over what the case and its assignment give.

use crate::cases::Case;
use crate::rules::{accepted, rarest, targets, within_one};
use cloudmask_tools::split::Assignment;
use std::collections::{BTreeMap, BTreeSet};

/// A case, its assignment, and what several checks derive from them.
struct Outcome<'a> {
    case: &'a Case,
    a: &'a Assignment,
    /// The config, for assertion messages.
    ctx: String,
    /// Each row's class (the rule of `rules::rarest`).
    class: Vec<usize>,
    /// The rows placed in some split.
    placed: Vec<usize>,
    /// The number of classes.
    k: usize,
    /// The placed rows by class.
    totals: Vec<usize>,
}

impl Outcome<'_> {
    /// Counts of each split's rows by class.
    fn per(&self, rows: &[usize]) -> Vec<usize> {
        let mut v = vec![0; self.k];
        for &i in rows {
            v[self.class[i]] += 1;
        }
        v
    }
}

/// Every property the documentation promises, for one successful case.
pub fn check(case: &Case, a: &Assignment) {
    let t = &case.table;
    let placed: Vec<usize> = a.splits.iter().flat_map(|l| l.indices.clone()).collect();
    let mut o = Outcome {
        case,
        a,
        ctx: format!("{:?}", case.config),
        class: rarest(case),
        placed,
        k: t.classes.len(),
        totals: Vec::new(),
    };
    o.totals = o.per(&o.placed);
    partition(&o);
    filters(&o);
    groups(&o);
    caps(&o);
    minimum(&o);
    ratios(&o);
    grouped_ratios(&o);
    folds(&o);
    bags(&o);
}

/// Every row is in exactly one split or dropped, and each list is sorted.
fn partition(o: &Outcome) {
    let (a, t, ctx) = (o.a, &o.case.table, &o.ctx);
    let mut seen = vec![0usize; t.len()];
    for l in &a.splits {
        for &i in &l.indices {
            seen[i] += 1;
        }
        assert!(l.indices.windows(2).all(|w| w[0] < w[1]), "{ctx}");
    }
    for (i, _) in &a.dropped {
        seen[*i] += 1;
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "rows placed {seen:?} times: {ctx}"
    );
}

/// Every row is in a split whose filter accepts it.
fn filters(o: &Outcome) {
    let (case, a, t, ctx) = (o.case, o.a, &o.case.table, &o.ctx);
    for (s, l) in a.splits.iter().enumerate() {
        for &i in &l.indices {
            assert!(
                case.filters[s].accepts(&t.samples[i]),
                "row {i} in {}: {ctx}",
                l.name
            );
        }
    }
}

/// Groups: no group in two splits.
fn groups(o: &Outcome) {
    let (case, a, t, ctx) = (o.case, o.a, &o.case.table, &o.ctx);
    if case.grouped {
        let mut home: BTreeMap<&str, usize> = BTreeMap::new();
        for (s, l) in a.splits.iter().enumerate() {
            for &i in &l.indices {
                if let Some(g) = &t.samples[i].group {
                    let h = *home.entry(g).or_insert(s);
                    assert_eq!(h, s, "group {g} in splits {h} and {s}: {ctx}");
                }
            }
        }
    }
}

/// Caps: at most the cap per class placed, and exactly the excess dropped for it.
fn caps(o: &Outcome) {
    let (case, a, t, ctx) = (o.case, o.a, &o.case.table, &o.ctx);
    let class = &o.class;
    for (name, &cap) in &case.caps {
        let c = t.classes.iter().position(|x| x == name).unwrap();
        let placed: usize = a
            .splits
            .iter()
            .flat_map(|l| &l.indices)
            .filter(|&&i| class[i] == c)
            .count();
        assert!(
            placed <= cap,
            "{placed} of class {name} over cap {cap}: {ctx}"
        );
        let eligible = accepted(case).iter().filter(|&&i| class[i] == c).count();
        let capped = a
            .dropped
            .iter()
            .filter(|(_, why)| why.to_string().contains("cap"))
            .count();
        assert_eq!(capped, eligible.saturating_sub(cap), "{ctx}");
    }
}

/// Stratified: every split holds at least the minimum of each class placed.
fn minimum(o: &Outcome) {
    let (case, a, ctx) = (o.case, o.a, &o.ctx);
    let per = |rows: &[usize]| o.per(rows);
    let (k, totals) = (o.k, &o.totals);
    if case.stratify {
        for l in &a.splits {
            let counts = per(&l.indices);
            for c in (0..k).filter(|&c| totals[c] > 0) {
                assert!(
                    counts[c] >= case.min,
                    "{} has {} of class {c}, min {}: {ctx}",
                    l.name,
                    counts[c],
                    case.min
                );
            }
        }
    }
}

/// Ratios, without groups: each split within one sample of its target, and (stratified)
/// each class of each split within one sample of its target.
fn ratios(o: &Outcome) {
    let (case, a, ctx) = (o.case, o.a, &o.ctx);
    let per = |rows: &[usize]| o.per(rows);
    let (k, totals, placed) = (o.k, &o.totals, &o.placed);
    if !case.grouped {
        let strata: Vec<(Vec<usize>, Vec<f64>)> = if case.stratify {
            (0..k)
                .filter(|&c| totals[c] > 0)
                .map(|c| {
                    let counts = a.splits.iter().map(|l| per(&l.indices)[c]).collect();
                    (counts, targets(case, totals[c]))
                })
                .collect()
        } else {
            let counts = a.splits.iter().map(|l| l.indices.len()).collect();
            vec![(counts, targets(case, placed.len()))]
        };
        for s in 0..a.splits.len() {
            let target: f64 = strata.iter().map(|(_, t)| t[s]).sum();
            assert!(
                within_one(a.splits[s].indices.len(), target),
                "split {s}: {} samples, target {target}: {ctx}",
                a.splits[s].indices.len()
            );
            for (counts, t) in &strata {
                assert!(
                    within_one(counts[s], t[s]),
                    "split {s}: {counts:?} vs {t:?}: {ctx}"
                );
            }
            if case.stratify && case.min == 0 && case.rare.is_none() {
                // Then the targets are plainly the ratios of the whole.
                let share = case.ratios[s] / case.ratios.iter().sum::<f64>();
                assert!(within_one(
                    a.splits[s].indices.len(),
                    share * placed.len() as f64
                ));
            }
        }
    }
}

/// Ratios, with groups: each split within two of the largest group of its target.
fn grouped_ratios(o: &Outcome) {
    let (case, a, t, ctx) = (o.case, o.a, &o.case.table, &o.ctx);
    let (k, totals, placed) = (o.k, &o.totals, &o.placed);
    if case.grouped {
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        for &i in placed {
            let sample = &t.samples[i];
            *sizes
                .entry(
                    sample
                        .group
                        .clone()
                        .unwrap_or_else(|| format!("#{}", sample.id)),
                )
                .or_default() += 1;
        }
        let largest = sizes.values().copied().max().unwrap_or(1) as f64;
        let classes: Vec<usize> = if case.stratify {
            (0..k)
                .filter(|&c| totals[c] > 0)
                .map(|c| totals[c])
                .collect()
        } else {
            vec![placed.len()]
        };
        for (s, l) in a.splits.iter().enumerate() {
            let target: f64 = classes.iter().map(|&n| targets(case, n)[s]).sum();
            assert!(
                (l.indices.len() as f64 - target).abs() <= 2.0 * largest,
                "{}: {} samples, target {target}, largest group {largest}: {ctx}",
                l.name,
                l.indices.len()
            );
        }
    }
}

/// Folds partition their split, near equal in size; with groups, no group in two folds.
fn folds(o: &Outcome) {
    let (case, a, t, ctx) = (o.case, o.a, &o.case.table, &o.ctx);
    let per = |rows: &[usize]| o.per(rows);
    if let Some(f) = &case.config.folds {
        let of = &a.splits[case.config.split_index(&f.split, "").unwrap()];
        let mut all: Vec<usize> = a.folds.iter().flat_map(|l| l.indices.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, of.indices, "folds do not partition {}: {ctx}", of.name);
        assert_eq!(a.folds.len(), f.k);
        if !case.grouped {
            for l in &a.folds {
                let target = of.indices.len() as f64 / f.k as f64;
                // Per class within one, so the fold within one per class holding samples.
                let classes_present = per(&of.indices).iter().filter(|&&n| n > 0).count().max(1);
                assert!(
                    (l.indices.len() as f64 - target).abs() <= classes_present as f64,
                    "{}: {} vs {target}: {ctx}",
                    l.name,
                    l.indices.len()
                );
            }
        }
        if case.grouped {
            for l in &a.folds {
                for other in a.folds.iter().filter(|o| o.name != l.name) {
                    let groups = |l: &cloudmask_tools::split::List| -> BTreeSet<String> {
                        l.indices
                            .iter()
                            .filter_map(|&i| t.samples[i].group.clone())
                            .collect()
                    };
                    assert!(groups(l).is_disjoint(&groups(other)), "{ctx}");
                }
            }
        }
    }
}

/// Bags are drawn from their split.
fn bags(o: &Outcome) {
    let (case, a, ctx) = (o.case, o.a, &o.ctx);
    let per = |rows: &[usize]| o.per(rows);
    if let Some(b) = &case.config.bags {
        let of = &a.splits[case.config.split_index(&b.split, "").unwrap()];
        assert_eq!(a.bags.len(), b.count);
        for bag in &a.bags {
            assert!(
                bag.indices
                    .iter()
                    .all(|i| of.indices.binary_search(i).is_ok()),
                "{ctx}"
            );
            if !case.grouped {
                let by_class = per(&of.indices);
                let want: usize = by_class
                    .iter()
                    .filter(|&&n| n > 0)
                    .map(|&n| ((b.fraction * n as f64).round() as usize).max(1))
                    .sum();
                if case.stratify {
                    assert_eq!(bag.indices.len(), want, "{ctx}");
                }
            } else {
                let want = (b.fraction * of.indices.len() as f64).round() as usize;
                assert!(bag.indices.len() >= want.max(1), "{ctx}");
            }
        }
    }
}

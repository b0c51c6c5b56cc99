//! The property tests: every promise of the documentation checked on random tables and
//! configs, and the seed deciding where samples go.

use crate::cases::{random_case, Case, FilterSpec};
use crate::rules::{accepted, rarest, targets, within_one};
use cloudmask::ErrorKind;
use cloudmask_tools::split::{split, Assignment};
use std::collections::{BTreeMap, BTreeSet};

const CASES: u64 = 200;

/// Every property the documentation promises, for one successful case.
fn check(case: &Case, a: &Assignment) {
    let t = &case.table;
    let ctx = format!("{:?}", case.config);
    let class = rarest(case);

    // Every row is in exactly one split or dropped.
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

    // Filters.
    for (s, l) in a.splits.iter().enumerate() {
        for &i in &l.indices {
            assert!(
                case.filters[s].accepts(&t.samples[i]),
                "row {i} in {}: {ctx}",
                l.name
            );
        }
    }

    // Groups: no group in two splits.
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

    // Caps: at most the cap per class placed, and exactly the excess dropped for it.
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

    // Per class: counts of each split's rows by class.
    let placed: Vec<usize> = a.splits.iter().flat_map(|l| l.indices.clone()).collect();
    let k = t.classes.len();
    let per = |rows: &[usize]| -> Vec<usize> {
        let mut v = vec![0; k];
        for &i in rows {
            v[class[i]] += 1;
        }
        v
    };
    let totals = per(&placed);
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

    // Ratios, without groups: each split within one sample of its target, and (stratified)
    // each class of each split within one sample of its target.
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

    // Ratios, with groups: each split within two of the largest group of its target.
    if case.grouped {
        let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
        for &i in &placed {
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

    // Folds partition their split; bags are drawn from theirs.
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

#[test]
fn every_constraint_holds_on_random_tables_and_configs() {
    let (mut ok, mut refused) = (0, 0);
    for seed in 0..CASES {
        let case = random_case(seed);
        match split(&case.table, &case.config) {
            Ok(a) => {
                check(&case, &a);
                // Same seed, same lists.
                assert_eq!(split(&case.table, &case.config).unwrap(), a, "seed {seed}");
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
                let names_something = case
                    .config
                    .splits
                    .iter()
                    .any(|s| e.message.contains(&format!("'{}'", s.name)))
                    || case
                        .table
                        .classes
                        .iter()
                        .any(|c| e.message.contains(&format!("'{c}'")));
                assert!(names_something, "the error names no split or class: {e}");
                // Without filters and groups only the minimum per class can be impossible.
                if case.filters.iter().all(FilterSpec::is_empty) && !case.grouped {
                    assert!(e.message.contains("min_per_class"), "seed {seed}: {e}");
                }
                eprintln!("seed {seed}: refused: {e}");
                refused += 1;
            }
        }
    }
    eprintln!("{ok} cases split, {refused} refused with a reason");
    assert!(
        ok >= CASES * 2 / 3,
        "only {ok} of {CASES} cases could be split"
    );
}

#[test]
fn the_seed_decides_which_samples_go_where() {
    let mut differ = 0;
    for seed in 0..20 {
        let mut case = random_case(seed);
        let Ok(a) = split(&case.table, &case.config) else {
            continue;
        };
        case.config.seed += 1;
        let Ok(b) = split(&case.table, &case.config) else {
            continue;
        };
        // Same sizes (the sizes do not depend on the seed without groups), other members.
        if !case.grouped {
            let sizes =
                |x: &Assignment| x.splits.iter().map(|l| l.indices.len()).collect::<Vec<_>>();
            assert_eq!(sizes(&a), sizes(&b));
        }
        if a.splits != b.splits {
            differ += 1;
        }
    }
    assert!(
        differ >= 10,
        "another seed changed the lists in only {differ} of 20 cases"
    );
}

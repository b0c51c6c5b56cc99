//! `cloudmask split`: every constraint of the config holds on randomised tables and configs
//! (seeded property tests, checked against independent re-implementations of the rules), and
//! the command writes what it says.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::output_text as text;

use cloudmask::ErrorKind;
use cloudmask_tools::rng::Rng;
use cloudmask_tools::split::{split, Assignment, Sample, SplitConfig, Table};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

const CASES: u64 = 200;

// ---------------------------------------------------------------------------------------------
// Random tables and configs, and what the test itself knows about them.

const SOURCES: [&str; 3] = ["cvat", "auto", "legacy"];

#[derive(Debug, Clone)]
struct FilterSpec {
    min_confidence: Option<f64>,
    sources: Option<Vec<String>>,
    exclude: Vec<String>,
}

impl FilterSpec {
    fn none() -> FilterSpec {
        FilterSpec {
            min_confidence: None,
            sources: None,
            exclude: Vec::new(),
        }
    }

    /// The rule as the documentation states it, written independently of the library.
    fn accepts(&self, s: &Sample) -> bool {
        let conf_ok = match (self.min_confidence, s.confidence) {
            (Some(min), Some(c)) => c >= min,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let source_ok = self
            .sources
            .as_ref()
            .map_or(true, |list| list.contains(&s.source));
        conf_ok && source_ok && !self.exclude.contains(&s.source)
    }

    fn is_empty(&self) -> bool {
        self.min_confidence.is_none() && self.sources.is_none() && self.exclude.is_empty()
    }

    fn to_json(&self) -> Value {
        let mut f = serde_json::Map::new();
        if let Some(c) = self.min_confidence {
            f.insert("min_confidence".into(), json!(c));
        }
        if let Some(s) = &self.sources {
            f.insert("sources".into(), json!(s));
        }
        if !self.exclude.is_empty() {
            f.insert("exclude_sources".into(), json!(self.exclude));
        }
        Value::Object(f)
    }
}

#[derive(Debug, Clone)]
struct Case {
    table: Table,
    config: SplitConfig,
    filters: Vec<FilterSpec>,
    ratios: Vec<f64>,
    rare: Option<(usize, Vec<f64>)>,
    caps: BTreeMap<String, usize>,
    min: usize,
    min_class_count: u64,
    stratify: bool,
    grouped: bool,
}

fn random_table(r: &mut Rng, counts: bool, grouped: bool) -> Table {
    let k = 1 + r.below(5);
    let classes: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
    // Skewed class frequencies, so some classes are rare.
    let weights: Vec<f64> = (0..k)
        .map(|c| 1.0 / (1 + c * c * (1 + r.below(4))) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    let n = 5 + r.below(400);
    let mut samples = Vec::with_capacity(n);
    let mut group = 0;
    let mut left_in_group = 0;
    for i in 0..n {
        if left_in_group == 0 {
            group += 1;
            left_in_group = 1 + r.below(6);
        }
        left_in_group -= 1;
        let mut pick = r.unit() * total;
        let mut label = k - 1;
        for (c, w) in weights.iter().enumerate() {
            if pick < *w {
                label = c;
                break;
            }
            pick -= w;
        }
        let mut row = vec![0u64; k];
        if counts {
            row[label] = 1 + r.below(500) as u64;
            for v in row.iter_mut() {
                if r.below(3) == 0 {
                    *v += r.below(50) as u64;
                }
            }
        } else {
            row[label] = 1;
        }
        let source = SOURCES[r.below(3)].to_string();
        let confidence = (r.below(10) != 0).then(|| (r.unit() * 100.0).round() / 100.0);
        samples.push(Sample {
            id: format!("s{i}"),
            counts: row,
            source,
            confidence,
            group: (grouped && r.below(8) != 0).then(|| format!("g{group}")),
        });
    }
    Table::new(classes, samples, counts).unwrap()
}

fn random_case(seed: u64) -> Case {
    let mut r = Rng::stream(seed, "test-case", 0);
    let counts = r.below(3) == 0;
    let grouped = r.below(3) == 0;
    let table = random_table(&mut r, counts, grouped);
    let n_splits = 1 + r.below(4);
    let ratios: Vec<f64> = (0..n_splits).map(|_| (1 + r.below(10)) as f64).collect();
    let filtered = r.below(3) == 0;
    let filters: Vec<FilterSpec> = (0..n_splits)
        .map(|s| {
            let mut f = FilterSpec::none();
            if filtered && s > 0 {
                match r.below(4) {
                    0 => f.min_confidence = Some((r.below(5) as f64) / 10.0),
                    1 => f.sources = Some(vec!["cvat".into(), "auto".into()]),
                    2 => f.exclude = vec!["legacy".into()],
                    _ => {}
                }
            }
            f
        })
        .collect();
    let stratify = r.below(6) != 0;
    let min = r.below(3);
    let min_class_count = if counts { 1 + r.below(20) as u64 } else { 1 };
    let rare = (r.below(2) == 0).then(|| {
        (
            1 + r.below(150),
            (0..n_splits)
                .map(|_| (1 + r.below(5)) as f64)
                .collect::<Vec<f64>>(),
        )
    });
    let mut caps = BTreeMap::new();
    if r.below(3) == 0 {
        caps.insert(table.classes[0].clone(), 5 + r.below(100));
    }
    let mut config = json!({
        "seed": r.next_u64() % 1000,
        "splits": (0..n_splits).map(|s| json!({
            "name": format!("s{s}"),
            "ratio": ratios[s],
            "filter": filters[s].to_json(),
        })).collect::<Vec<_>>(),
        "stratify": stratify,
        "min_per_class": min,
        "min_class_count": min_class_count,
        "cap": caps,
        "groups": grouped,
    });
    if let Some((below, rr)) = &rare {
        config["rare"] = json!({"below": below, "ratios": rr});
    }
    if r.below(3) == 0 {
        config["folds"] = json!({"split": "s0", "k": 2 + r.below(3), "min_per_class": r.below(2)});
    }
    if r.below(3) == 0 {
        config["bags"] =
            json!({"split": "s0", "count": 1 + r.below(3), "fraction": 0.5 + r.unit() / 2.0});
    }
    let config = SplitConfig::from_json(&config.to_string(), "case").unwrap();
    Case {
        table,
        config,
        filters,
        ratios,
        rare,
        caps,
        min,
        min_class_count,
        stratify,
        grouped,
    }
}

// ---------------------------------------------------------------------------------------------
// Independent statements of the rules (docs/data-tools.md).

/// Rows some split accepts.
fn accepted(case: &Case) -> Vec<usize> {
    (0..case.table.len())
        .filter(|&i| {
            case.filters
                .iter()
                .any(|f| f.accepts(&case.table.samples[i]))
        })
        .collect()
}

/// A row's class: the rarest class it holds among accepted rows, else its largest count.
fn rarest(case: &Case) -> Vec<usize> {
    let t = &case.table;
    let rows = accepted(case);
    let holds = |i: usize, c: usize| t.samples[i].counts[c] >= case.min_class_count;
    let holders: Vec<usize> = (0..t.classes.len())
        .map(|c| rows.iter().filter(|&&i| holds(i, c)).count())
        .collect();
    (0..t.len())
        .map(|i| {
            let held: Vec<usize> = (0..t.classes.len()).filter(|&c| holds(i, c)).collect();
            if held.is_empty() {
                let counts = &t.samples[i].counts;
                let max = *counts.iter().max().unwrap();
                counts.iter().position(|&v| v == max).unwrap()
            } else {
                *held.iter().min_by_key(|&&c| (holders[c], c)).unwrap()
            }
        })
        .collect()
}

/// Targets of a class of `n` samples: its ratios (rare ones below the threshold) times n, the
/// splits under the minimum raised to it and the rest shared by ratio.
fn targets(case: &Case, n: usize) -> Vec<f64> {
    let ratios = match &case.rare {
        Some((below, rr)) if n < *below => rr.clone(),
        _ => case.ratios.clone(),
    };
    let min = if case.stratify { case.min } else { 0 } as f64;
    let mut fixed = vec![false; ratios.len()];
    loop {
        let free_n = n as f64 - min * fixed.iter().filter(|&&f| f).count() as f64;
        let free_r: f64 = (0..ratios.len())
            .filter(|&s| !fixed[s])
            .map(|s| ratios[s])
            .sum();
        let t: Vec<f64> = (0..ratios.len())
            .map(|s| {
                if fixed[s] {
                    min
                } else {
                    free_n * ratios[s] / free_r
                }
            })
            .collect();
        let low: Vec<usize> = (0..ratios.len())
            .filter(|&s| !fixed[s] && t[s] < min - 1e-9)
            .collect();
        if low.is_empty() {
            return t;
        }
        for s in low {
            fixed[s] = true;
        }
    }
}

fn within_one(count: usize, target: f64) -> bool {
    (count as f64 - target).abs() < 1.0 + 1e-6
}

// ---------------------------------------------------------------------------------------------
// The checks.

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

// ---------------------------------------------------------------------------------------------
// Constraints that cannot be met, named.

fn labelled(rows: &[(&str, &str, &str, f64)]) -> Table {
    let mut text = String::from("id,class,source,confidence\n");
    for (id, class, source, conf) in rows {
        text += &format!("{id},{class},{source},{conf}\n");
    }
    Table::from_csv(&text, "t.csv").unwrap()
}

fn many(
    n: usize,
    class: &str,
    source: &str,
    conf: f64,
    prefix: &str,
) -> Vec<(String, String, String, f64)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                class.to_string(),
                source.to_string(),
                conf,
            )
        })
        .collect()
}

fn table_of(rows: Vec<(String, String, String, f64)>) -> Table {
    let refs: Vec<(&str, &str, &str, f64)> = rows
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), *d))
        .collect();
    labelled(&refs)
}

#[track_caller]
fn refused(table: &Table, config: Value, needles: &[&str]) {
    let config = SplitConfig::from_json(&config.to_string(), "c.json").unwrap();
    let e = split(table, &config).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    for n in needles {
        assert!(e.message.contains(n), "{e}\nlacks {n:?}");
    }
}

#[test]
fn impossible_constraints_say_which_one() {
    // 2 shadow samples cannot give 1 to each of 3 splits.
    let mut rows = many(30, "clear", "cvat", 0.9, "a");
    rows.extend(many(2, "shadow", "cvat", 0.9, "b"));
    let t = table_of(rows);
    let three = json!([{"name": "train", "ratio": 8}, {"name": "val", "ratio": 1}, {"name": "test", "ratio": 1}]);
    refused(
        &t,
        json!({"splits": three}),
        &[
            "class 'shadow' has 2 samples",
            "min_per_class = 1",
            "needs at least 3",
        ],
    );

    // Test takes only cvat samples: 10 % of 100 clear is 10 but only 4 are from cvat.
    let mut rows = many(96, "clear", "auto", 0.9, "a");
    rows.extend(many(4, "clear", "cvat", 0.9, "c"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [{"name": "train", "ratio": 9}, {"name": "test", "ratio": 1, "filter": {"sources": ["cvat"]}}]}),
        &[
            "split 'test' needs at least 10 samples of class 'clear'",
            "only 4",
            "source in [cvat]",
        ],
    );

    // Val and test both need confident samples, each enough alone but not together.
    let mut rows = many(14, "cloud", "auto", 0.2, "a");
    rows.extend(many(6, "cloud", "auto", 0.95, "b"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [
            {"name": "train", "ratio": 4},
            {"name": "val", "ratio": 3, "filter": {"min_confidence": 0.9}},
            {"name": "test", "ratio": 3, "filter": {"min_confidence": 0.9}}
        ]}),
        &[
            "splits 'val' and 'test' need at least 12 samples of class 'cloud' together",
            "only 6",
        ],
    );

    // Train refuses legacy samples: the others cannot hold train's share.
    let mut rows = many(10, "clear", "auto", 0.9, "a");
    rows.extend(many(10, "clear", "legacy", 0.9, "b"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [
            {"name": "train", "ratio": 9, "filter": {"exclude_sources": ["legacy"]}},
            {"name": "test", "ratio": 1}
        ]}),
        &[
            "split 'train' needs at least 18 samples of class 'clear'",
            "only 10",
            "source not in [legacy]",
        ],
    );

    // 5 samples, a third each: 'a' may take 1 or 2, but 3 are accepted by 'a' alone.
    let mut rows = many(3, "clear", "legacy", 0.9, "a");
    rows.extend(many(2, "clear", "auto", 0.9, "b"));
    let t = table_of(rows);
    let no_legacy = json!({"exclude_sources": ["legacy"]});
    refused(
        &t,
        json!({"splits": [
            {"name": "a", "ratio": 1},
            {"name": "b", "ratio": 1, "filter": no_legacy},
            {"name": "c", "ratio": 1, "filter": no_legacy}
        ]}),
        &["3 samples of class 'clear' are accepted only by split 'a', which can take at most 2"],
    );

    // Nothing passes any filter.
    let t = table_of(many(5, "clear", "auto", 0.1, "a"));
    refused(
        &t,
        json!({"splits": [{"name": "only", "ratio": 1, "filter": {"min_confidence": 0.5}}]}),
        &[
            "none of the 5 samples passes any split's filter",
            "'only': confidence >= 0.5",
        ],
    );

    // Caps and group switches that name what the table lacks.
    refused(
        &t,
        json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"cluod": 3}}),
        &["'cluod'", "clear"],
    );
    refused(
        &t,
        json!({"splits": [{"name": "a", "ratio": 1}], "groups": true}),
        &["no 'group' column"],
    );
}

#[test]
fn groups_that_cannot_meet_the_minimum_are_named() {
    // Every shadow sample lives in scene g1; g1 can go to one split only.
    let text = "id,class,group\na,shadow,g1\nb,shadow,g1\nc,clear,g2\nd,clear,g3\ne,clear,g4\n";
    let t = Table::from_csv(text, "t.csv").unwrap();
    refused(
        &t,
        json!({"splits": [{"name": "train", "ratio": 1}, {"name": "test", "ratio": 1}]}),
        &[
            "split 'test' needs at least 1 sample of class 'shadow'",
            "'g1' in 'train'",
        ],
    );
    // Without the minimum, g1 stays whole.
    let config = SplitConfig::from_json(
        &json!({"splits": [{"name": "train", "ratio": 1}, {"name": "test", "ratio": 1}], "min_per_class": 0}).to_string(),
        "c",
    )
    .unwrap();
    let a = split(&t, &config).unwrap();
    let home: Vec<bool> = a.splits.iter().map(|l| l.indices.contains(&0)).collect();
    assert_eq!(
        home,
        a.splits
            .iter()
            .map(|l| l.indices.contains(&1))
            .collect::<Vec<_>>()
    );
}

#[test]
fn rare_classes_get_their_own_ratios() {
    let mut rows = many(1000, "clear", "auto", 0.9, "a");
    rows.extend(many(50, "shadow", "auto", 0.9, "s"));
    let t = table_of(rows);
    let config = SplitConfig::from_json(
        &json!({
            "splits": [{"name": "train", "ratio": 70}, {"name": "val", "ratio": 20}, {"name": "test", "ratio": 10}],
            "rare": {"below": 100, "ratios": {"train": 40, "val": 30, "test": 30}}
        })
        .to_string(),
        "c",
    )
    .unwrap();
    let a = split(&t, &config).unwrap();
    let shadows =
        |l: &cloudmask_tools::split::List| l.indices.iter().filter(|&&i| i >= 1000).count();
    let clears = |l: &cloudmask_tools::split::List| l.indices.iter().filter(|&&i| i < 1000).count();
    assert_eq!(
        a.splits.iter().map(shadows).collect::<Vec<_>>(),
        vec![20, 15, 15]
    );
    assert_eq!(
        a.splits.iter().map(clears).collect::<Vec<_>>(),
        vec![700, 200, 100]
    );
    let report = &a.report.lists[2];
    assert_eq!(report.classes[1].stratum_target, Some(15.0));
    assert_eq!(report.target, Some(115.0));
}

// ---------------------------------------------------------------------------------------------
// The command.

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const TOML_CONFIG: &str = r#"
seed = 5
[[splits]]
name = "train"
ratio = 70
[[splits]]
name = "val"
ratio = 20
filter = { min_confidence = 0.5 }
[[splits]]
name = "test"
ratio = 10
[splits.filter]
sources = ["cvat"]
[folds]
split = "train"
k = 3
"#;

fn write_table(dir: &common::TempDir) -> std::path::PathBuf {
    let mut r = Rng::new(9);
    let mut text = String::from("id,class,source,confidence,group\n");
    for i in 0..300 {
        let class = ["clear", "clear", "clear", "cloud", "cloud", "shadow"][r.below(6)];
        let source = if i % 4 == 0 { "cvat" } else { "auto" };
        let conf = if source == "cvat" {
            0.95
        } else {
            0.3 + r.unit() * 0.6
        };
        // Each scene is labelled by one campaign, as in practice.
        let scene = if source == "cvat" {
            format!("c{}", i / 20)
        } else {
            format!("a{}", i / 3)
        };
        text += &format!("tile_{i},{class},{source},{conf:.2},{scene}\n");
    }
    let path = dir.path("tiles.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_command_writes_one_list_per_split_and_a_report() {
    let tmp = common::TempDir::new("split-cli");
    let table = write_table(&tmp);
    let toml = tmp.path("split.toml");
    std::fs::write(&toml, TOML_CONFIG).unwrap();
    let out = tmp.path("out");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report = text(&o);
    for name in [
        "train",
        "val",
        "test",
        "train.fold1",
        "train.fold3",
        "by group",
        "wrote",
    ] {
        assert!(report.contains(name), "{report}");
    }
    let parsed = Table::read(&table).unwrap();
    let ids: BTreeMap<String, usize> = parsed
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let mut all = Vec::new();
    for split in ["train", "val", "test"] {
        let list = lines(&out.join(format!("{split}.txt")));
        assert!(!list.is_empty());
        for id in &list {
            let s = &parsed.samples[ids[id]];
            if split == "test" {
                assert_eq!(s.source, "cvat", "{id}");
            }
            if split == "val" {
                assert!(s.confidence.unwrap() >= 0.5, "{id}");
            }
        }
        all.extend(list);
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("split.json")).unwrap()).unwrap();
    assert_eq!(all.len() + json["dropped"].as_array().unwrap().len(), 300);
    assert_eq!(
        json["lists"]["train"].as_array().unwrap().len(),
        lines(&out.join("train.txt")).len()
    );
    assert_eq!(json["report"]["grouped"], json!(true));

    // The same config as JSON gives the same lists; another seed other lists.
    let json_config = tmp.path("split.json");
    let value = json!({
        "seed": 5,
        "splits": [
            {"name": "train", "ratio": 70},
            {"name": "val", "ratio": 20, "filter": {"min_confidence": 0.5}},
            {"name": "test", "ratio": 10, "filter": {"sources": ["cvat"]}}
        ],
        "folds": {"split": "train", "k": 3}
    });
    std::fs::write(&json_config, value.to_string()).unwrap();
    let out2 = tmp.path("out2");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &json_config.to_string_lossy(),
        "-o",
        &out2.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["train.txt", "val.txt", "test.txt", "train.fold2.txt"] {
        assert_eq!(lines(&out.join(f)), lines(&out2.join(f)), "{f}");
    }
    let out3 = tmp.path("out3");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &json_config.to_string_lossy(),
        "-o",
        &out3.to_string_lossy(),
        "--seed",
        "6",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(
        lines(&out.join("train.txt")),
        lines(&out3.join("train.txt"))
    );
}

#[test]
fn the_command_reports_bad_tables_and_configs_with_their_exit_codes() {
    let tmp = common::TempDir::new("split-cli-bad");
    let config = tmp.path("c.json");
    std::fs::write(
        &config,
        json!({"splits": [{"name": "a", "ratio": 1}]}).to_string(),
    )
    .unwrap();
    let bad_table = tmp.path("bad.csv");
    std::fs::write(&bad_table, "id,class\nx,cloud\nx,clear\n").unwrap();
    let out = tmp.path("out");
    let o = cloudmask(&[
        "split",
        &bad_table.to_string_lossy(),
        "-c",
        &config.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::Input as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("line 3") && text(&o).contains("'x'"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());

    let table = tmp.path("t.csv");
    std::fs::write(&table, "id,class\na,cloud\nb,cloud\nc,clear\n").unwrap();
    let toml = tmp.path("c.toml");
    std::fs::write(
        &toml,
        "[[splits]]\nname = \"a\"\nratio = 1\n[[splits]]\nname = \"b\"\nratio = 1\nratoi = 2\n",
    )
    .unwrap();
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::InvalidArgument as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("line 7: splits[1].ratoi: unknown field `ratoi`"),
        "{}",
        text(&o)
    );

    // Two splits cannot each get one of the single 'clear' sample.
    std::fs::write(
        &toml,
        "[[splits]]\nname = \"a\"\nratio = 1\n[[splits]]\nname = \"b\"\nratio = 1\n",
    )
    .unwrap();
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::InvalidArgument as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("class 'clear' has 1 sample but"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}

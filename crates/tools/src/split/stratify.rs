//! Sample by sample allocation: every split gets each class within one sample of its target,
//! and its total within one sample of its target, while every sample goes to a split whose
//! filter accepts it. Stated as a flow with bounds (`flow`) and solved exactly: when the filters
//! make it impossible, the error names the split, the class and the numbers.
//!
//! Network: source → (class, set of accepting splits) → (class, split) [floor, ceil of the
//! class target] → split [floor, ceil of the split target] → sink → source. The flow says how
//! many samples of each class and accepting set go to each split; which ones is drawn with the
//! seed.

use super::flow::{Network, Shortfall};
use super::problem::{samples, Problem};
use super::targets::bounds;
use crate::rng::Rng;
use cloudmask::error::{Error, Result};
use std::collections::BTreeMap;

/// Subsets of splits up to this many splits are all checked for a clear message first.
const SUBSET_CHECK_MAX_SPLITS: usize = 12;

/// Places every sample of the problem; returns the table indices per split, ascending.
pub fn allocate_samples(p: &Problem) -> Result<Vec<Vec<usize>>> {
    let n_splits = p.n_splits();
    // Samples of each class by the set of splits that accept them.
    let mut profiles: Vec<BTreeMap<u64, Vec<usize>>> = vec![BTreeMap::new(); p.classes.len()];
    for &i in &p.samples {
        profiles[p.stratum[i]]
            .entry(p.eligible[i])
            .or_default()
            .push(i);
    }
    check_subsets(p, &profiles)?;

    let mut net = Network::new();
    let (source, sink) = (net.node(), net.node());
    let mut kinds = vec![Node::Source, Node::Sink];
    let mut node = |net: &mut Network, kind: Node| {
        kinds.push(kind);
        net.node()
    };
    let splits: Vec<usize> = (0..n_splits)
        .map(|s| node(&mut net, Node::Split(s)))
        .collect();
    let split_targets = p.split_targets();
    for (s, &t) in split_targets.iter().enumerate() {
        let (lo, hi) = bounds(t);
        net.edge(splits[s], sink, lo, Some(hi));
    }
    net.edge(sink, source, 0, None);
    // (class, accepting set, split, edge) for dealing the samples out afterwards.
    let mut deals: Vec<(usize, u64, usize, usize)> = Vec::new();
    for (c, by_set) in profiles.iter().enumerate() {
        if by_set.is_empty() {
            continue;
        }
        let class_split: Vec<usize> = (0..n_splits)
            .map(|s| {
                let v = node(&mut net, Node::ClassSplit(c, s));
                let (lo, hi) = bounds(p.targets[c].targets[s]);
                net.edge(v, splits[s], lo, Some(hi));
                v
            })
            .collect();
        for (&set, samples) in by_set {
            let v = node(&mut net, Node::Profile(c, set));
            let n = samples.len() as i64;
            net.edge(source, v, n, Some(n));
            for s in (0..n_splits).filter(|s| set >> s & 1 == 1) {
                let e = net.edge(v, class_split[s], 0, Some(n));
                deals.push((c, set, s, e));
            }
        }
    }
    if let Err(short) = net.solve() {
        return Err(explain(p, &kinds, &short));
    }

    let mut out = vec![Vec::new(); n_splits];
    for (c, by_set) in profiles.iter().enumerate() {
        for (&set, samples) in by_set {
            let mut order = samples.clone();
            Rng::stream(p.seed, &format!("{}/deal/{c}", p.purpose), set).shuffle(&mut order);
            let mut rest = &order[..];
            for &(_, _, s, e) in deals.iter().filter(|d| d.0 == c && d.1 == set) {
                let (take, left) = rest.split_at(net.flow(e) as usize);
                out[s].extend_from_slice(take);
                rest = left;
            }
            debug_assert!(rest.is_empty(), "the flow places every sample");
        }
    }
    for list in &mut out {
        list.sort_unstable();
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Source,
    Sink,
    Split(usize),
    ClassSplit(usize, usize),
    Profile(usize, u64),
}

/// Hall's conditions, checked on sets of splits, smallest sets first, so the usual
/// impossibilities get a message that names the splits and the numbers: first splits that need
/// more samples (of a class, or in all) than their filters accept, then samples that only a few
/// splits accept and that do not fit in them.
fn check_subsets(p: &Problem, profiles: &[BTreeMap<u64, Vec<usize>>]) -> Result<()> {
    let n_splits = p.n_splits();
    let full: u64 = (1u64 << n_splits) - 1;
    let mut sets: Vec<u64> = if n_splits <= SUBSET_CHECK_MAX_SPLITS {
        (1..=full).collect()
    } else {
        (0..n_splits).map(|s| 1u64 << s).collect()
    };
    sets.sort_by_key(|m| (m.count_ones(), *m));
    let totals = p.split_targets();
    let members = |set: u64| (0..n_splits).filter(move |s| set >> s & 1 == 1);
    let classes = || profiles.iter().enumerate().filter(|(_, by)| !by.is_empty());
    // Class `c`'s least (`pick` = .0) or most (.1) samples over the splits of `set`, and the
    // samples of a class whose accepting splits (a mask) pass `fits`.
    let class_bound = |c: usize, set: u64, pick: fn((i64, i64)) -> i64| -> i64 {
        members(set)
            .map(|s| pick(bounds(p.targets[c].targets[s])))
            .sum()
    };
    let accepted_where = |by_set: &BTreeMap<u64, Vec<usize>>, fits: &dyn Fn(u64) -> bool| {
        by_set
            .iter()
            .filter(|(m, _)| fits(**m))
            .map(|(_, v)| v.len())
            .sum::<usize>()
    };
    for &set in &sets {
        for (c, by_set) in classes() {
            let need = class_bound(c, set, |b| b.0);
            let accepted = accepted_where(by_set, &|m| m & set != 0);
            if need > accepted as i64 {
                return Err(Error::invalid(if set.count_ones() == 1 {
                    let s = set.trailing_zeros() as usize;
                    format!(
                        "{} needs at least {}{} ({}) but only {accepted} of the {} {} pass {}",
                        p.split_list(set),
                        samples(need),
                        p.of_class(c),
                        p.why(c, s),
                        p.counts[c],
                        p.class_samples(c),
                        p.filter_list(set)
                    )
                } else {
                    format!(
                        "{} need at least {}{} together but only {accepted} of the {} {} pass {}",
                        p.split_list(set),
                        samples(need),
                        p.of_class(c),
                        p.counts[c],
                        p.class_samples(c),
                        p.filter_list(set)
                    )
                }));
            }
        }
        let need: i64 = members(set).map(|s| bounds(totals[s]).0).sum();
        let accepted = p
            .samples
            .iter()
            .filter(|&&i| p.eligible[i] & set != 0)
            .count();
        if need > accepted as i64 {
            return Err(Error::invalid(format!(
                "{} need{} at least {} by the ratios but only {accepted} of the {} samples pass {}",
                p.split_list(set),
                if set.count_ones() == 1 { "s" } else { "" },
                samples(need),
                p.samples.len(),
                p.filter_list(set)
            )));
        }
    }
    for &set in sets.iter().filter(|&&set| set != full) {
        for (c, by_set) in classes() {
            let room = class_bound(c, set, |b| b.1);
            let only = accepted_where(by_set, &|m| m & !set == 0);
            if only as i64 > room {
                return Err(Error::invalid(format!(
                    "{}{} {} accepted only by {}, which can take at most {room} of them by the ratios; the other splits' filters reject them: relax those filters or change the ratios",
                    samples(only as i64),
                    p.of_class(c),
                    if only == 1 { "is" } else { "are" },
                    p.split_list(set),
                )));
            }
        }
    }
    Ok(())
}

/// Turns a flow shortfall into the constraint that cannot be met.
fn explain(p: &Problem, kinds: &[Node], short: &Shortfall) -> Error {
    let describe = |v: usize, units: i64| -> Option<String> {
        Some(match kinds[v] {
            Node::ClassSplit(c, s) => format!(
                "split '{}' gets {} too few{} ({}): the {} that pass its filter ({}) are needed by other splits",
                p.splits[s],
                samples(units),
                p.of_class(c),
                p.why(c, s),
                p.class_samples(c),
                p.filters[s]
            ),
            Node::Split(s) => format!(
                "split '{}' gets {} too few for its ratio: the samples that pass its filter ({}) are needed by other splits",
                p.splits[s],
                samples(units),
                p.filters[s]
            ),
            Node::Profile(c, set) => format!(
                "{}{} accepted only by {} do not fit there by the ratios",
                samples(units),
                p.of_class(c),
                p.split_list(set)
            ),
            Node::Source | Node::Sink => return None,
        })
    };
    let reasons: Vec<String> = short
        .missing_in
        .iter()
        .chain(&short.stuck_out)
        .filter_map(|&(v, units)| describe(v, units))
        .collect();
    Error::invalid(format!(
        "the split constraints cannot all be met at once: {}; relax the filters, the ratios or min_per_class",
        if reasons.is_empty() {
            "the filters leave some samples nowhere to go".to_string()
        } else {
            reasons.join("; ")
        }
    ))
}

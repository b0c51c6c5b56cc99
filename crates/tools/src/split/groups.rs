//! Group by group allocation: all samples of a group (a scene, a location) go to one split.
//! Groups differ in size, so ratios hold only as closely as whole groups allow; what is
//! guaranteed is that no group is cut, that filters hold (a group goes only where every one of its
//! samples is accepted) and that every split gets `min_per_class` samples of every class. Ratios
//! the filters leave no room for (the accepted groups hold less than a split's target by more
//! than a group) are refused.
//!
//! 1. Minimums, rarest class first: the split short of the class with the fewest groups to
//!    choose from takes, among the groups left that hold the class and that it accepts, the one
//!    the fewest splits accept (then the smallest), so groups only strict filters accept are
//!    kept for the splits with those filters.
//! 2. The remaining groups, those the fewest splits accept first (they have to go there; the
//!    groups every split accepts then fill what is left), largest first among equals, each go
//!    where they reduce the squared distance to the targets most (per class, relative to the
//!    class's size, plus the split's total).

use super::problem::Problem;
use crate::rng::Rng;
use cloudmask::error::{Error, Result};

struct Unit {
    members: Vec<usize>,
    /// Members per stratum.
    strata: Vec<usize>,
    eligible: u64,
    /// Random tie-breaker.
    key: u64,
}

/// Places every group of the problem; returns the table indices per split, ascending.
pub fn allocate_groups(p: &Problem) -> Result<Vec<Vec<usize>>> {
    let groups = p.groups.as_deref().unwrap_or_default();
    let (n_splits, n_classes) = (p.n_splits(), p.classes.len());
    let mut rng = Rng::stream(p.seed, &format!("{}/groups", p.purpose), 0);
    let units: Vec<Unit> = groups
        .iter()
        .map(|g| {
            let mut strata = vec![0; n_classes];
            for &i in &g.members {
                strata[p.stratum[i]] += 1;
            }
            Unit {
                eligible: g.members.iter().fold(u64::MAX, |m, &i| m & p.eligible[i]),
                members: g.members.clone(),
                strata,
                key: rng.next_u64(),
            }
        })
        .collect();
    check_room(p, &units)?;
    let mut state = State {
        p,
        counts: vec![vec![0; n_classes]; n_splits],
        sizes: vec![0; n_splits],
        totals: p.split_targets(),
        home: vec![None; units.len()],
    };

    // 1. Minimums.
    if p.min > 0 {
        let mut classes: Vec<usize> = (0..n_classes).filter(|&c| p.counts[c] > 0).collect();
        classes.sort_by_key(|&c| (p.counts[c], c));
        for c in classes {
            let free = |state: &State, s: usize| -> Vec<usize> {
                (0..units.len())
                    .filter(|&u| {
                        state.home[u].is_none()
                            && units[u].strata[c] > 0
                            && units[u].eligible >> s & 1 == 1
                    })
                    .collect()
            };
            // The short split with the fewest groups to choose from goes first, and takes the
            // group the fewest splits accept (then the smallest): groups that only strict
            // filters accept are kept for the splits with those filters.
            while let Some((s, candidates)) = (0..n_splits)
                .filter(|&s| state.counts[s][c] < p.min)
                .map(|s| (s, free(&state, s)))
                .min_by_key(|(s, candidates)| (candidates.len(), *s))
            {
                let pick = candidates.into_iter().min_by_key(|&u| {
                    (
                        units[u].eligible.count_ones(),
                        units[u].members.len(),
                        units[u].key,
                    )
                });
                let Some(u) = pick else {
                    return Err(no_group_left(p, &units, &state.home, groups, c, s));
                };
                state.place(&units[u], u, s);
            }
        }
    }

    // 2. The rest: groups few splits accept first (they must go there), then largest first.
    let mut rest: Vec<usize> = (0..units.len())
        .filter(|&u| state.home[u].is_none())
        .collect();
    rest.sort_by_key(|&u| {
        (
            units[u].eligible.count_ones(),
            std::cmp::Reverse(units[u].members.len()),
            units[u].key,
        )
    });
    for u in rest {
        let best = (0..n_splits)
            .filter(|&s| units[u].eligible >> s & 1 == 1)
            .map(|s| (state.cost_of_adding(&units[u], s), s))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let Some((_, s)) = best else {
            return Err(Error::invalid(format!(
                "group '{}' is accepted by no split",
                groups[u].name
            )));
        };
        state.place(&units[u], u, s);
    }

    let mut out = vec![Vec::new(); n_splits];
    for (u, home) in state.home.iter().enumerate() {
        let s = home.expect("every group was placed");
        out[s].extend_from_slice(&units[u].members);
    }
    for list in &mut out {
        list.sort_unstable();
    }
    Ok(out)
}

/// Refuses ratios the filters leave no room for: splits whose accepted groups hold fewer
/// samples than the ratios ask for, by more than the largest of those groups (sets of splits up
/// to 12, smallest sets first).
fn check_room(p: &Problem, units: &[Unit]) -> Result<()> {
    let n_splits = p.n_splits();
    let totals = p.split_targets();
    let full: u64 = (1u64 << n_splits) - 1;
    let mut sets: Vec<u64> = if n_splits <= 12 {
        (1..=full).collect()
    } else {
        (0..n_splits).map(|s| 1u64 << s).collect()
    };
    sets.sort_by_key(|m| (m.count_ones(), *m));
    for set in sets {
        let need: f64 = (0..n_splits)
            .filter(|s| set >> s & 1 == 1)
            .map(|s| totals[s])
            .sum();
        let accepted = units.iter().filter(|u| u.eligible & set != 0);
        let (room, largest) = accepted.fold((0, 0), |(room, largest), u| {
            (room + u.members.len(), largest.max(u.members.len()))
        });
        if ((room + largest) as f64) < need {
            return Err(Error::invalid(format!(
                "{} need{} about {:.0} samples by the ratios but the groups whose samples all pass {} hold only {room}; a group goes only where all its samples pass",
                p.split_list(set),
                if set.count_ones() == 1 { "s" } else { "" },
                need,
                p.filter_list(set)
            )));
        }
    }
    Ok(())
}

struct State<'a, 'b> {
    p: &'a Problem<'b>,
    /// Samples per split and stratum.
    counts: Vec<Vec<usize>>,
    sizes: Vec<usize>,
    totals: Vec<f64>,
    home: Vec<Option<usize>>,
}

impl State<'_, '_> {
    fn place(&mut self, unit: &Unit, u: usize, s: usize) {
        for (c, &n) in unit.strata.iter().enumerate() {
            self.counts[s][c] += n;
        }
        self.sizes[s] += unit.members.len();
        self.home[u] = Some(s);
    }

    /// How much adding `unit` to split `s` changes the squared distance to the targets.
    fn cost_of_adding(&self, unit: &Unit, s: usize) -> f64 {
        let grow = |now: f64, add: f64, target: f64, scale: f64| {
            ((now + add - target).powi(2) - (now - target).powi(2)) / scale.max(1.0)
        };
        let classes: f64 = unit
            .strata
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| {
                grow(
                    self.counts[s][c] as f64,
                    n as f64,
                    self.p.targets[c].targets[s],
                    self.p.counts[c] as f64,
                )
            })
            .sum();
        classes
            + grow(
                self.sizes[s] as f64,
                unit.members.len() as f64,
                self.totals[s],
                self.p.samples.len() as f64,
            )
    }
}

fn no_group_left(
    p: &Problem,
    units: &[Unit],
    home: &[Option<usize>],
    groups: &[super::problem::Group],
    c: usize,
    s: usize,
) -> Error {
    let class = &p.classes[c];
    let holding: Vec<usize> = (0..units.len())
        .filter(|&u| units[u].strata[c] > 0)
        .collect();
    let placed: Vec<String> = holding
        .iter()
        .filter_map(|&u| home[u].map(|h| format!("'{}' in '{}'", groups[u].name, p.splits[h])))
        .collect();
    let rejected = holding.len() - placed.len();
    let shown = placed.len().min(5);
    Error::invalid(format!(
        "split '{}' needs at least {} of class '{class}' (min_per_class) but no group left holds '{class}' and passes its filter ({}); a group goes only where all its samples pass. Of the {} groups holding '{class}', {rejected} have samples this filter rejects and {} {} in other splits{}",
        p.splits[s],
        super::problem::samples(p.min as i64),
        p.filters[s],
        holding.len(),
        placed.len(),
        if placed.len() == 1 { "is" } else { "are" },
        if placed.is_empty() {
            String::new()
        } else {
            format!(
                " ({}{})",
                placed[..shown].join(", "),
                if placed.len() > shown { ", …" } else { "" }
            )
        }
    ))
}

//! Independent statements of the rules (docs/data-tools.md), written without the library.

use crate::cases::Case;

/// Rows some split accepts.
pub fn accepted(case: &Case) -> Vec<usize> {
    (0..case.table.len())
        .filter(|&i| {
            case.filters
                .iter()
                .any(|f| f.accepts(&case.table.samples[i]))
        })
        .collect()
}

/// A row's class: the rarest class it holds among accepted rows, else its largest count.
pub fn rarest(case: &Case) -> Vec<usize> {
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
pub fn targets(case: &Case, n: usize) -> Vec<f64> {
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

pub fn within_one(count: usize, target: f64) -> bool {
    (count as f64 - target).abs() < 1.0 + 1e-6
}

//! How many samples of each class each split should get: the class's samples times the split's
//! ratio (the rare-class ratios below the threshold), raised to the minimum per class where the
//! ratio gives less, the rest shared among the other splits by their ratios.

use cloudmask::error::{Error, Result};

/// Real-valued targets of one class: `targets[s]`, summing to the class's samples, and which
/// splits were raised to the minimum.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTargets {
    pub targets: Vec<f64>,
    pub raised: Vec<bool>,
    /// Whether the rare-class ratios were used.
    pub rare: bool,
}

/// [`class_targets`] of every class, `counts[c]` being class `c`'s samples: a class without
/// samples gets no targets, and one too small for the minimum the error `too_few(c, n)`.
pub fn targets_per_class(
    counts: &[usize],
    ratios: &[f64],
    rare: Option<(usize, &[f64])>,
    min: usize,
    too_few: impl Fn(usize, usize) -> Error,
) -> Result<Vec<ClassTargets>> {
    let splits = ratios.len();
    counts
        .iter()
        .enumerate()
        .map(|(c, &n)| match n {
            0 => Ok(ClassTargets {
                targets: vec![0.0; splits],
                raised: vec![false; splits],
                rare: false,
            }),
            _ => class_targets(n, ratios, rare, min).ok_or_else(|| too_few(c, n)),
        })
        .collect()
}

/// Targets for a class of `n` samples; `None` when `n` < `min` × splits (the minimum cannot be
/// met). `ratios` sum to 1; `rare` is (threshold, ratios).
pub fn class_targets(
    n: usize,
    ratios: &[f64],
    rare: Option<(usize, &[f64])>,
    min: usize,
) -> Option<ClassTargets> {
    let splits = ratios.len();
    if n < min * splits {
        return None;
    }
    let (ratios, is_rare) = match rare {
        Some((below, r)) if n < below => (r, true),
        _ => (ratios, false),
    };
    let mut raised = vec![false; splits];
    // Water-filling: fix splits below the minimum at the minimum, share the rest, repeat.
    loop {
        let fixed = raised.iter().filter(|&&r| r).count();
        let free = (n - min * fixed) as f64;
        let free_ratio: f64 = (0..splits).filter(|&s| !raised[s]).map(|s| ratios[s]).sum();
        let share = |s: usize| free * ratios[s] / free_ratio;
        let newly: Vec<usize> = (0..splits)
            .filter(|&s| !raised[s] && share(s) < min as f64 - 1e-9)
            .collect();
        if newly.is_empty() {
            let targets = (0..splits)
                .map(|s| {
                    if raised[s] {
                        min as f64
                    } else {
                        snap(share(s))
                    }
                })
                .collect();
            return Some(ClassTargets {
                targets,
                raised,
                rare: is_rare,
            });
        }
        for s in newly {
            raised[s] = true;
        }
    }
}

/// Rounds values within 1e-9 of a whole number to it, so 0.7 × 10 counts as exactly 7.
pub fn snap(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() < 1e-9 {
        r
    } else {
        x
    }
}

/// The whole numbers an integer count may take to stay within one of a real target.
pub fn bounds(target: f64) -> (i64, i64) {
    let t = snap(target);
    (t.floor() as i64, t.ceil() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ratios() {
        let t = class_targets(10, &[0.7, 0.2, 0.1], None, 0).unwrap();
        assert_eq!(t.targets, vec![7.0, 2.0, 1.0]);
        assert_eq!(bounds(t.targets[0]), (7, 7));
        assert_eq!(bounds(2.5), (2, 3));
    }

    #[test]
    fn rare_classes_use_their_ratios() {
        let rare = [0.4, 0.3, 0.3];
        let t = class_targets(20, &[0.7, 0.2, 0.1], Some((100, &rare)), 1).unwrap();
        assert!(t.rare);
        assert_eq!(t.targets, vec![8.0, 6.0, 6.0]);
        let t = class_targets(200, &[0.7, 0.2, 0.1], Some((100, &rare)), 1).unwrap();
        assert!(!t.rare);
    }

    #[test]
    fn the_minimum_raises_small_splits_and_the_rest_is_shared() {
        // 0.1 x 12 = 1.2 < 2: test gets 2, the other 10 are shared 7:2.
        let t = class_targets(12, &[0.7, 0.2, 0.1], None, 2).unwrap();
        assert_eq!(t.raised, vec![false, false, true]);
        assert!((t.targets[0] - 70.0 / 9.0).abs() < 1e-9);
        assert!((t.targets.iter().sum::<f64>() - 12.0).abs() < 1e-9);
        // Raising one split can push another below the minimum.
        let t = class_targets(6, &[0.8, 0.1, 0.1], None, 2).unwrap();
        assert_eq!(t.targets, vec![2.0, 2.0, 2.0]);
        assert!(class_targets(5, &[0.8, 0.1, 0.1], None, 2).is_none());
    }
}

//! Symmetric (mirror) extension of a raster beyond its edges.

/// Maps any index onto `0..n` by mirroring at the edges with the edge pixel repeated
/// (`… 1 0 | 0 1 2 … n-1 | n-1 n-2 …`), periodically with period 2n. This is numpy's
/// `np.pad(mode="symmetric")`, including pads wider than the array.
pub fn reflect(i: isize, n: usize) -> usize {
    debug_assert!(n > 0);
    let period = 2 * n as isize;
    let m = i.rem_euclid(period) as usize;
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

/// The smallest source range `[lo, hi)` that holds every mirrored index of `start..start+len`.
pub fn source_range(start: isize, len: usize, n: usize) -> (usize, usize) {
    if start >= 0 && start as usize + len <= n {
        return (start as usize, start as usize + len);
    }
    let (mut lo, mut hi) = (usize::MAX, 0);
    for i in start..start + len as isize {
        let r = reflect(i, n);
        lo = lo.min(r);
        hi = hi.max(r + 1);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_like_numpy_symmetric_padding() {
        // np.pad(np.arange(3), 7, mode="symmetric")
        let want = [0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2];
        let got: Vec<usize> = (-7..10).map(|i| reflect(i, 3)).collect();
        assert_eq!(got, want);
        assert_eq!(reflect(0, 1), 0);
        assert_eq!(reflect(-5, 1), 0);
    }

    #[test]
    fn source_range_covers_the_mirrored_indices() {
        assert_eq!(source_range(10, 5, 100), (10, 15));
        assert_eq!(source_range(-3, 5, 100), (0, 3));
        assert_eq!(source_range(98, 5, 100), (97, 100));
        assert_eq!(source_range(-10, 30, 4), (0, 4));
    }
}

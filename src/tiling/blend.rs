//! Blending weights for overlapping tiles.

/// The symmetric Tukey (tapered cosine) window of length `m`, computed with the same operations
/// in the same order as `scipy.signal.windows.tukey(m, alpha)`, so the weights are bit-identical.
pub fn tukey(m: usize, alpha: f64) -> Vec<f64> {
    if m == 0 {
        return Vec::new();
    }
    if alpha <= 0.0 {
        return vec![1.0; m];
    }
    let mf = (m - 1) as f64;
    let width = (alpha * mf / 2.0).floor() as usize;
    (0..m)
        .map(|i| {
            let n = i as f64;
            if i <= width {
                0.5 * (1.0 + (std::f64::consts::PI * (-1.0 + 2.0 * n / alpha / mf)).cos())
            } else if i < m - width - 1 {
                1.0
            } else {
                0.5 * (1.0
                    + (std::f64::consts::PI * (-2.0 / alpha + 1.0 + 2.0 * n / alpha / mf)).cos())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tukey_has_scipys_shape() {
        let w = tukey(256, 0.4);
        assert_eq!(w.len(), 256);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[255], 0.0);
        assert_eq!(w[52], 1.0);
        assert_eq!(w[203], 1.0);
        assert!(w[51] > 0.99 && w[51] < 1.0 + 1e-12);
        for i in 0..128 {
            assert!((w[i] - w[255 - i]).abs() < 1e-12);
        }
    }
}

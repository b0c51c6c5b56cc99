//! Per-pixel uncertainty from class probabilities, each scaled to 0 (certain) .. 1 (uncertain):
//!
//! - entropy: −Σ p ln p / ln K over the model's K classes;
//! - margin: 1 − (p₁ − p₂), the gap between the two most probable classes turned around;
//! - disagreement: between two models, half the summed absolute difference (total variation)
//!   of their probabilities gathered onto cloudmask's common classes, so models with different
//!   class lists can be compared.
//!
//! Probabilities come as planes (class, pixel), NaN on nodata; nodata pixels score NaN.

/// How uncertainty is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Entropy,
    Margin,
    Disagreement,
}

crate::options::choice!(Measure, "measure", [
    Entropy => "entropy", "Entropy of the class probabilities (0 sure .. 1 all classes equally likely)",
    Margin => "margin", "1 - (top probability - second probability)",
    Disagreement => "disagreement", "How much two models disagree (needs a second model)",
]);

/// Entropy of each pixel of `probs` (`classes` planes of `n` pixels), divided by ln(classes).
pub fn entropy(probs: &[f32], classes: usize, n: usize) -> Vec<f32> {
    let norm = (classes as f64).ln().max(f64::MIN_POSITIVE);
    (0..n)
        .map(|i| {
            let mut h = 0.0f64;
            for c in 0..classes {
                let p = probs[c * n + i] as f64;
                if p.is_nan() {
                    return f32::NAN;
                }
                if p > 0.0 {
                    h -= p * p.ln();
                }
            }
            (h / norm).clamp(0.0, 1.0) as f32
        })
        .collect()
}

/// 1 − (largest − second largest probability) of each pixel.
pub fn margin(probs: &[f32], classes: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for c in 0..classes {
                let p = probs[c * n + i];
                if p.is_nan() {
                    return f32::NAN;
                }
                if p > first {
                    second = first;
                    first = p;
                } else if p > second {
                    second = p;
                }
            }
            if classes < 2 {
                return 0.0;
            }
            (1.0 - (first - second)).clamp(0.0, 1.0)
        })
        .collect()
}

/// Total variation between two models' probabilities on the common classes: `codes_a[c]` is the
/// common class code (0..=4) of model a's class `c`, likewise `codes_b`.
pub fn disagreement(a: &[f32], codes_a: &[u8], b: &[f32], codes_b: &[u8], n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let mut diff = [0f64; 8];
            for (c, &code) in codes_a.iter().enumerate() {
                diff[code as usize] += a[c * n + i] as f64;
            }
            for (c, &code) in codes_b.iter().enumerate() {
                diff[code as usize] -= b[c * n + i] as f64;
            }
            let tv = 0.5 * diff.iter().map(|d| d.abs()).sum::<f64>();
            if tv.is_nan() {
                f32::NAN
            } else {
                tv.clamp(0.0, 1.0) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two pixels, three classes: planes (class, pixel).
    fn planes(pixels: &[[f32; 3]]) -> Vec<f32> {
        (0..3)
            .flat_map(|c| pixels.iter().map(move |p| p[c]))
            .collect()
    }

    #[test]
    fn entropy_is_zero_when_sure_and_one_when_uniform() {
        let third = 1.0 / 3.0;
        let p = planes(&[[1.0, 0.0, 0.0], [third, third, third], [0.5, 0.5, 0.0]]);
        let h = entropy(&p, 3, 3);
        assert_eq!(h[0], 0.0);
        assert!((h[1] - 1.0).abs() < 1e-6);
        assert!((h[2] as f64 - 2f64.ln() / 3f64.ln()).abs() < 1e-6);
        let p = planes(&[[f32::NAN, f32::NAN, f32::NAN]]);
        assert!(entropy(&p, 3, 1)[0].is_nan());
    }

    #[test]
    fn margin_turns_the_top_two_gap_around() {
        let p = planes(&[[0.9, 0.05, 0.05], [0.4, 0.1, 0.5], [0.5, 0.5, 0.0]]);
        let m = margin(&p, 3, 3);
        assert!((m[0] - 0.15).abs() < 1e-6);
        assert!((m[1] - 0.9).abs() < 1e-6);
        assert!((m[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn disagreement_compares_on_common_classes() {
        // Model a: clear, cloud, shadow. Model b: clear, cloud, thin cloud, shadow.
        let a = vec![0.6, 0.2, 0.3, 0.7, 0.1, 0.1];
        let b = vec![0.6, 0.2, 0.1, 0.1, 0.2, 0.6, 0.1, 0.1];
        let d = disagreement(&a, &[1, 2, 4], &b, &[1, 2, 3, 4], 2);
        // pixel 0: a = (.6, .3, 0, .1), b = (.6, .1, .2, .1): TV = 0.2
        assert!((d[0] - 0.2).abs() < 1e-6, "{d:?}");
        // pixel 1: a = (.2, .7, 0, .1), b = (.2, .1, .6, .1): TV = 0.6
        assert!((d[1] - 0.6).abs() < 1e-6, "{d:?}");
        let same = disagreement(&a, &[1, 2, 4], &a, &[1, 2, 4], 2);
        assert_eq!(same, vec![0.0, 0.0]);
    }
}

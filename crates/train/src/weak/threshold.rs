//! The statistical threshold that turns a CAM into a pixel mask, fitted against clear sky.
//!
//! Over the pixels of the clear blocks (blocks labelled cloud-free), the CAM has a mean `mu` and a
//! standard deviation `sigma` (population, over all those pixels, each pixel once even where
//! blocks overlap). A pixel is cloud where its CAM exceeds `mu + k * sigma`: the threshold sits
//! `k` clear-sky standard deviations above the clear-sky mean, so `k` sets how unlike clear
//! surfaces a pixel must look ([`DEFAULT_K`]; `--weak-k`).
//!
//! The exported model outputs `sigmoid((CAM - mu) / sigma)`, so the card's threshold is
//! `sigmoid(k)`.

use serde::{Deserialize, Serialize};

/// Default `k`: 1.5 clear-sky standard deviations (about 6.7 % of clear pixels above it if the
/// clear-sky CAM were Gaussian). Chosen among 0.5, 1, …, 3 as the best mean cloud IoU on the
/// pixel labels of the two Landsat training tiles, over four seeds (docs/training.md); the
/// block-level training itself never sees those pixel labels.
pub const DEFAULT_K: f64 = 1.5;

/// Clear-sky statistics of the CAM and the threshold derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClearSky {
    pub mean: f64,
    pub std: f64,
    pub k: f64,
    /// Clear-sky pixels the statistics are over.
    pub pixels: u64,
}

impl ClearSky {
    /// Statistics of `cam` over the pixels where `clear` is set (NaN values skipped). `None`
    /// without any such pixel.
    pub fn fit(cam: &[f32], clear: &[bool], k: f64) -> Option<ClearSky> {
        let (mut n, mut sum, mut sq) = (0u64, 0f64, 0f64);
        for (&v, &c) in cam.iter().zip(clear) {
            if c && v.is_finite() {
                n += 1;
                sum += v as f64;
                sq += v as f64 * v as f64;
            }
        }
        (n > 0).then(|| {
            let mean = sum / n as f64;
            ClearSky {
                mean,
                std: (sq / n as f64 - mean * mean).max(0.0).sqrt().max(1e-6),
                k,
                pixels: n,
            }
        })
    }

    /// Several scenes' statistics pooled as if over all their pixels at once.
    pub fn pool(parts: &[ClearSky]) -> Option<ClearSky> {
        let n: u64 = parts.iter().map(|p| p.pixels).sum();
        if n == 0 {
            return None;
        }
        let w = |p: &ClearSky| p.pixels as f64 / n as f64;
        let mean: f64 = parts.iter().map(|p| w(p) * p.mean).sum();
        let second: f64 = parts
            .iter()
            .map(|p| w(p) * (p.std * p.std + p.mean * p.mean))
            .sum();
        Some(ClearSky {
            mean,
            std: (second - mean * mean).max(0.0).sqrt().max(1e-6),
            k: parts[0].k,
            pixels: n,
        })
    }

    /// The threshold on the CAM: `mean + k * std`.
    pub fn threshold(&self) -> f64 {
        self.mean + self.k * self.std
    }

    /// The exported score of a CAM value, `sigmoid((cam - mean) / std)`.
    #[cfg(test)]
    pub fn score(&self, cam: f64) -> f64 {
        sigmoid((cam - self.mean) / self.std)
    }

    /// The threshold on the exported score: `sigmoid(k)`.
    pub fn score_threshold(&self) -> f64 {
        sigmoid(self.k)
    }

    /// Cloud (true) where the CAM exceeds the threshold.
    #[cfg(test)]
    pub fn apply(&self, cam: &[f32]) -> Vec<bool> {
        let t = self.threshold();
        cam.iter().map(|&v| v as f64 > t).collect()
    }
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_mean_plus_k_std_over_clear_pixels_only() {
        // Clear pixels 1..5 (mean 3, population std sqrt 2); the cloudy-block pixels (9, 50)
        // and a NaN must not count.
        let cam = [1.0, 2.0, 9.0, 3.0, 4.0, 50.0, 5.0, f32::NAN];
        let clear = [true, true, false, true, true, false, true, true];
        let s = ClearSky::fit(&cam, &clear, 2.0).unwrap();
        assert_eq!(s.pixels, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.std - 2f64.sqrt()).abs() < 1e-12);
        assert!((s.threshold() - (3.0 + 2.0 * 2f64.sqrt())).abs() < 1e-12);
        // 5.83: only the cloudy-block values exceed it.
        assert_eq!(
            s.apply(&cam),
            [false, false, true, false, false, true, false, false]
        );
        // k moves the threshold by whole standard deviations.
        let s1 = ClearSky::fit(&cam, &clear, 1.0).unwrap();
        assert!((s.threshold() - s1.threshold() - 2f64.sqrt()).abs() < 1e-12);
        assert!(ClearSky::fit(&cam, &[false; 8], 2.0).is_none());
    }

    #[test]
    fn scores_cross_the_score_threshold_where_the_cam_crosses_the_threshold() {
        let s = ClearSky {
            mean: -4.0,
            std: 0.5,
            k: 2.0,
            pixels: 10,
        };
        let t = s.threshold();
        assert_eq!(t, -3.0);
        assert!((s.score(t) - s.score_threshold()).abs() < 1e-12);
        assert!(s.score(t + 1e-3) > s.score_threshold());
        assert!(s.score(t - 1e-3) < s.score_threshold());
    }

    #[test]
    fn pooled_statistics_equal_those_over_all_pixels() {
        let a = [1.0f32, 2.0, 3.0];
        let b = [10.0f32, 11.0];
        let all: Vec<f32> = a.iter().chain(&b).copied().collect();
        let whole = ClearSky::fit(&all, &[true; 5], 2.0).unwrap();
        let pooled = ClearSky::pool(&[
            ClearSky::fit(&a, &[true; 3], 2.0).unwrap(),
            ClearSky::fit(&b, &[true; 2], 2.0).unwrap(),
        ])
        .unwrap();
        assert_eq!(pooled.pixels, 5);
        assert!((pooled.mean - whole.mean).abs() < 1e-12);
        assert!((pooled.std - whole.std).abs() < 1e-9);
    }
}

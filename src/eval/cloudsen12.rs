//! The CloudSEN12 protocol (Aybar et al. 2022): three binary problems scored patch by patch.
//!
//! - cloud: positive = cloud or thin cloud;
//! - shadow: positive = cloud shadow;
//! - valid: positive = clear (usable) pixels; cloud, thin cloud, shadow and a predicted
//!   nodata are invalid.
//!
//! Per patch: PA (producer's accuracy, recall), UA (user's accuracy, precision),
//! BOA = (TPR + TNR) / 2, omission error 1 − PA, commission error 1 − UA. A patch without
//! reference positives has PA, omission error and BOA NaN; without predicted positives, UA and
//! commission error NaN; without reference negatives, BOA NaN. Over patches: the median BOA of
//! the patches where it is defined (NaN patches are left out, not counted as 0 or 1), and
//! PA / UA histograms in three buckets (< 0.1, 0.1 to 0.9 inclusive, > 0.9) plus the number of
//! patches where the value is NaN.

use super::confusion::{Binary, Confusion};
use crate::model::CommonClass;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    Cloud,
    Shadow,
    Valid,
}

impl Problem {
    pub const ALL: [Problem; 3] = [Problem::Cloud, Problem::Shadow, Problem::Valid];

    pub fn name(self) -> &'static str {
        match self {
            Problem::Cloud => "cloud",
            Problem::Shadow => "shadow",
            Problem::Valid => "valid",
        }
    }

    /// Whether a class is a positive of this problem.
    pub fn positive(self, class: CommonClass) -> bool {
        match self {
            Problem::Cloud => matches!(class, CommonClass::Cloud | CommonClass::ThinCloud),
            Problem::Shadow => class == CommonClass::Shadow,
            Problem::Valid => class == CommonClass::Clear,
        }
    }

    pub fn binary(self, confusion: &Confusion) -> Binary {
        confusion.binary(|c| self.positive(c))
    }
}

/// One patch's scores for one problem (NaN where undefined, see the module's rules).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub pa: f64,
    pub ua: f64,
    pub boa: f64,
    pub omission: f64,
    pub commission: f64,
}

impl Scores {
    pub fn of(b: &Binary) -> Scores {
        let pa = b.producers_accuracy();
        let ua = b.users_accuracy();
        Scores {
            pa,
            ua,
            boa: b.balanced_accuracy(),
            omission: 1.0 - pa,
            commission: 1.0 - ua,
        }
    }
}

/// Patches per bucket of a per-patch value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Buckets {
    /// value < 0.1
    pub low: usize,
    /// 0.1 <= value <= 0.9
    pub middle: usize,
    /// value > 0.9
    pub high: usize,
    /// NaN: the patch has no positives (in the reference for PA, in the prediction for UA).
    pub undefined: usize,
}

impl Buckets {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Buckets {
        let mut b = Buckets::default();
        for v in values {
            match v {
                v if v.is_nan() => b.undefined += 1,
                v if v < 0.1 => b.low += 1,
                v if v > 0.9 => b.high += 1,
                _ => b.middle += 1,
            }
        }
        b
    }
}

/// The median of the values that are not NaN (the mean of the two middle ones for an even
/// count); NaN when every value is NaN or there is none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// One problem over all patches of one predictor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemSummary {
    pub problem: Problem,
    /// Median of the per-patch BOA, NaN patches left out.
    pub median_boa: f64,
    /// Patches whose BOA is defined (the median's sample).
    pub patches_with_boa: usize,
    pub pa_buckets: Buckets,
    pub ua_buckets: Buckets,
    /// Scores of all pixels pooled over the patches (not a per-patch statistic).
    pub pooled: Scores,
    /// F-beta of the pooled pixels (β from the evaluation; β = 2 is CNES's F2).
    pub pooled_f_beta: f64,
}

/// Summarises one problem from the per-patch matrices of one predictor.
pub fn summarize(problem: Problem, patches: &[Confusion], beta: f64) -> ProblemSummary {
    let scores: Vec<Scores> = patches
        .iter()
        .map(|c| Scores::of(&problem.binary(c)))
        .collect();
    let mut pooled = Binary::default();
    for c in patches {
        pooled.merge(&problem.binary(c));
    }
    ProblemSummary {
        problem,
        median_boa: median(scores.iter().map(|s| s.boa)),
        patches_with_boa: scores.iter().filter(|s| !s.boa.is_nan()).count(),
        pa_buckets: Buckets::of(scores.iter().map(|s| s.pa)),
        ua_buckets: Buckets::of(scores.iter().map(|s| s.ua)),
        pooled: Scores::of(&pooled),
        pooled_f_beta: pooled.f_beta(beta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommonClass::*;

    fn patch(pairs: &[(CommonClass, CommonClass)]) -> Confusion {
        let r: Vec<u8> = pairs.iter().map(|p| p.0.code()).collect();
        let p: Vec<u8> = pairs.iter().map(|p| p.1.code()).collect();
        let mut m = Confusion::default();
        m.add(&r, &p);
        m
    }

    #[test]
    fn problems_split_the_classes() {
        assert!(Problem::Cloud.positive(ThinCloud) && Problem::Cloud.positive(Cloud));
        assert!(!Problem::Cloud.positive(Shadow));
        assert!(Problem::Valid.positive(Clear) && !Problem::Valid.positive(Nodata));
        // A predicted nodata over clear ground is an omission of valid pixels.
        let m = patch(&[(Clear, Nodata), (Clear, Clear)]);
        let b = Problem::Valid.binary(&m);
        assert_eq!((b.tp, b.fn_, b.fp, b.tn), (1, 1, 0, 0));
    }

    #[test]
    fn patch_scores_by_hand() {
        // Cloud problem: reference 3 cloudy (1 thin) + 5 clear; prediction finds 2 of the
        // cloudy pixels and calls 1 clear pixel cloud: TP 2, FN 1, FP 1, TN 4.
        let m = patch(&[
            (Cloud, Cloud),
            (ThinCloud, Cloud),
            (Cloud, Clear),
            (Clear, ThinCloud),
            (Clear, Clear),
            (Clear, Clear),
            (Clear, Clear),
            (Clear, Clear),
        ]);
        let s = Scores::of(&Problem::Cloud.binary(&m));
        assert!((s.pa - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.ua - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.boa - (2.0 / 3.0 + 4.0 / 5.0) / 2.0).abs() < 1e-12);
        assert!((s.omission - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.commission - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn nan_where_a_patch_has_no_positives() {
        // No shadow in the reference nor in the prediction: PA, UA, BOA, both errors NaN.
        let clear = patch(&[(Clear, Clear), (Cloud, Cloud)]);
        let s = Scores::of(&Problem::Shadow.binary(&clear));
        assert!(s.pa.is_nan() && s.ua.is_nan() && s.boa.is_nan());
        assert!(s.omission.is_nan() && s.commission.is_nan());
        // A false alarm on a shadow-free patch: UA 0 (defined), PA and BOA still NaN.
        let alarm = patch(&[(Clear, Shadow), (Clear, Clear)]);
        let s = Scores::of(&Problem::Shadow.binary(&alarm));
        assert_eq!(s.ua, 0.0);
        assert_eq!(s.commission, 1.0);
        assert!(s.pa.is_nan() && s.boa.is_nan());
        // All cloud: no negatives, so TNR and BOA are NaN while PA is defined.
        let overcast = patch(&[(Cloud, Cloud), (Cloud, Clear)]);
        let s = Scores::of(&Problem::Cloud.binary(&overcast));
        assert_eq!(s.pa, 0.5);
        assert!(s.boa.is_nan());
    }

    #[test]
    fn median_leaves_nan_patches_out() {
        assert_eq!(median([0.2, f64::NAN, 0.9, 0.5]), 0.5);
        // Even count: mean of the two middle values (0.5 and 0.7).
        assert!((median([0.9, 0.5, f64::NAN, 0.7, 0.1]) - 0.6).abs() < 1e-12);
        assert!(median([f64::NAN, f64::NAN]).is_nan());
        assert!(median(std::iter::empty()).is_nan());
    }

    #[test]
    fn buckets_edges_belong_to_the_middle() {
        let b = Buckets::of([0.0, 0.0999, 0.1, 0.5, 0.9, 0.9001, 1.0, f64::NAN]);
        assert_eq!(
            b,
            Buckets {
                low: 2,
                middle: 3,
                high: 2,
                undefined: 1
            }
        );
    }

    #[test]
    fn summary_over_patches_by_hand() {
        // Three patches for the cloud problem:
        //  p1: TP 1, FN 1, TN 2        → PA 0.5, UA 1,   BOA (0.5 + 1) / 2 = 0.75
        //  p2: no cloud, FP 1, TN 1    → PA NaN, UA 0,   BOA NaN
        //  p3: TP 2, TN 1, FP 1        → PA 1,   UA 2/3, BOA (1 + 0.5) / 2 = 0.75
        let p1 = patch(&[
            (Cloud, Cloud),
            (Cloud, Clear),
            (Clear, Clear),
            (Clear, Clear),
        ]);
        let p2 = patch(&[(Clear, Cloud), (Clear, Clear)]);
        let p3 = patch(&[
            (Cloud, Cloud),
            (Cloud, Cloud),
            (Clear, Clear),
            (Clear, Cloud),
        ]);
        let s = summarize(Problem::Cloud, &[p1, p2, p3], 2.0);
        assert_eq!(s.median_boa, 0.75);
        assert_eq!(s.patches_with_boa, 2);
        assert_eq!(
            s.pa_buckets,
            Buckets {
                low: 0,
                middle: 1,
                high: 1,
                undefined: 1
            }
        );
        assert_eq!(
            s.ua_buckets,
            Buckets {
                low: 1,
                middle: 1,
                high: 1,
                undefined: 0
            }
        );
        // Pooled: TP 3, FN 1, FP 2, TN 4 → PA 0.75, UA 0.6, F2 = 15 / (15 + 4 + 2).
        assert_eq!(s.pooled.pa, 0.75);
        assert_eq!(s.pooled.ua, 0.6);
        assert!((s.pooled_f_beta - 15.0 / 21.0).abs() < 1e-12);
    }
}

//! The confusion matrix over cloudmask's common classes, and the metrics read from it:
//! overall accuracy, Cohen's kappa, per-class IoU / F1 / F-beta, and binary counts for any
//! split of the classes into positive and negative.
//!
//! Rows are the reference, columns the prediction. Pixels whose reference is nodata are never
//! counted; a prediction of nodata over a labelled pixel is counted (in the nodata column), so
//! it is an error for every class. A metric whose denominator is zero is NaN.

use crate::model::CommonClass;

/// Number of common classes (codes 0..=4).
pub const N_CLASSES: usize = CommonClass::ALL.len();

/// Pixel counts, `counts[reference][predicted]`, indexed by common class code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub counts: [[u64; N_CLASSES]; N_CLASSES],
}

/// True / false positives and negatives of one binary problem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Binary {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
}

/// Per-class scores from the multi-class matrix (one class against all others).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ClassScores {
    /// Reference pixels of the class.
    pub support: u64,
    /// Recall, producer's accuracy.
    pub recall: f64,
    /// Precision, user's accuracy.
    pub precision: f64,
    pub iou: f64,
    pub f1: f64,
    pub f_beta: f64,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

impl Confusion {
    /// Counts one block: `reference` and `predicted` hold common class codes, pixel by pixel.
    /// Codes above 4 are a caller's bug (mappings only produce common codes) and panic.
    pub fn add(&mut self, reference: &[u8], predicted: &[u8]) {
        assert_eq!(
            reference.len(),
            predicted.len(),
            "blocks of different sizes"
        );
        for (&r, &p) in reference.iter().zip(predicted) {
            if r != CommonClass::Nodata.code() {
                self.counts[r as usize][p as usize] += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &Confusion) {
        for (row, other_row) in self.counts.iter_mut().zip(&other.counts) {
            for (c, o) in row.iter_mut().zip(other_row) {
                *c += o;
            }
        }
    }

    /// Labelled pixels counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    fn row(&self, class: usize) -> u64 {
        self.counts[class].iter().sum()
    }

    fn column(&self, class: usize) -> u64 {
        self.counts.iter().map(|r| r[class]).sum()
    }

    fn diagonal(&self) -> u64 {
        (0..N_CLASSES).map(|i| self.counts[i][i]).sum()
    }

    pub fn overall_accuracy(&self) -> f64 {
        ratio(self.diagonal(), self.total())
    }

    /// Cohen's kappa: (p_o - p_e) / (1 - p_e), with p_e from the row and column totals. NaN when
    /// nothing was counted or when chance agreement is already perfect (p_e = 1).
    pub fn kappa(&self) -> f64 {
        let n = self.total() as f64;
        if n == 0.0 {
            return f64::NAN;
        }
        let po = self.diagonal() as f64 / n;
        let pe = (0..N_CLASSES)
            .map(|i| self.row(i) as f64 * self.column(i) as f64)
            .sum::<f64>()
            / (n * n);
        if pe >= 1.0 {
            return f64::NAN;
        }
        (po - pe) / (1.0 - pe)
    }

    /// Collapses the matrix into a binary problem: `positive` says which classes count as
    /// positive (for the reference and the prediction alike).
    pub fn binary(&self, positive: impl Fn(CommonClass) -> bool) -> Binary {
        let mut b = Binary::default();
        for r in CommonClass::ALL {
            for p in CommonClass::ALL {
                let n = self.counts[r.code() as usize][p.code() as usize];
                match (positive(r), positive(p)) {
                    (true, true) => b.tp += n,
                    (false, true) => b.fp += n,
                    (true, false) => b.fn_ += n,
                    (false, false) => b.tn += n,
                }
            }
        }
        b
    }

    /// One class against all the others.
    pub fn class_scores(&self, class: CommonClass, beta: f64) -> ClassScores {
        let b = self.binary(|c| c == class);
        ClassScores {
            support: b.tp + b.fn_,
            recall: b.producers_accuracy(),
            precision: b.users_accuracy(),
            iou: b.iou(),
            f1: b.f_beta(1.0),
            f_beta: b.f_beta(beta),
        }
    }

    /// Classes with any pixel in the reference or the prediction.
    pub fn classes_present(&self) -> Vec<CommonClass> {
        CommonClass::ALL
            .into_iter()
            .filter(|c| self.row(c.code() as usize) + self.column(c.code() as usize) > 0)
            .collect()
    }
}

impl Binary {
    /// PA, recall, true positive rate: TP / (TP + FN). NaN without reference positives.
    pub fn producers_accuracy(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// UA, precision: TP / (TP + FP). NaN without predicted positives.
    pub fn users_accuracy(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// True negative rate: TN / (TN + FP). NaN without reference negatives.
    pub fn true_negative_rate(&self) -> f64 {
        ratio(self.tn, self.tn + self.fp)
    }

    /// Balanced overall accuracy (TPR + TNR) / 2: NaN when either rate is.
    pub fn balanced_accuracy(&self) -> f64 {
        (self.producers_accuracy() + self.true_negative_rate()) / 2.0
    }

    /// TP / (TP + FP + FN).
    pub fn iou(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp + self.fn_)
    }

    /// (1 + β²) TP / ((1 + β²) TP + β² FN + FP): β = 1 is F1 (Dice), β = 2 weighs recall more.
    pub fn f_beta(&self, beta: f64) -> f64 {
        let b2 = beta * beta;
        let num = (1.0 + b2) * self.tp as f64;
        let den = num + b2 * self.fn_ as f64 + self.fp as f64;
        if den == 0.0 {
            f64::NAN
        } else {
            num / den
        }
    }

    pub fn merge(&mut self, other: &Binary) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommonClass::*;

    fn codes(classes: &[CommonClass]) -> Vec<u8> {
        classes.iter().map(|c| c.code()).collect()
    }

    /// A 3 x 3 "raster" (row-major) with a nodata reference pixel and a nodata prediction:
    ///   reference  clear clear cloud / cloud cloud shadow / clear nodata shadow
    ///   prediction clear cloud cloud / cloud clear shadow / nodata cloud clear
    fn tiny() -> Confusion {
        let reference = codes(&[
            Clear, Clear, Cloud, Cloud, Cloud, Shadow, Clear, Nodata, Shadow,
        ]);
        let predicted = codes(&[
            Clear, Cloud, Cloud, Cloud, Clear, Shadow, Nodata, Cloud, Clear,
        ]);
        let mut m = Confusion::default();
        m.add(&reference, &predicted);
        m
    }

    #[test]
    fn counts_skip_reference_nodata_only() {
        let m = tiny();
        assert_eq!(m.total(), 8);
        assert_eq!(m.counts[Clear as usize], [1, 1, 1, 0, 0]);
        assert_eq!(m.counts[Cloud as usize], [0, 1, 2, 0, 0]);
        assert_eq!(m.counts[Shadow as usize], [0, 1, 0, 0, 1]);
        assert_eq!(m.counts[Nodata as usize], [0; 5]);
    }

    #[test]
    fn accuracy_and_kappa_by_hand() {
        let m = tiny();
        // Diagonal: clear 1 + cloud 2 + shadow 1 = 4 of 8.
        assert_eq!(m.overall_accuracy(), 0.5);
        // Rows (reference): nodata 0, clear 3, cloud 3, thin 0, shadow 2.
        // Columns (predicted): nodata 1, clear 3, cloud 3, thin 0, shadow 1.
        // p_e = (0*1 + 3*3 + 3*3 + 0 + 2*1) / 64 = 20/64; kappa = (0.5 - 0.3125) / 0.6875.
        let want = (0.5 - 20.0 / 64.0) / (1.0 - 20.0 / 64.0);
        assert!((m.kappa() - want).abs() < 1e-12, "{}", m.kappa());
        assert!((m.kappa() - 0.272_727_272_727).abs() < 1e-9);
    }

    #[test]
    fn per_class_scores_by_hand() {
        let m = tiny();
        // Cloud: TP 2, FN 1 (cloud → clear), FP 1 (clear → cloud).
        let cloud = m.class_scores(Cloud, 2.0);
        assert_eq!(cloud.support, 3);
        assert_eq!(cloud.recall, 2.0 / 3.0);
        assert_eq!(cloud.precision, 2.0 / 3.0);
        assert_eq!(cloud.iou, 0.5);
        assert!((cloud.f1 - 2.0 / 3.0).abs() < 1e-12);
        // F2 = 5*2 / (5*2 + 4*1 + 1) = 10/15.
        assert!((cloud.f_beta - 10.0 / 15.0).abs() < 1e-12);
        // Shadow: TP 1, FN 1, FP 0 → F2 = 5 / (5 + 4) while F1 = 2/3.
        let shadow = m.class_scores(Shadow, 2.0);
        assert_eq!(shadow.precision, 1.0);
        assert_eq!(shadow.recall, 0.5);
        assert!((shadow.f_beta - 5.0 / 9.0).abs() < 1e-12);
        assert!((shadow.f1 - 2.0 / 3.0).abs() < 1e-12);
        // Thin cloud is absent everywhere: every ratio is NaN.
        let thin = m.class_scores(ThinCloud, 2.0);
        assert!(thin.iou.is_nan() && thin.f1.is_nan() && thin.recall.is_nan());
        assert_eq!(m.classes_present(), vec![Nodata, Clear, Cloud, Shadow]);
    }

    #[test]
    fn kappa_is_nan_without_pixels_or_with_one_class_only() {
        assert!(Confusion::default().kappa().is_nan());
        let mut m = Confusion::default();
        m.add(&codes(&[Clear, Clear]), &codes(&[Clear, Clear]));
        assert!(m.kappa().is_nan());
        assert_eq!(m.overall_accuracy(), 1.0);
        // A constant prediction over two reference classes agrees only by chance: kappa 0.
        let mut c = Confusion::default();
        c.add(&codes(&[Clear, Cloud]), &codes(&[Clear, Clear]));
        assert_eq!(c.kappa(), 0.0);
    }

    #[test]
    fn binary_rates_and_their_nan_cases() {
        let b = Binary {
            tp: 3,
            fp: 1,
            fn_: 1,
            tn: 5,
        };
        assert_eq!(b.producers_accuracy(), 0.75);
        assert_eq!(b.users_accuracy(), 0.75);
        assert_eq!(b.true_negative_rate(), 5.0 / 6.0);
        assert!((b.balanced_accuracy() - (0.75 + 5.0 / 6.0) / 2.0).abs() < 1e-12);
        let no_positives = Binary {
            tp: 0,
            fp: 2,
            fn_: 0,
            tn: 8,
        };
        assert!(no_positives.producers_accuracy().is_nan());
        assert_eq!(no_positives.users_accuracy(), 0.0);
        assert!(no_positives.balanced_accuracy().is_nan());
        assert_eq!(no_positives.f_beta(2.0), 0.0);
        let nothing = Binary {
            tn: 4,
            ..Binary::default()
        };
        assert!(nothing.users_accuracy().is_nan() && nothing.f_beta(1.0).is_nan());
    }
}

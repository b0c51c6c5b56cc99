//! Losses: pixel-wise cross-entropy (optionally class-weighted) and soft Dice, over labelled
//! pixels only (label -1 is ignored by both).

use tch::{Kind, Reduction, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    CrossEntropy,
    /// Cross-entropy plus soft Dice, equally weighted.
    CrossEntropyDice,
}

impl LossKind {
    pub fn parse(s: &str) -> Option<LossKind> {
        match s {
            "ce" => Some(LossKind::CrossEntropy),
            "ce+dice" | "dice" => Some(LossKind::CrossEntropyDice),
            _ => None,
        }
    }
}

/// `logits` N x K x H x W, `target` N x H x W (class index or -1).
pub fn loss(kind: LossKind, logits: &Tensor, target: &Tensor, weights: Option<&Tensor>) -> Tensor {
    let ce = logits.cross_entropy_loss(target, weights, Reduction::Mean, -1, 0.0);
    match kind {
        LossKind::CrossEntropy => ce,
        LossKind::CrossEntropyDice => ce + soft_dice(logits, target),
    }
}

/// 1 - mean over classes of (2 Σ p·t + 1) / (Σ p + Σ t + 1), on labelled pixels.
pub fn soft_dice(logits: &Tensor, target: &Tensor) -> Tensor {
    let k = logits.size()[1];
    let labelled = target.ge(0).unsqueeze(1).to_kind(Kind::Float);
    let probs = logits.softmax(1, Kind::Float) * &labelled;
    let onehot = target
        .clamp_min(0)
        .one_hot(k)
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        * &labelled;
    let dims: &[i64] = &[0, 2, 3];
    let inter = (&probs * &onehot).sum_dim_intlist(dims, false, Kind::Float);
    let total = probs.sum_dim_intlist(dims, false, Kind::Float)
        + onehot.sum_dim_intlist(dims, false, Kind::Float);
    1.0 - ((inter * 2.0 + 1.0) / (total + 1.0)).mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_pixels_do_not_count_and_perfect_predictions_score_zero_dice() {
        let target = Tensor::from_slice(&[0i64, 1, -1, 1]).view([1, 2, 2]);
        let onehot =
            Tensor::from_slice(&[20f32, -20., 0., -20., -20., 20., 0., 20.]).view([1, 2, 2, 2]);
        assert!(soft_dice(&onehot, &target).double_value(&[]) < 1e-6);
        let ce = loss(LossKind::CrossEntropy, &onehot, &target, None).double_value(&[]);
        assert!(ce < 1e-6, "{ce}");
        let flat = Tensor::zeros([1, 2, 2, 2], (Kind::Float, tch::Device::Cpu));
        let ce = loss(LossKind::CrossEntropy, &flat, &target, None).double_value(&[]);
        assert!((ce - 2f64.ln()).abs() < 1e-6, "{ce}");
    }
}

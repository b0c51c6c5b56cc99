//! Small heads on top of the encoder's pooled features: the MLP projection of MoCo v2 and SeCo.

use tch::{nn, nn::Module, Tensor};

/// Linear → ReLU → linear, output L2-normalised.
#[derive(Debug)]
pub struct Projection {
    a: nn::Linear,
    b: nn::Linear,
}

impl Projection {
    pub fn new(p: &nn::Path, input: i64, hidden: i64, output: i64) -> Projection {
        Projection {
            a: nn::linear(p / "a", input, hidden, Default::default()),
            b: nn::linear(p / "b", hidden, output, Default::default()),
        }
    }

    pub fn forward(&self, features: &Tensor) -> Tensor {
        normalise(&self.b.forward(&self.a.forward(features).relu()))
    }
}

/// Rows scaled to unit length.
pub fn normalise(x: &Tensor) -> Tensor {
    x / x.norm_scalaropt_dim(2, [1], true).clamp_min(1e-12)
}

/// Encoder features pooled over space: N x C x h x w → N x C.
pub fn pooled(features: &Tensor) -> Tensor {
    features.mean_dim([2i64, 3].as_slice(), false, tch::Kind::Float)
}

/// InfoNCE: cross-entropy of the positive (column 0) against the negatives, at temperature `t`.
/// `q`, `positive`: N x D (unit rows); `negatives`: M x D.
pub fn info_nce(q: &Tensor, positive: &Tensor, negatives: &Tensor, t: f64) -> Tensor {
    let l_pos = (q * positive).sum_dim_intlist([1i64].as_slice(), true, tch::Kind::Float);
    let logits = if negatives.size()[0] > 0 {
        Tensor::cat(&[l_pos, q.matmul(&negatives.tr())], 1)
    } else {
        l_pos
    } / t;
    let target = Tensor::zeros([q.size()[0]], (tch::Kind::Int64, q.device()));
    logits.cross_entropy_for_logits(&target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_nce_is_low_when_the_positive_wins_and_matches_the_formula() {
        let q = Tensor::from_slice(&[1f32, 0.]).view([1, 2]);
        let pos = q.shallow_clone();
        let neg = Tensor::from_slice(&[0f32, 1., -1., 0.]).view([2, 2]);
        let l = info_nce(&q, &pos, &neg, 1.0).double_value(&[]);
        // -log(e^1 / (e^1 + e^0 + e^-1))
        let want = -(1f64.exp() / (1f64.exp() + 1.0 + (-1f64).exp())).ln();
        assert!((l - want).abs() < 1e-6, "{l} vs {want}");
        let swapped = info_nce(&q, &neg.get(1).view([1, 2]), &pos, 1.0).double_value(&[]);
        assert!(swapped > l);
    }
}

//! Confusion counts and per-class IoU during training (labelled pixels only).

use tch::{Kind, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    pub classes: usize,
    /// counts[truth * classes + predicted]
    pub counts: Vec<i64>,
}

impl Confusion {
    pub fn new(classes: usize) -> Confusion {
        Confusion {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Adds a batch: `logits` N x K x H x W, `target` N x H x W (-1 ignored).
    pub fn add(&mut self, logits: &Tensor, target: &Tensor) {
        let k = self.classes as i64;
        let pred = logits.argmax(1, false);
        let mask = target.ge(0);
        let idx = (target.masked_select(&mask) * k + pred.masked_select(&mask))
            .to_device(tch::Device::Cpu);
        let counts = idx.bincount::<Tensor>(None, k * k).to_kind(Kind::Int64);
        for (c, v) in self
            .counts
            .iter_mut()
            .zip(Vec::<i64>::try_from(&counts).unwrap_or_default())
        {
            *c += v;
        }
    }

    /// Intersection over union per class; NaN for a class absent from both truth and prediction.
    pub fn iou(&self) -> Vec<f64> {
        let k = self.classes;
        (0..k)
            .map(|c| {
                let tp = self.counts[c * k + c] as f64;
                let truth: i64 = (0..k).map(|p| self.counts[c * k + p]).sum();
                let pred: i64 = (0..k).map(|t| self.counts[t * k + c]).sum();
                let union = (truth + pred) as f64 - tp;
                if union == 0.0 {
                    f64::NAN
                } else {
                    tp / union
                }
            })
            .collect()
    }

    pub fn accuracy(&self) -> f64 {
        let k = self.classes;
        let total: i64 = self.counts.iter().sum();
        let right: i64 = (0..k).map(|c| self.counts[c * k + c]).sum();
        right as f64 / total.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_iou_by_hand() {
        let mut c = Confusion::new(2);
        // Pixels: truth 0 pred 0, truth 1 pred 0, truth 1 pred 1, ignored.
        let logits = Tensor::from_slice(&[5f32, 5., -5., 0., -5., -5., 5., 0.]).view([1, 2, 2, 2]);
        let target = Tensor::from_slice(&[0i64, 1, 1, -1]).view([1, 2, 2]);
        c.add(&logits, &target);
        assert_eq!(c.counts, [1, 0, 1, 1]);
        let iou = c.iou();
        assert!(
            (iou[0] - 0.5).abs() < 1e-12 && (iou[1] - 0.5).abs() < 1e-12,
            "{iou:?}"
        );
        assert!((c.accuracy() - 2.0 / 3.0).abs() < 1e-12);
    }
}

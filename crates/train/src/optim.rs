//! AdamW and the learning-rate schedule.
//!
//! AdamW is written here over tch tensors (the update rule only; gradients come from libtorch's
//! autograd) because its moments must go into checkpoints: a resumed run has to continue exactly
//! where the interrupted one stopped, and tch's optimisers cannot save their state.

use cloudmask::error::{Error, Result};
use std::f64::consts::PI;
use tch::{nn::VarStore, Tensor};

pub struct AdamW {
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// Updates done so far.
    pub step: i64,
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl AdamW {
    /// Over the trainable variables of `vs`, in name order.
    pub fn new(vs: &VarStore, weight_decay: f64) -> AdamW {
        AdamW::over(&[("", vs)], weight_decay)
    }

    /// Over the trainable variables of several stores (e.g. an encoder and a projection head),
    /// each name prefixed with its store's tag.
    pub fn over(stores: &[(&str, &VarStore)], weight_decay: f64) -> AdamW {
        let mut params: Vec<(String, Tensor)> = stores
            .iter()
            .flat_map(|(tag, vs)| {
                vs.variables()
                    .into_iter()
                    .filter(|(_, t)| t.requires_grad())
                    .map(move |(n, t)| (format!("{tag}{n}"), t))
            })
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |p: &[(String, Tensor)]| p.iter().map(|(_, t)| t.zeros_like()).collect();
        AdamW {
            weight_decay,
            betas: (0.9, 0.999),
            eps: 1e-8,
            step: 0,
            m: zeros(&params),
            v: zeros(&params),
            params,
        }
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update with learning rate `lr` (PyTorch's AdamW rule: decoupled weight decay, then
    /// the bias-corrected Adam step).
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let (b1, b2) = self.betas;
        let c1 = 1.0 - b1.powi(self.step as i32);
        let c2 = 1.0 - b2.powi(self.step as i32);
        tch::no_grad(|| {
            for ((_, p), (m, v)) in self
                .params
                .iter_mut()
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
            {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let _ = p.g_mul_scalar_(1.0 - lr * self.weight_decay);
                let _ = m.g_mul_scalar_(b1);
                let _ = m.g_add_(&(&g * (1.0 - b1)));
                let _ = v.g_mul_scalar_(b2);
                let _ = v.g_add_(&(&g * &g * (1.0 - b2)));
                let denom = (&*v / c2).sqrt() + self.eps;
                let _ = p.g_sub_(&(&*m / &denom * (lr / c1)));
            }
        });
    }

    /// The moments as named tensors, for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter().zip(&self.v)) {
            out.push((format!("m.{name}"), m.shallow_clone()));
            out.push((format!("v.{name}"), v.shallow_clone()));
        }
        out.push(("step".to_string(), Tensor::from_slice(&[self.step])));
        out
    }

    pub fn load_state(&mut self, named: Vec<(String, Tensor)>) -> Result<()> {
        let mut map: std::collections::HashMap<String, Tensor> = named.into_iter().collect();
        let missing = |n: &str| {
            Error::model(format!(
                "optimizer state lacks '{n}' (a checkpoint of another network?)"
            ))
        };
        tch::no_grad(|| -> Result<()> {
            for ((name, _), (m, v)) in self
                .params
                .iter()
                .zip(self.m.iter_mut().zip(self.v.iter_mut()))
            {
                let sm = map
                    .remove(&format!("m.{name}"))
                    .ok_or_else(|| missing(&format!("m.{name}")))?;
                let sv = map
                    .remove(&format!("v.{name}"))
                    .ok_or_else(|| missing(&format!("v.{name}")))?;
                m.copy_(&sm);
                v.copy_(&sv);
            }
            Ok(())
        })?;
        let step = map.remove("step").ok_or_else(|| missing("step"))?;
        self.step = step.int64_value(&[0]);
        Ok(())
    }
}

/// Learning rate at update `step` of `total`: linear warm-up over the first 5 % (at least one
/// step), then cosine decay to 5 % of the base rate.
pub fn learning_rate(base: f64, step: i64, total: i64) -> f64 {
    let warm = (total / 20).max(1);
    if step < warm {
        return base * (step + 1) as f64 / warm as f64;
    }
    let t = (step - warm) as f64 / (total - warm).max(1) as f64;
    base * (0.05 + 0.95 * 0.5 * (1.0 + (PI * t.min(1.0)).cos()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn one_step_matches_the_adamw_formula() {
        let vs = VarStore::new(Device::Cpu);
        let p = vs
            .root()
            .var_copy("p", &Tensor::from_slice(&[1.0f32, -2.0]));
        let mut opt = AdamW::new(&vs, 0.1);
        let loss = (&p * &p).sum(Kind::Float);
        loss.backward();
        opt.step(0.01);
        // Step 1: m̂ = g, v̂ = g², so the Adam step is lr·g/(|g|+eps) = ±lr; decay first.
        let got = Vec::<f32>::try_from(&p).unwrap();
        let want = [1.0 * (1.0 - 0.001) - 0.01, -2.0 * (1.0 - 0.001) + 0.01];
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
        assert_eq!(opt.step, 1);
    }

    #[test]
    fn schedule_warms_up_then_decays() {
        assert!(learning_rate(1.0, 0, 100) < learning_rate(1.0, 4, 100));
        assert!((learning_rate(1.0, 5, 100) - 1.0).abs() < 1e-9);
        assert!((learning_rate(1.0, 100, 100) - 0.05).abs() < 1e-9);
    }
}

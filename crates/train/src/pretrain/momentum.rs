//! The momentum (key) encoder of MoCo and SeCo: a copy of the query networks whose weights follow
//! them by an exponential moving average, k ← m·k + (1 − m)·q, instead of by gradients.

use crate::nets::Network;
use tch::nn::VarStore;

/// Copies `query` into `key` (same variable names): the key encoder's starting point.
pub fn copy_weights(key: &mut VarStore, query: &VarStore) {
    key.copy(query)
        .expect("key and query networks have the same variables");
}

/// The key encoder of `query`: a fresh network of its spec (initialised, so the random stream
/// advances as it always did) that then takes the query's weights.
pub fn key_network(query: &Network) -> Network {
    let mut key = Network::new(&query.spec, query.vs.device());
    copy_weights(&mut key.vs, &query.vs);
    key
}

/// A projection head's query copy (trained by gradients) and key copy (following it by
/// [`ema_update`]), each in a variable store of its own.
pub struct HeadPair<T> {
    pub q_vs: VarStore,
    pub q: T,
    pub k_vs: VarStore,
    pub k: T,
}

impl<T> HeadPair<T> {
    /// Builds the query's variables first, then the key's (the random stream of building them
    /// one after the other); the key starts as a copy of the query.
    pub fn new(device: tch::Device, make: impl Fn(&VarStore) -> T) -> HeadPair<T> {
        let q_vs = VarStore::new(device);
        let q = make(&q_vs);
        let mut k_vs = VarStore::new(device);
        let k = make(&k_vs);
        copy_weights(&mut k_vs, &q_vs);
        HeadPair { q_vs, q, k_vs, k }
    }

    /// Moves the key head towards the query head.
    pub fn follow(&self, momentum: f64) {
        ema_update(&self.k_vs, &self.q_vs, momentum);
    }
}

/// k ← m·k + (1 − m)·q for every trainable variable of `query` (running statistics of batch
/// norm are not parameters: the key encoder keeps its own, as in MoCo).
pub fn ema_update(key: &VarStore, query: &VarStore, momentum: f64) {
    let keys = key.variables();
    tch::no_grad(|| {
        for (name, q) in query.variables() {
            if !q.requires_grad() {
                continue;
            }
            let mut k = keys[&name].shallow_clone();
            let updated = &k * momentum + &q * (1.0 - momentum);
            k.copy_(&updated);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Tensor};

    #[test]
    fn key_weights_move_by_exactly_the_ema_rule() {
        let q = VarStore::new(Device::Cpu);
        let mut k = VarStore::new(Device::Cpu);
        let qw = q
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0, -4.0]));
        let _ = k
            .root()
            .var_copy("w", &Tensor::from_slice(&[0.0f32, 0.0, 0.0]));
        let qs = q.root().zeros_no_train("stat", &[1]);
        let ks = k.root().var_copy("stat", &Tensor::from_slice(&[5.0f32]));
        let _ = ks.set_requires_grad(false);
        let _ = qs;
        ema_update(&k, &q, 0.9);
        let got = Vec::<f32>::try_from(&k.variables()["w"]).unwrap();
        let want = [0.1f32, 0.2, -0.4];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-7, "{got:?}");
        }
        assert_eq!(
            Vec::<f32>::try_from(&k.variables()["stat"]).unwrap(),
            [5.0],
            "buffers are not averaged"
        );
        ema_update(&k, &q, 0.9);
        let got = Vec::<f32>::try_from(&k.variables()["w"]).unwrap();
        assert!((got[1] - (0.9 * 0.2 + 0.1 * 2.0)).abs() < 1e-6);
        // The query weights are untouched.
        assert_eq!(Vec::<f32>::try_from(&qw).unwrap(), [1.0, 2.0, -4.0]);
        copy_weights(&mut k, &q);
        assert_eq!(
            Vec::<f32>::try_from(&k.variables()["w"]).unwrap(),
            [1.0, 2.0, -4.0]
        );
    }
}

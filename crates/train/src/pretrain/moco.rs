//! MoCo v2: a query encoder trained to tell, among a queue of negatives, the key embedding of
//! another view of the same patch; the key encoder follows the query encoder by momentum.

use super::heads::{info_nce, pooled, Projection};
use super::momentum::{ema_update, key_network, HeadPair};
use super::queue::Queue;
use crate::nets::resnet::FEATURES;
use crate::nets::Network;
use crate::optim::AdamW;
use tch::Tensor;

pub struct MocoConfig {
    pub queue: i64,
    pub momentum: f64,
    pub temperature: f64,
    pub dim: i64,
}

impl Default for MocoConfig {
    fn default() -> Self {
        // MoCo v2's momentum and temperature; a queue sized for small datasets.
        MocoConfig {
            queue: 1024,
            momentum: 0.99,
            temperature: 0.2,
            dim: 128,
        }
    }
}

pub struct Moco {
    pub query: Network,
    key: Network,
    proj: HeadPair<Projection>,
    /// Negatives: the keys of earlier batches.
    queue: Queue,
    cfg: MocoConfig,
}

impl Moco {
    pub fn new(query: Network, cfg: MocoConfig) -> Moco {
        let key = key_network(&query);
        let device = query.vs.device();
        let proj = HeadPair::new(device, |vs| {
            Projection::new(&vs.root(), FEATURES, FEATURES, cfg.dim)
        });
        Moco {
            queue: Queue::new(cfg.queue, cfg.dim, device),
            query,
            key,
            proj,
            cfg,
        }
    }

    pub fn optimizer(&self, weight_decay: f64) -> AdamW {
        AdamW::over(
            &[("", &self.query.vs), ("proj.", &self.proj.q_vs)],
            weight_decay,
        )
    }

    /// One step on two views of the same patches (N x C x S x S each); returns the loss.
    pub fn step(&mut self, view_q: &Tensor, view_k: &Tensor, opt: &mut AdamW, lr: f64) -> f64 {
        let encoder = self
            .query
            .encoder()
            .expect("MoCo pretrains a ResNet encoder");
        let q = self
            .proj
            .q
            .forward(&pooled(&encoder.forward_t(view_q, true)));
        let k = tch::no_grad(|| {
            let enc = self.key.encoder().expect("ResNet");
            self.proj.k.forward(&pooled(&enc.forward_t(view_k, true)))
        });
        let loss = info_nce(&q, &k, &self.queue.keys(), self.cfg.temperature);
        opt.zero_grad();
        loss.backward();
        opt.step(lr);
        ema_update(&self.key.vs, &self.query.vs, self.cfg.momentum);
        self.proj.follow(self.cfg.momentum);
        self.queue.push(&k);
        loss.double_value(&[])
    }
}

//! The WDCD block classifier and its class activation map (CAM).
//!
//! Levels of (3x3 convolution, batch norm, ReLU) x 2, with a 3x3 stride-2 max-pool (padding 1)
//! between levels: the *local pooling*. A 1x1 convolution turns the last features into one cloud
//! score per position: the CAM. *Global convolutional pooling* pools the CAM over the block into
//! the block's logit ([`Pool`]: mean, maximum or log-sum-exp), so every position of the map is
//! trained, through the block label alone, to say how much it makes the block cloudy (BCE).
//!
//! At inference the local pooling is *pruned* so the CAM keeps the input's full resolution:
//! - [`Prune::Drop`] (default) removes the pooling layers outright (WDCD's pruning): the same
//!   weights run at full resolution and see a smaller neighbourhood than in training.
//! - [`Prune::Dilate`] keeps each pooling's 3x3 maximum but drops its stride, and dilates
//!   everything after it by the stride dropped (2 after the first pooling, 4 after the second,
//!   …). The full-resolution CAM at every `stride`-th pixel is then exactly the block network's
//!   CAM, and the pixels between are the same network evaluated on shifted inputs.
//!
//! On the shared data dropping gives the sharper, better map (docs/training.md): the dilated CAM
//! keeps the block network's 17-pixel reach, and with it the blur of cloud context (shadows,
//! cloud edges) that block labels reward.
//!
//! The exported ONNX graph is the pruned network, with the clear-sky standardisation of the CAM
//! folded into the 1x1 convolution and a sigmoid: it outputs the cloud score
//! `sigmoid((CAM - mean) / std)` that the card's threshold applies to.

use crate::nets::layers::{weights, BatchNorm};
use cloudmask::onnx::graph::{Attr, GraphBuilder};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Tensor};

/// How the local pooling is pruned for the full-resolution CAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prune {
    /// Pooling removed, later layers unchanged.
    Drop,
    /// Pooling without stride, later layers dilated: the block network's CAM, densely.
    Dilate,
}

impl Prune {
    pub fn parse(text: &str) -> Option<Prune> {
        match text {
            "dilate" => Some(Prune::Dilate),
            "drop" => Some(Prune::Drop),
            _ => None,
        }
    }
}

/// The global pooling of the CAM into the block's logit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pool {
    /// The CAM's mean (global average pooling).
    Mean,
    /// The CAM's maximum.
    Max,
    /// Log-sum-exp, `log(mean(exp(r * cam))) / r`: the mean as r → 0, the maximum as r → ∞.
    Lse { r: f64 },
}

impl Pool {
    /// `mean`, `max`, `lse` (r = 2) or `lse:R`.
    pub fn parse(text: &str) -> Option<Pool> {
        match text.trim() {
            "mean" => Some(Pool::Mean),
            "max" => Some(Pool::Max),
            "lse" => Some(Pool::Lse { r: 2.0 }),
            t => t
                .strip_prefix("lse:")
                .and_then(|r| r.parse::<f64>().ok())
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Pool::Lse { r }),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Pool::Mean => "mean".into(),
            Pool::Max => "max".into(),
            Pool::Lse { r } => format!("lse:{r}"),
        }
    }

    /// Block logits (N) of CAMs (N x 1 x h x w).
    pub fn apply(&self, cam: &Tensor) -> Tensor {
        let flat = cam.flatten(1, -1);
        match *self {
            Pool::Mean => flat.mean_dim([1i64].as_slice(), false, tch::Kind::Float),
            Pool::Max => flat.amax([1i64].as_slice(), false),
            Pool::Lse { r } => {
                let n = flat.size()[1] as f64;
                ((&flat * r).logsumexp([1i64].as_slice(), false) - n.ln()) / r
            }
        }
    }
}

/// The network's shape: input bands, the width of each level, the global pooling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CamSpec {
    pub in_channels: i64,
    pub widths: Vec<i64>,
    pub pool: Pool,
}

impl CamSpec {
    /// Subsampling of the block network's CAM (2 per pooling).
    pub fn stride(&self) -> usize {
        1 << (self.widths.len() - 1)
    }

    /// Pixels each side of a full-resolution CAM value that it depends on.
    pub fn reach(&self, prune: Prune) -> usize {
        let mut reach = 0;
        let mut dilation = 1;
        for level in 0..self.widths.len() {
            if level > 0 && prune == Prune::Dilate {
                reach += dilation; // the 3x3 maximum
                dilation *= 2;
            }
            reach += 2 * dilation; // two 3x3 convolutions
        }
        reach
    }

    pub fn describe(&self) -> String {
        format!(
            "WDCD CAM network {}, {} pooling ({} bands)",
            self.widths
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            self.pool.describe(),
            self.in_channels
        )
    }
}

/// 3x3 convolution (no bias), batch norm, ReLU, at any dilation.
#[derive(Debug)]
struct Unit {
    conv: nn::Conv2D,
    bn: BatchNorm,
}

impl Unit {
    fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        let cfg = nn::ConvConfig {
            padding: 1,
            bias: false,
            ..Default::default()
        };
        Unit {
            conv: nn::conv2d(p / "conv", cin, cout, 3, cfg),
            bn: BatchNorm::new(p / "bn", cout),
        }
    }

    fn forward_t(&self, x: &Tensor, dilation: i64, train: bool) -> Tensor {
        let y = x.conv2d(
            &self.conv.ws,
            None::<&Tensor>,
            [1, 1],
            [dilation, dilation],
            [dilation, dilation],
            1,
        );
        self.bn.forward_t(&y, train).relu()
    }

    fn export(&self, g: &mut GraphBuilder, x: &str, name: &str, dilation: i64) -> String {
        let (dims, data) = weights(&self.conv.ws);
        let w = g.weight(&format!("{name}.conv.weight"), &dims, &data);
        let y = g.node(
            "Conv",
            &[x, &w],
            &[
                ("kernel_shape", Attr::Ints(vec![3, 3])),
                ("dilations", Attr::Ints(vec![dilation, dilation])),
                ("pads", Attr::Ints(vec![dilation; 4])),
            ],
        );
        let y = self.bn.export(g, &y, &format!("{name}.bn"));
        g.node("Relu", &[&y], &[])
    }
}

/// The block classifier with its weights.
pub struct CamNet {
    pub spec: CamSpec,
    pub vs: nn::VarStore,
    levels: Vec<(Unit, Unit)>,
    /// The 1x1 convolution to one channel: the CAM.
    head: nn::Conv2D,
}

impl CamNet {
    pub fn new(spec: &CamSpec, device: Device) -> CamNet {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut cin = spec.in_channels;
        let mut levels = Vec::new();
        for (i, &w) in spec.widths.iter().enumerate() {
            let p = &root / "level" / i;
            levels.push((Unit::new(&(&p / "0"), cin, w), Unit::new(&(&p / "1"), w, w)));
            cin = w;
        }
        let head = nn::conv2d(&root / "cam", cin, 1, 1, Default::default());
        CamNet {
            spec: spec.clone(),
            vs,
            levels,
            head,
        }
    }

    fn cam_of(&self, features: &Tensor) -> Tensor {
        features.apply(&self.head)
    }

    /// Training network: block logits (N) and the subsampled CAM (N x 1 x H/stride x W/stride)
    /// they pool (global convolutional pooling).
    pub fn forward_block(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let mut y = x.shallow_clone();
        for (i, (a, b)) in self.levels.iter().enumerate() {
            if i > 0 {
                y = y.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
            }
            y = b.forward_t(&a.forward_t(&y, 1, train), 1, train);
        }
        let cam = self.cam_of(&y);
        let logit = self.spec.pool.apply(&cam);
        (logit, cam)
    }

    /// The pruned network (evaluation mode): the CAM at the input's full resolution,
    /// N x 1 x H x W, for any H and W.
    pub fn forward_cam(&self, x: &Tensor, prune: Prune) -> Tensor {
        let mut y = x.shallow_clone();
        let mut d = 1;
        for (i, (a, b)) in self.levels.iter().enumerate() {
            if i > 0 && prune == Prune::Dilate {
                // libtorch pads a pooling by at most half its (undilated) kernel: pad first.
                y = y
                    .pad([d, d, d, d], "constant", f64::NEG_INFINITY)
                    .max_pool2d([3, 3], [1, 1], [0, 0], [d, d], false);
                d *= 2;
            }
            y = b.forward_t(&a.forward_t(&y, d, false), d, false);
        }
        self.cam_of(&y)
    }

    /// The pruned network as an ONNX graph, input `image`, output `score`:
    /// `sigmoid((CAM - mean) / std)`, one channel at full resolution.
    pub fn to_onnx(
        &self,
        prune: Prune,
        mean: f64,
        std: f64,
        metadata: &[(String, String)],
    ) -> Vec<u8> {
        let mut g = GraphBuilder::new();
        let mut y = "image".to_string();
        let mut d = 1;
        tch::no_grad(|| {
            for (i, (a, b)) in self.levels.iter().enumerate() {
                if i > 0 && prune == Prune::Dilate {
                    // ONNX Runtime wants pooling pads smaller than the kernel: pad with -inf first.
                    let pads = g.int64s(&format!("level.{i}.pool.pads"), &[0, 0, d, d, 0, 0, d, d]);
                    let low = g.weight(&format!("level.{i}.pool.value"), &[], &[f32::NEG_INFINITY]);
                    let padded = g.node(
                        "Pad",
                        &[&y, &pads, &low],
                        &[("mode", Attr::Text("constant".into()))],
                    );
                    y = g.node(
                        "MaxPool",
                        &[&padded],
                        &[
                            ("kernel_shape", Attr::Ints(vec![3, 3])),
                            ("dilations", Attr::Ints(vec![d, d])),
                        ],
                    );
                    d *= 2;
                }
                y = a.export(&mut g, &y, &format!("level.{i}.0"), d);
                y = b.export(&mut g, &y, &format!("level.{i}.1"), d);
            }
            // (w . f + b - mean) / std as one 1x1 convolution.
            let (dims, w) = weights(&(&self.head.ws / std));
            let w = g.weight("cam.weight", &dims, &w);
            let bias = self.head.bs.as_ref().expect("the CAM has a bias");
            let (bdims, b) = weights(&((bias - mean) / std));
            let b = g.weight("cam.bias", &bdims, &b);
            let cam = g.node(
                "Conv",
                &[&y, &w, &b],
                &[("kernel_shape", Attr::Ints(vec![1, 1]))],
            );
            y = g.node("Sigmoid", &[&cam], &[]);
        });
        g.identity(&y, "score");
        g.finish(
            "image",
            self.spec.in_channels as usize,
            "score",
            1,
            metadata,
        )
    }

    pub fn parameter_count(&self) -> i64 {
        crate::nets::parameter_count(&self.vs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn net(widths: &[i64]) -> CamNet {
        tch::manual_seed(3);
        let net = CamNet::new(
            &CamSpec {
                in_channels: 6,
                widths: widths.to_vec(),
                pool: Pool::Mean,
            },
            Device::Cpu,
        );
        // Move the batch-norm statistics off 0/1 so evaluation mode is not the identity.
        tch::no_grad(|| {
            for _ in 0..3 {
                let x = Tensor::randn([4, 6, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 + 0.3;
                let _ = net.forward_block(&x, true);
            }
        });
        net
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn the_block_logit_is_the_mean_of_the_subsampled_cam() {
        let net = net(&[8, 16, 32]);
        let x = Tensor::randn([3, 6, 32, 32], (Kind::Float, Device::Cpu));
        let (logit, cam) = tch::no_grad(|| net.forward_block(&x, false));
        assert_eq!(cam.size(), [3, 1, 8, 8]);
        assert_eq!(logit.size(), [3]);
        let mean = cam.mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float);
        assert!(max_diff(&logit, &mean) < 1e-6);
    }

    #[test]
    fn lse_pooling_lies_between_mean_and_max() {
        let cam = Tensor::from_slice(&[-4.0f32, 0.0, 1.0, 3.0]).view([1, 1, 2, 2]);
        let v = |p: Pool| p.apply(&cam).double_value(&[0]);
        assert_eq!(v(Pool::Mean), 0.0);
        assert_eq!(v(Pool::Max), 3.0);
        let lse2 = v(Pool::Lse { r: 2.0 });
        let want = ((((-8f64).exp() + 1.0 + 2f64.exp() + 6f64.exp()) / 4.0).ln()) / 2.0;
        assert!((lse2 - want).abs() < 1e-5, "{lse2} vs {want}");
        assert!(0.0 < lse2 && lse2 < 3.0);
        assert!((v(Pool::Lse { r: 1e-4 }) - 0.0).abs() < 1e-2);
        assert!((v(Pool::Lse { r: 200.0 }) - 3.0).abs() < 1e-2);
        assert_eq!(Pool::parse("lse"), Some(Pool::Lse { r: 2.0 }));
        assert_eq!(Pool::parse("lse:8"), Some(Pool::Lse { r: 8.0 }));
        assert_eq!(Pool::parse("lse:-1"), None);
    }

    #[test]
    fn the_pruned_cam_keeps_full_resolution_and_equals_the_block_cam_on_its_grid() {
        let net = net(&[8, 16, 32]);
        assert_eq!(net.spec.stride(), 4);
        for (h, w) in [(32, 32), (40, 52)] {
            let x = Tensor::randn([2, 6, h, w], (Kind::Float, Device::Cpu));
            let (_, block) = tch::no_grad(|| net.forward_block(&x, false));
            for prune in [Prune::Dilate, Prune::Drop] {
                let full = tch::no_grad(|| net.forward_cam(&x, prune));
                assert_eq!(full.size(), [2, 1, h, w], "{prune:?}");
            }
            // Dilated pruning: every 4th pixel is the block network's CAM.
            let full = tch::no_grad(|| net.forward_cam(&x, Prune::Dilate));
            let sampled = full.slice(2, 0, h, 4).slice(3, 0, w, 4);
            assert_eq!(sampled.size(), block.size());
            let d = max_diff(&sampled, &block);
            assert!(d < 1e-4, "{h} x {w}: {d}");
            // ... and the pixels between are not copies of it (full resolution, not upsampling).
            let between = full.slice(2, 1, h, 4).slice(3, 1, w, 4);
            let n = between.size()[2].min(block.size()[2]);
            let m = between.size()[3].min(block.size()[3]);
            let d = max_diff(
                &between.slice(2, 0, n, 1).slice(3, 0, m, 1),
                &block.slice(2, 0, n, 1).slice(3, 0, m, 1),
            );
            assert!(d > 1e-3, "the in-between pixels repeat the grid's values");
        }
        // Dropping the pooling is another function: it does not reproduce the block CAM.
        let x = Tensor::randn([1, 6, 32, 32], (Kind::Float, Device::Cpu));
        let (_, block) = tch::no_grad(|| net.forward_block(&x, false));
        let dropped = tch::no_grad(|| net.forward_cam(&x, Prune::Drop));
        let sampled = dropped.slice(2, 0, 32, 4).slice(3, 0, 32, 4);
        assert!(max_diff(&sampled, &block) > 1e-3);
    }

    #[test]
    fn reach_counts_the_dilated_receptive_field() {
        let spec = CamSpec {
            in_channels: 6,
            widths: vec![8, 16, 32],
            pool: Pool::Mean,
        };
        // 2 + (1 + 4) + (2 + 8) with dilation; 2 + 2 + 2 without pooling.
        assert_eq!(spec.reach(Prune::Dilate), 17);
        assert_eq!(spec.reach(Prune::Drop), 6);
        // A change at distance reach + 1 does not move the centre's CAM; at reach it does.
        let net = net(&[8, 16, 32]);
        let x = Tensor::randn([1, 6, 64, 64], (Kind::Float, Device::Cpu));
        let centre = |t: &Tensor| {
            tch::no_grad(|| net.forward_cam(t, Prune::Dilate)).double_value(&[0, 0, 32, 32])
        };
        let base = centre(&x);
        let poke = |dx: i64| {
            let y = x.copy();
            let _ = y.get(0).get(0).get(32).get(32 + dx).fill_(9.0);
            centre(&y)
        };
        assert_eq!(poke(18), base);
        assert_ne!(poke(17), base);
    }
}

//! ResNet-18 encoder with the self-supervised paper's segmentation head (3x3 conv,
//! InstanceNorm, ReLU, 1x1 conv), whose class scores are upsampled bilinearly to the input size.
//! The encoder lives under the variable prefix `encoder.` so pretraining (MoCo, DeepCluster) can
//! train and hand over just that part.

use super::layers::{export_max_pool, max_pool, Conv, ConvBn, InstanceNorm};
use cloudmask::onnx::graph::{Attr, GraphBuilder};
use tch::{nn, Tensor};

/// Total stride of the encoder: inputs must be multiples of it.
pub const STRIDE: i64 = 32;
/// Channels of the encoder's output features.
pub const FEATURES: i64 = 512;

#[derive(Debug)]
struct BasicBlock {
    a: ConvBn,
    b: ConvBn,
    shortcut: Option<ConvBn>,
}

impl BasicBlock {
    fn new(p: &nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        BasicBlock {
            a: ConvBn::new(&(p / "a"), cin, cout, 3, stride, true),
            b: ConvBn::new(&(p / "b"), cout, cout, 3, 1, false),
            shortcut: (stride != 1 || cin != cout)
                .then(|| ConvBn::new(&(p / "shortcut"), cin, cout, 1, stride, false)),
        }
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.b.forward_t(&self.a.forward_t(x, train), train);
        let s = match &self.shortcut {
            Some(sc) => sc.forward_t(x, train),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    }
    fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let y = self.a.export(g, x, &format!("{name}.a"));
        let y = self.b.export(g, &y, &format!("{name}.b"));
        let s = match &self.shortcut {
            Some(sc) => sc.export(g, x, &format!("{name}.shortcut")),
            None => x.to_string(),
        };
        let sum = g.node("Add", &[&y, &s], &[]);
        g.node("Relu", &[&sum], &[])
    }
}

/// ResNet-18: 7x7/2 stem, 3x3/2 max-pool, four stages of two basic blocks (64-512 channels).
#[derive(Debug)]
pub struct Encoder {
    stem: ConvBn,
    blocks: Vec<BasicBlock>,
}

impl Encoder {
    pub fn new(p: &nn::Path, in_channels: i64) -> Self {
        let mut blocks = Vec::new();
        let mut cin = 64;
        for (stage, &cout) in [64i64, 128, 256, 512].iter().enumerate() {
            for i in 0..2 {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(
                    &(p / format!("layer{}", stage + 1) / i),
                    cin,
                    cout,
                    stride,
                ));
                cin = cout;
            }
        }
        Encoder {
            stem: ConvBn::new(&(p / "stem"), in_channels, 64, 7, 2, true),
            blocks,
        }
    }

    /// Features at 1/32 of the input size, `FEATURES` channels.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = max_pool(&self.stem.forward_t(x, train), 3, 2, 1);
        for b in &self.blocks {
            y = b.forward_t(&y, train);
        }
        y
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str) -> String {
        let y = self.stem.export(g, x, "encoder.stem");
        let mut y = export_max_pool(g, &y, 3, 2, 1);
        for (k, b) in self.blocks.iter().enumerate() {
            y = b.export(g, &y, &format!("encoder.layer{}.{}", k / 2 + 1, k % 2));
        }
        y
    }
}

/// The 4-layer segmentation head.
#[derive(Debug)]
pub struct SegHead {
    conv: Conv,
    norm: InstanceNorm,
    classify: Conv,
}

impl SegHead {
    pub fn new(p: &nn::Path, cin: i64, width: i64, classes: i64) -> Self {
        SegHead {
            conv: Conv::new(p / "conv", cin, width, 3, 1, true),
            norm: InstanceNorm::new(p / "norm", width),
            classify: Conv::new(p / "classify", width, classes, 1, 1, true),
        }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.classify
            .forward(&self.norm.forward(&self.conv.forward(x)).relu())
    }
    pub fn export(&self, g: &mut GraphBuilder, x: &str) -> String {
        let y = self.conv.export(g, x, "head.conv");
        let y = self.norm.export(g, &y, "head.norm");
        let y = g.node("Relu", &[&y], &[]);
        self.classify.export(g, &y, "head.classify")
    }
}

#[derive(Debug)]
pub struct ResNetSeg {
    pub encoder: Encoder,
    head: SegHead,
}

impl ResNetSeg {
    pub fn new(p: &nn::Path, in_channels: i64, classes: i64, head_width: i64) -> Self {
        ResNetSeg {
            encoder: Encoder::new(&(p / "encoder"), in_channels),
            head: SegHead::new(&(p / "head"), FEATURES, head_width, classes),
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        self.head
            .forward(&self.encoder.forward_t(x, train))
            .upsample_bilinear2d([h, w], false, None, None)
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str) -> String {
        let y = self.encoder.export(g, x);
        let y = self.head.export(g, &y);
        let scales = g.weight(
            "upsample.scales",
            &[4],
            &[1.0, 1.0, STRIDE as f32, STRIDE as f32],
        );
        g.node(
            "Resize",
            &[&y, "", &scales],
            &[
                ("mode", Attr::Text("linear".into())),
                (
                    "coordinate_transformation_mode",
                    Attr::Text("half_pixel".into()),
                ),
            ],
        )
    }
}

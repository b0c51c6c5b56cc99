//! A U-Net of configurable depth and widths: (conv3x3, BN, ReLU) x 2 per level, 2x2 max-pool
//! down, 2x2 transposed convolution up, skip connections by concatenation, a 1x1 head.

use super::layers::{export_max_pool, max_pool, Conv, ConvBn, UpConv};
use cloudmask::onnx::graph::{Attr, GraphBuilder};
use tch::{nn, Tensor};

#[derive(Debug)]
struct DoubleConv(ConvBn, ConvBn);

impl DoubleConv {
    fn new(p: &nn::Path, cin: i64, cout: i64) -> Self {
        DoubleConv(
            ConvBn::new(&(p / "0"), cin, cout, 3, 1, true),
            ConvBn::new(&(p / "1"), cout, cout, 3, 1, true),
        )
    }
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.1.forward_t(&self.0.forward_t(x, train), train)
    }
    fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let y = self.0.export(g, x, &format!("{name}.0"));
        self.1.export(g, &y, &format!("{name}.1"))
    }
}

#[derive(Debug)]
pub struct UNet {
    down: Vec<DoubleConv>,
    up: Vec<(UpConv, DoubleConv)>,
    head: Conv,
}

impl UNet {
    /// `widths[i]` channels at level i (level 0 full resolution); depth = widths.len().
    pub fn new(p: &nn::Path, in_channels: i64, classes: i64, widths: &[i64]) -> Self {
        let mut down = Vec::new();
        let mut cin = in_channels;
        for (i, &w) in widths.iter().enumerate() {
            down.push(DoubleConv::new(&(p / "down" / i), cin, w));
            cin = w;
        }
        let mut up = Vec::new();
        for i in (0..widths.len() - 1).rev() {
            let q = p / "up" / i;
            up.push((
                UpConv::new(&q / "upconv", widths[i + 1], widths[i]),
                DoubleConv::new(&(&q / "conv"), 2 * widths[i], widths[i]),
            ));
        }
        UNet {
            down,
            up,
            head: Conv::new(p / "head", widths[0], classes, 1, 1, true),
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut skips = Vec::new();
        let mut y = x.shallow_clone();
        for (i, block) in self.down.iter().enumerate() {
            if i > 0 {
                y = max_pool(&y, 2, 2, 0);
            }
            y = block.forward_t(&y, train);
            skips.push(y.shallow_clone());
        }
        skips.pop();
        for (upconv, block) in &self.up {
            let skip = skips.pop().expect("one skip per level");
            y = block.forward_t(&Tensor::cat(&[skip, upconv.forward(&y)], 1), train);
        }
        self.head.forward(&y)
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str) -> String {
        let mut skips = Vec::new();
        let mut y = x.to_string();
        for (i, block) in self.down.iter().enumerate() {
            if i > 0 {
                y = export_max_pool(g, &y, 2, 2, 0);
            }
            y = block.export(g, &y, &format!("down.{i}"));
            skips.push(y.clone());
        }
        skips.pop();
        let levels = self.up.len();
        for (k, (upconv, block)) in self.up.iter().enumerate() {
            let i = levels - 1 - k;
            let skip = skips.pop().expect("one skip per level");
            let u = upconv.export(g, &y, &format!("up.{i}.upconv"));
            let cat = g.node("Concat", &[&skip, &u], &[("axis", Attr::Int(1))]);
            y = block.export(g, &cat, &format!("up.{i}.conv"));
        }
        self.head.export(g, &y, "head")
    }
}

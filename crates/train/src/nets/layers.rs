//! Building blocks shared by the networks, each with its forward pass and its ONNX description
//! side by side, so the exported graph cannot drift from what was trained.

use cloudmask::onnx::graph::{Attr, GraphBuilder};
use tch::{nn, Tensor};

/// Epsilon of every normalisation layer (PyTorch's default), written into the ONNX nodes too.
pub const NORM_EPS: f64 = 1e-5;

/// A tensor's values and shape, for writing it into the ONNX file.
pub fn weights(t: &Tensor) -> (Vec<i64>, Vec<f32>) {
    let t = t.detach().to_device(tch::Device::Cpu).contiguous();
    let data = Vec::<f32>::try_from(t.flatten(0, -1)).expect("weights are f32");
    (t.size(), data)
}

fn add_weight(g: &mut GraphBuilder, name: &str, t: &Tensor) -> String {
    let (dims, data) = weights(t);
    g.weight(name, &dims, &data)
}

/// A 2-D convolution (square kernel) with optional bias.
#[derive(Debug)]
pub struct Conv {
    conv: nn::Conv2D,
    kernel: i64,
    stride: i64,
    padding: i64,
}

impl Conv {
    pub fn new(p: nn::Path, cin: i64, cout: i64, kernel: i64, stride: i64, bias: bool) -> Self {
        let padding = kernel / 2;
        let cfg = nn::ConvConfig {
            stride,
            padding,
            bias,
            ..Default::default()
        };
        Conv {
            conv: nn::conv2d(p, cin, cout, kernel, cfg),
            kernel,
            stride,
            padding,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.apply(&self.conv)
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let w = add_weight(g, &format!("{name}.weight"), &self.conv.ws);
        let b = self
            .conv
            .bs
            .as_ref()
            .map(|b| add_weight(g, &format!("{name}.bias"), b));
        let mut inputs = vec![x, w.as_str()];
        if let Some(b) = &b {
            inputs.push(b);
        }
        let p = self.padding;
        g.node(
            "Conv",
            &inputs,
            &[
                ("kernel_shape", Attr::Ints(vec![self.kernel, self.kernel])),
                ("strides", Attr::Ints(vec![self.stride, self.stride])),
                ("pads", Attr::Ints(vec![p, p, p, p])),
            ],
        )
    }
}

/// Batch normalisation (running statistics in evaluation and in the exported graph).
#[derive(Debug)]
pub struct BatchNorm(nn::BatchNorm);

impl BatchNorm {
    pub fn new(p: nn::Path, channels: i64) -> Self {
        let cfg = nn::BatchNormConfig {
            eps: NORM_EPS,
            ..Default::default()
        };
        BatchNorm(nn::batch_norm2d(p, channels, cfg))
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.0, train)
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let bn = &self.0;
        let scale = add_weight(
            g,
            &format!("{name}.weight"),
            bn.ws.as_ref().expect("affine"),
        );
        let bias = add_weight(g, &format!("{name}.bias"), bn.bs.as_ref().expect("affine"));
        let mean = add_weight(g, &format!("{name}.running_mean"), &bn.running_mean);
        let var = add_weight(g, &format!("{name}.running_var"), &bn.running_var);
        g.node(
            "BatchNormalization",
            &[x, &scale, &bias, &mean, &var],
            &[("epsilon", Attr::Float(NORM_EPS as f32))],
        )
    }
}

/// Instance normalisation with a learned scale and shift per channel (the segmentation head's).
#[derive(Debug)]
pub struct InstanceNorm {
    weight: Tensor,
    bias: Tensor,
}

impl InstanceNorm {
    pub fn new(p: nn::Path, channels: i64) -> Self {
        InstanceNorm {
            weight: p.ones("weight", &[channels]),
            bias: p.zeros("bias", &[channels]),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.instance_norm(
            Some(&self.weight),
            Some(&self.bias),
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.1,
            NORM_EPS,
            false,
        )
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let scale = add_weight(g, &format!("{name}.weight"), &self.weight);
        let bias = add_weight(g, &format!("{name}.bias"), &self.bias);
        g.node(
            "InstanceNormalization",
            &[x, &scale, &bias],
            &[("epsilon", Attr::Float(NORM_EPS as f32))],
        )
    }
}

/// Convolution (no bias), batch norm, optional ReLU: the unit both networks are made of.
#[derive(Debug)]
pub struct ConvBn {
    conv: Conv,
    bn: BatchNorm,
    relu: bool,
}

impl ConvBn {
    pub fn new(p: &nn::Path, cin: i64, cout: i64, kernel: i64, stride: i64, relu: bool) -> Self {
        ConvBn {
            conv: Conv::new(p / "conv", cin, cout, kernel, stride, false),
            bn: BatchNorm::new(p / "bn", cout),
            relu,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.bn.forward_t(&self.conv.forward(x), train);
        if self.relu {
            y.relu()
        } else {
            y
        }
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let y = self.conv.export(g, x, &format!("{name}.conv"));
        let y = self.bn.export(g, &y, &format!("{name}.bn"));
        if self.relu {
            g.node("Relu", &[&y], &[])
        } else {
            y
        }
    }
}

/// Max pooling with a square window; `padding` on every side.
pub fn max_pool(x: &Tensor, kernel: i64, stride: i64, padding: i64) -> Tensor {
    x.max_pool2d(
        [kernel, kernel],
        [stride, stride],
        [padding, padding],
        [1, 1],
        false,
    )
}

pub fn export_max_pool(
    g: &mut GraphBuilder,
    x: &str,
    kernel: i64,
    stride: i64,
    padding: i64,
) -> String {
    g.node(
        "MaxPool",
        &[x],
        &[
            ("kernel_shape", Attr::Ints(vec![kernel, kernel])),
            ("strides", Attr::Ints(vec![stride, stride])),
            ("pads", Attr::Ints(vec![padding; 4])),
        ],
    )
}

/// A 2x2, stride-2 transposed convolution (the U-Net's up-sampling).
#[derive(Debug)]
pub struct UpConv(nn::ConvTranspose2D);

impl UpConv {
    pub fn new(p: nn::Path, cin: i64, cout: i64) -> Self {
        let cfg = nn::ConvTransposeConfig {
            stride: 2,
            ..Default::default()
        };
        UpConv(nn::conv_transpose2d(p, cin, cout, 2, cfg))
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.apply(&self.0)
    }

    pub fn export(&self, g: &mut GraphBuilder, x: &str, name: &str) -> String {
        let w = add_weight(g, &format!("{name}.weight"), &self.0.ws);
        let b = add_weight(
            g,
            &format!("{name}.bias"),
            self.0.bs.as_ref().expect("bias"),
        );
        g.node(
            "ConvTranspose",
            &[x, &w, &b],
            &[
                ("kernel_shape", Attr::Ints(vec![2, 2])),
                ("strides", Attr::Ints(vec![2, 2])),
            ],
        )
    }
}

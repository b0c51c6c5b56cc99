//! The networks the trainer builds: what they are (a serialisable spec, stored in checkpoints
//! and compared on resume), their weights (a tch `VarStore`) and their ONNX description.

pub mod layers;
pub mod resnet;
pub mod unet;

use cloudmask::error::{Error, Result};
use cloudmask::onnx::graph::GraphBuilder;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Tensor};

/// Which network, with its shape parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Arch {
    /// Widths per level, full resolution first; depth = number of widths.
    Unet { widths: Vec<i64> },
    /// ResNet-18 encoder with the 4-layer segmentation head of `head_width` channels.
    Resnet18 { head_width: i64 },
}

impl Arch {
    /// `unet`, `unet:16,32,64,128`, `resnet18`, `resnet18:256`.
    pub fn parse(text: &str) -> Result<Arch> {
        let (kind, params) = text.split_once(':').unwrap_or((text, ""));
        let numbers = |what: &str| -> Result<Vec<i64>> {
            params
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            Error::invalid(format!("--arch {text}: '{s}' is not a positive {what}"))
                        })
                })
                .collect()
        };
        match kind.trim() {
            "unet" => {
                let widths = numbers("width")?;
                let widths = if widths.is_empty() {
                    vec![16, 32, 64, 128]
                } else {
                    widths
                };
                if widths.len() < 2 {
                    return Err(Error::invalid(format!(
                        "--arch {text}: a U-Net needs at least two levels (e.g. unet:16,32,64,128)"
                    )));
                }
                Ok(Arch::Unet { widths })
            }
            "resnet18" => {
                let w = numbers("width")?;
                Ok(Arch::Resnet18 {
                    head_width: w.first().copied().unwrap_or(256),
                })
            }
            other => Err(Error::invalid(format!(
                "unknown network '{other}': use unet (e.g. unet:16,32,64,128) or resnet18 (e.g. resnet18:256)"
            ))),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Arch::Unet { widths } => format!(
                "U-Net {}",
                widths
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            ),
            Arch::Resnet18 { head_width } => format!("ResNet-18 + head {head_width}"),
        }
    }
}

/// A network's full identity: architecture, input channels, classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    pub arch: Arch,
    pub in_channels: i64,
    pub classes: i64,
}

impl NetSpec {
    /// Input sizes must be multiples of this.
    pub fn size_multiple(&self) -> usize {
        match &self.arch {
            Arch::Unet { widths } => 1 << (widths.len() - 1),
            Arch::Resnet18 { .. } => resnet::STRIDE as usize,
        }
    }

    /// Context the engine should read around each tile: the network's receptive field reaches
    /// far, but a few strides of it hold most of the influence.
    pub fn context(&self) -> usize {
        (2 * self.size_multiple()).max(32)
    }

    pub fn describe(&self) -> String {
        format!(
            "{} ({} bands, {} classes)",
            self.arch.describe(),
            self.in_channels,
            self.classes
        )
    }
}

#[derive(Debug)]
enum Body {
    Unet(Box<unet::UNet>),
    Resnet(Box<resnet::ResNetSeg>),
}

/// A network with its weights.
pub struct Network {
    pub spec: NetSpec,
    pub vs: nn::VarStore,
    body: Body,
}

impl Network {
    pub fn new(spec: &NetSpec, device: Device) -> Network {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let body = match &spec.arch {
            Arch::Unet { widths } => Body::Unet(Box::new(unet::UNet::new(
                &root,
                spec.in_channels,
                spec.classes,
                widths,
            ))),
            Arch::Resnet18 { head_width } => Body::Resnet(Box::new(resnet::ResNetSeg::new(
                &root,
                spec.in_channels,
                spec.classes,
                *head_width,
            ))),
        };
        Network {
            spec: spec.clone(),
            vs,
            body,
        }
    }

    /// Class scores (logits), N x classes x H x W.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match &self.body {
            Body::Unet(n) => n.forward_t(x, train),
            Body::Resnet(n) => n.forward_t(x, train),
        }
    }

    /// The ResNet encoder, for pretraining (`None` for a U-Net).
    pub fn encoder(&self) -> Option<&resnet::Encoder> {
        match &self.body {
            Body::Resnet(n) => Some(&n.encoder),
            Body::Unet(_) => None,
        }
    }

    /// The ONNX graph of the evaluation-mode forward pass: input `image`, output `logits`.
    pub fn to_onnx(&self, metadata: &[(String, String)]) -> Vec<u8> {
        let mut g = GraphBuilder::new();
        let out = tch::no_grad(|| match &self.body {
            Body::Unet(n) => n.export(&mut g, "image"),
            Body::Resnet(n) => n.export(&mut g, "image"),
        });
        g.identity(&out, "logits");
        g.finish(
            "image",
            self.spec.in_channels as usize,
            "logits",
            self.spec.classes as usize,
            metadata,
        )
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> i64 {
        parameter_count(&self.vs)
    }
}

/// Number of trainable values in a network's variables.
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_strings_parse_and_bad_ones_say_why() {
        assert_eq!(
            Arch::parse("unet:8,16").unwrap(),
            Arch::Unet {
                widths: vec![8, 16]
            }
        );
        assert_eq!(
            Arch::parse("resnet18").unwrap(),
            Arch::Resnet18 { head_width: 256 }
        );
        assert!(Arch::parse("unet:8")
            .unwrap_err()
            .message
            .contains("two levels"));
        assert!(Arch::parse("vgg")
            .unwrap_err()
            .message
            .contains("unknown network"));
    }

    #[test]
    fn both_networks_keep_the_input_size() {
        for arch in ["unet:4,8,16", "resnet18:16"] {
            let spec = NetSpec {
                arch: Arch::parse(arch).unwrap(),
                in_channels: 6,
                classes: 3,
            };
            let net = Network::new(&spec, Device::Cpu);
            let x = Tensor::randn([2, 6, 64, 96], (tch::Kind::Float, Device::Cpu));
            assert_eq!(net.forward_t(&x, false).size(), [2, 3, 64, 96], "{arch}");
        }
    }
}

//! Writing a new ONNX model: a small graph builder for the trainer's export.
//!
//! The trainer describes each network it knows (U-Net, ResNet-18 with its head) node by node
//! with the same weights it trained, so the file computes the same function. Only what those
//! networks need is here: float and int64 initializers, nodes with int/float attributes, one
//! float image input N x C x H x W and one output N x K x H x W, with the batch and spatial sizes
//! left symbolic so the engine can run any tile size.

use super::edit::{BATCH_DIM, HEIGHT_DIM, WIDTH_DIM};
use super::model::ELEM_TYPE_FLOAT;
use super::wire::{Encoder, WireType};

/// ONNX file format version written (IR 8 is read by ONNX Runtime 1.13 and later).
pub const IR_VERSION: u64 = 8;
/// Operator set of the default domain the nodes are written against.
pub const OPSET_VERSION: u64 = 17;
const ELEM_TYPE_INT64: u64 = 7;

/// An attribute value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Text(String),
}

/// Builds a single-input, single-output graph node by node.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<Vec<u8>>,
    initializers: Vec<Vec<u8>>,
    next_value: usize,
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a float32 weight tensor and returns its name (as given; names must be unique).
    pub fn weight(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<i64>() as usize, data.len(), "{name}");
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers
            .push(tensor(name, dims, ELEM_TYPE_FLOAT as u64, &raw));
        name.to_string()
    }

    /// Adds an int64 constant tensor (shapes, axes) and returns its name.
    pub fn int64s(&mut self, name: &str, data: &[i64]) -> String {
        let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers
            .push(tensor(name, &[data.len() as i64], ELEM_TYPE_INT64, &raw));
        name.to_string()
    }

    /// Adds a node with one output and returns the output's name. An empty input name marks an
    /// omitted optional input.
    pub fn node(&mut self, op_type: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        self.next_value += 1;
        let output = format!("{}_{}", op_type.to_ascii_lowercase(), self.next_value);
        let mut node = Encoder::new();
        for input in inputs {
            node.string(1, input);
        }
        node.string(2, &output);
        node.string(3, &format!("{op_type}_{}", self.next_value));
        node.string(4, op_type);
        for (name, value) in attrs {
            node.bytes(5, &attribute(name, value));
        }
        self.nodes.push(node.finish());
        output
    }

    /// Renames the value `from` to `to` with an Identity node (graph outputs get a stable name).
    pub fn identity(&mut self, from: &str, to: &str) {
        let mut node = Encoder::new();
        node.string(1, from);
        node.string(2, to);
        node.string(3, "output_identity");
        node.string(4, "Identity");
        self.nodes.push(node.finish());
    }

    /// The encoded model: `input` (N x `in_channels` x H x W) → `output` (N x `out_channels` x
    /// H x W), with `metadata` as `metadata_props`.
    pub fn finish(
        self,
        input: &str,
        in_channels: usize,
        output: &str,
        out_channels: usize,
        metadata: &[(String, String)],
    ) -> Vec<u8> {
        let mut graph = Encoder::new();
        for node in &self.nodes {
            graph.bytes(1, node);
        }
        graph.string(2, "cloudmask");
        for init in &self.initializers {
            graph.bytes(5, init);
        }
        graph.bytes(11, &image_value_info(input, in_channels));
        graph.bytes(12, &image_value_info(output, out_channels));

        let mut model = Encoder::new();
        model.varint(1, IR_VERSION);
        model.string(2, "cloudmask");
        model.string(3, env!("CARGO_PKG_VERSION"));
        model.bytes(7, &graph.finish());
        let mut opset = Encoder::new();
        opset.varint(2, OPSET_VERSION);
        model.bytes(8, &opset.finish());
        for (key, value) in metadata {
            let mut entry = Encoder::new();
            entry.string(1, key);
            entry.string(2, value);
            model.bytes(14, &entry.finish());
        }
        model.finish()
    }
}

fn tensor(name: &str, dims: &[i64], elem_type: u64, raw: &[u8]) -> Vec<u8> {
    let mut enc = Encoder::with_capacity(raw.len() + 64);
    for &d in dims {
        enc.varint(1, d as u64);
    }
    enc.varint(2, elem_type);
    enc.string(8, name);
    enc.bytes(9, raw);
    enc.finish()
}

/// `AttributeProto`; `type` codes from onnx.proto (FLOAT 1, INT 2, STRING 3, INTS 7).
fn attribute(name: &str, value: &Attr) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.string(1, name);
    match value {
        Attr::Float(f) => {
            enc.push(2, WireType::Fixed32, &f.to_le_bytes());
            enc.varint(20, 1);
        }
        Attr::Int(i) => {
            enc.varint(3, *i as u64);
            enc.varint(20, 2);
        }
        Attr::Text(s) => {
            enc.string(4, s);
            enc.varint(20, 3);
        }
        Attr::Ints(values) => {
            for v in values {
                enc.varint(8, *v as u64);
            }
            enc.varint(20, 7);
        }
    }
    enc.finish()
}

/// `ValueInfoProto` of a float image tensor with symbolic batch, height and width.
fn image_value_info(name: &str, channels: usize) -> Vec<u8> {
    let dims = [
        Dim::Named(BATCH_DIM),
        Dim::Size(channels),
        Dim::Named(HEIGHT_DIM),
        Dim::Named(WIDTH_DIM),
    ]
    .map(|dim| {
        let mut d = Encoder::new();
        match dim {
            Dim::Size(n) => d.varint(1, n as u64),
            Dim::Named(s) => d.string(2, s),
        }
        d.finish()
    });
    value_info(name, ELEM_TYPE_FLOAT, Some(&dims))
}

/// `ValueInfoProto` of a dense tensor from its encoded dimensions; `shape: None` leaves the rank
/// unknown.
pub(super) fn value_info(name: &str, elem_type: i32, shape: Option<&[Vec<u8>]>) -> Vec<u8> {
    let mut tensor = Encoder::new();
    tensor.varint(1, elem_type as i64 as u64);
    if let Some(dims) = shape {
        let mut shape = Encoder::new();
        for dim in dims {
            shape.bytes(1, dim);
        }
        tensor.bytes(2, &shape.finish());
    }
    let mut ty = Encoder::new();
    ty.bytes(1, &tensor.finish());
    let mut value = Encoder::new();
    value.string(1, name);
    value.bytes(2, &ty.finish());
    value.finish()
}

enum Dim {
    Size(usize),
    Named(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::{inspect, Dim as InfoDim};

    #[test]
    fn a_built_model_reads_back_with_its_shapes_and_metadata() {
        let mut g = GraphBuilder::new();
        let w = g.weight("w", &[3, 6, 1, 1], &[0.5; 18]);
        let y = g.node(
            "Conv",
            &["image", &w],
            &[("kernel_shape", Attr::Ints(vec![1, 1]))],
        );
        g.identity(&y, "logits");
        let bytes = g.finish(
            "image",
            6,
            "logits",
            3,
            &[("k".to_string(), "v".to_string())],
        );
        let info = inspect(&bytes).unwrap();
        assert_eq!(info.ir_version, 8);
        assert_eq!(info.opset, vec![(String::new(), 17)]);
        assert_eq!(info.inputs.len(), 1, "initializers are not inputs");
        assert_eq!(info.inputs[0].name, "image");
        assert_eq!(info.inputs[0].dims[1], InfoDim::Fixed(6));
        assert_eq!(info.outputs[0].name, "logits");
        assert_eq!(info.outputs[0].dims[1], InfoDim::Fixed(3));
        assert_eq!(info.metadata_value("k"), Some("v"));
    }
}

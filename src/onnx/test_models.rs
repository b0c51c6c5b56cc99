//! Test-only builders for small ONNX models, written with this module's own
//! encoder, plus the real reference model.

use super::model::ELEM_TYPE_FLOAT;
use super::wire::Encoder;

/// The reference 6-band L1C cloud model's bytes, found as the library finds models (the
/// ukis-csmask package beside ONNX Runtime, e.g. in the project's .venv). Fails with what to
/// install when it is absent: the tests that read it never pass without it.
pub(super) fn reference_model() -> Vec<u8> {
    let entry = crate::model::resolve("ukis-6b-l1c").unwrap_or_else(|e| {
        panic!(
            "the reference model ukis-6b-l1c is not installed: run `make venv` (installs \
             ukis-csmask==1.0.0 into .venv) or `pip install ukis-csmask==1.0.0` ({})",
            e.message
        )
    });
    std::fs::read(&entry.onnx).unwrap_or_else(|e| {
        panic!(
            "cannot read the reference model {}: {e}",
            entry.onnx.display()
        )
    })
}

/// Small deterministic PRNG for fuzz-style tests (no dependency needed).
pub(super) struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `TensorShapeProto.Dimension` with a fixed size.
pub(super) fn dim_value(size: i64) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.varint(1, size as u64);
    enc.finish()
}

/// `TensorShapeProto.Dimension` with a symbolic name.
pub(super) fn dim_param(name: &str) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.string(2, name);
    enc.finish()
}

/// `TensorShapeProto.Dimension` with neither size nor name.
pub(super) fn dim_unknown() -> Vec<u8> {
    Vec::new()
}

/// `ValueInfoProto` of a dense tensor, with a doc string; `shape: None` leaves the rank unknown.
pub(super) fn value_info(name: &str, elem_type: i32, shape: Option<&[Vec<u8>]>) -> Vec<u8> {
    let mut value = super::graph::value_info(name, elem_type, shape);
    // Fields may follow in any order: appending one encodes the message with it.
    let mut doc = Encoder::new();
    doc.string(3, "doc for value");
    value.extend(doc.finish());
    value
}

/// `ValueInfoProto` of a float tensor with fixed dimensions.
pub(super) fn value_info_fixed(name: &str, dims: &[i64]) -> Vec<u8> {
    let dims: Vec<Vec<u8>> = dims.iter().map(|&d| dim_value(d)).collect();
    value_info(name, ELEM_TYPE_FLOAT, Some(&dims))
}

/// `ValueInfoProto` with a name given as raw (possibly invalid UTF-8) bytes.
pub(super) fn value_info_named_bytes(name: &[u8]) -> Vec<u8> {
    let mut value = Encoder::new();
    value.bytes(1, name);
    value.finish()
}

/// `TensorProto` with dims, float data type, name and raw data.
pub(super) fn initializer(name: &str, dims: &[i64], raw_data: &[u8]) -> Vec<u8> {
    let mut enc = Encoder::new();
    for &d in dims {
        enc.varint(1, d as u64);
    }
    enc.varint(2, ELEM_TYPE_FLOAT as u64);
    enc.string(8, name);
    enc.bytes(9, raw_data);
    enc.finish()
}

/// A one-node model (a 1x1 convolution from 6 to 3 channels) in the style of
/// an older exporter: the weight is both an initializer and a graph input.
#[derive(Debug, Clone)]
pub(super) struct TinyModel {
    /// Encoded `ValueInfoProto`s.
    pub inputs: Vec<Vec<u8>>,
    pub outputs: Vec<Vec<u8>>,
    pub value_info: Vec<Vec<u8>>,
    /// Encoded `TensorProto`s.
    pub initializers: Vec<Vec<u8>>,
    pub metadata: Vec<(String, String)>,
    /// Further (field number, content) pairs appended to the graph.
    pub extra_graph_fields: Vec<(u32, Vec<u8>)>,
}

impl Default for TinyModel {
    fn default() -> Self {
        let weights: Vec<u8> = (0..72u8).collect();
        TinyModel {
            inputs: vec![
                value_info_fixed("input", &[1, 6, 256, 256]),
                value_info_fixed("weight", &[3, 6, 1, 1]),
            ],
            outputs: vec![value_info_fixed("output", &[1, 3, 256, 256])],
            value_info: vec![value_info_fixed("hidden", &[1, 3, 256, 256])],
            initializers: vec![initializer("weight", &[3, 6, 1, 1], &weights)],
            metadata: vec![
                ("author".to_owned(), "test".to_owned()),
                ("classes".to_owned(), "3".to_owned()),
            ],
            extra_graph_fields: Vec::new(),
        }
    }
}

impl TinyModel {
    /// The encoded `GraphProto`.
    pub fn graph(&self) -> Vec<u8> {
        let mut node = Encoder::new();
        node.string(1, "input");
        node.string(1, "weight");
        node.string(2, "output");
        node.string(3, "conv");
        node.string(4, "Conv");

        let mut graph = Encoder::new();
        graph.bytes(1, &node.finish());
        graph.string(2, "tiny");
        for init in &self.initializers {
            graph.bytes(5, init);
        }
        graph.string(10, "graph doc");
        for input in &self.inputs {
            graph.bytes(11, input);
        }
        for output in &self.outputs {
            graph.bytes(12, output);
        }
        for value in &self.value_info {
            graph.bytes(13, value);
        }
        for (number, content) in &self.extra_graph_fields {
            graph.bytes(*number, content);
        }
        graph.finish()
    }

    /// The encoded `ModelProto`.
    pub fn build(&self) -> Vec<u8> {
        let mut model = Encoder::new();
        model.varint(1, 8);
        model.string(2, "cloudmask-test");
        model.string(3, "0.1");
        model.bytes(7, &self.graph());
        for (domain, version) in [("", 13u64), ("com.microsoft", 1)] {
            let mut opset = Encoder::new();
            if !domain.is_empty() {
                opset.string(1, domain);
            }
            opset.varint(2, version);
            model.bytes(8, &opset.finish());
        }
        model.string(6, "model doc");
        for (key, value) in &self.metadata {
            let mut entry = Encoder::new();
            entry.string(1, key);
            entry.string(2, value);
            model.bytes(14, &entry.finish());
        }
        model.finish()
    }
}

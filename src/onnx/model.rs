//! Reading an ONNX `ModelProto`: the header, operator sets, metadata, and the
//! names, element types and shapes of the graph's inputs and outputs. Node and
//! weight contents are never decoded, so inspecting a large model is cheap.

use std::collections::HashSet;
use std::fmt;

use super::error::OnnxError;
use super::message::Message;
use super::schema::{
    dimension, graph, model, operator_set_id, sparse_tensor, string_string_entry, tensor,
    tensor_shape, tensor_type, type_proto, value_info,
};
use super::wire::WireType;

/// `TensorProto.DataType` value of 32-bit floats, the only input type the
/// cloud-masking models use.
pub const ELEM_TYPE_FLOAT: i32 = 1;

/// One dimension of a tensor shape as declared in the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A fixed size (`dim_value`); the runtime rejects any other size.
    Fixed(i64),
    /// A named free size (`dim_param`, e.g. "batch"); any size is accepted.
    Symbolic(String),
    /// Neither value nor name recorded; any size is accepted.
    Unknown,
}

impl Dim {
    /// The size if it is fixed.
    pub fn fixed(&self) -> Option<i64> {
        match self {
            Dim::Fixed(size) => Some(*size),
            _ => None,
        }
    }
}

impl fmt::Display for Dim {
    /// `256`, `batch`, or `?`: the notation used in shape messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(size) => write!(f, "{size}"),
            Dim::Symbolic(name) => f.write_str(name),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// Name, element type and shape of a graph input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// `TensorProto.DataType` value ([`ELEM_TYPE_FLOAT`] = 1 = float32); 0 when
    /// the value is not a dense tensor or its type is not recorded.
    pub elem_type: i32,
    /// Declared dimensions; empty for a scalar, and also when the rank is not
    /// recorded or the value is not a dense tensor.
    pub dims: Vec<Dim>,
}

/// What [`inspect`] reports about a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Version of the ONNX file format (IR), not of the operator set.
    pub ir_version: i64,
    pub producer_name: String,
    /// Imported operator sets as (domain, version); the domain is empty for
    /// the default `ai.onnx` operators.
    pub opset: Vec<(String, i64)>,
    /// Graph inputs the caller must feed. Inputs that are also initializers
    /// (older exporters list every weight as an input) are left out.
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// `metadata_props` key/value pairs, in file order.
    pub metadata: Vec<(String, String)>,
}

impl ModelInfo {
    /// Value of the first metadata entry with `key`.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Name of a `TensorProto.DataType` value, for messages such as "model input
/// must be float, got int64".
pub fn elem_type_name(elem_type: i32) -> &'static str {
    match elem_type {
        0 => "undefined",
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        _ => "unknown data type",
    }
}

/// Reads the header, operator sets, metadata, inputs and outputs of an ONNX
/// model. Fails with an [`OnnxError`] (never panics) on anything that is not a
/// well-formed `ModelProto` with a graph.
pub fn inspect(model_bytes: &[u8]) -> Result<ModelInfo, OnnxError> {
    let parsed = ParsedModel::parse(model_bytes)?;
    parsed.info()
}

/// A model whose top level and graph have been parsed and checked to look like
/// ONNX; shared by [`inspect`] and the editing functions.
pub(super) struct ParsedModel<'a> {
    pub top: Message<'a>,
    pub graph: Message<'a>,
}

impl<'a> ParsedModel<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, OnnxError> {
        if bytes.is_empty() {
            return Err(OnnxError::not_a_model("the file is empty", None));
        }
        let top = Message::parse(bytes, 0, String::new())?;
        if top.varint(model::IR_VERSION, "ir_version")?.is_none() {
            return Err(OnnxError::not_a_model(
                "ir_version (ModelProto field 1) is missing",
                None,
            ));
        }
        let graph = top
            .child(model::GRAPH, "graph")?
            .ok_or_else(OnnxError::no_graph)?;
        Ok(ParsedModel { top, graph })
    }

    /// Names of all initializers (dense and sparse), i.e. graph inputs that have
    /// a stored value and need not be fed.
    pub fn initializer_names(&self) -> Result<HashSet<String>, OnnxError> {
        let mut names = HashSet::new();
        for init in self.graph.children(graph::INITIALIZER, "initializer")? {
            if let Some(name) = init.string_lossy(tensor::NAME, "name")? {
                names.insert(name);
            }
        }
        for sparse in self
            .graph
            .children(graph::SPARSE_INITIALIZER, "sparse_initializer")?
        {
            if let Some(values) = sparse.child(sparse_tensor::VALUES, "values")? {
                if let Some(name) = values.string_lossy(tensor::NAME, "name")? {
                    names.insert(name);
                }
            }
        }
        Ok(names)
    }

    pub fn info(&self) -> Result<ModelInfo, OnnxError> {
        let top = &self.top;
        let ir_version = top.varint(model::IR_VERSION, "ir_version")?.unwrap_or(0) as i64;
        // Absent strings read as "" (protobuf's default).
        let text = |m: &Message, number, name| -> Result<String, OnnxError> {
            Ok(m.string_lossy(number, name)?.unwrap_or_default())
        };
        let producer_name = text(top, model::PRODUCER_NAME, "producer_name")?;

        let mut opset = Vec::new();
        for entry in top.children(model::OPSET_IMPORT, "opset_import")? {
            let domain = text(&entry, operator_set_id::DOMAIN, "domain")?;
            let version = entry
                .varint(operator_set_id::VERSION, "version")?
                .unwrap_or(0) as i64;
            opset.push((domain, version));
        }

        let mut metadata = Vec::new();
        for entry in top.children(model::METADATA_PROPS, "metadata_props")? {
            let key = text(&entry, string_string_entry::KEY, "key")?;
            metadata.push((key, text(&entry, string_string_entry::VALUE, "value")?));
        }

        let initializers = self.initializer_names()?;
        let mut inputs = Vec::new();
        for input in self.graph.children(graph::INPUT, "input")? {
            let info = tensor_info(&input)?;
            if !initializers.contains(&info.name) {
                inputs.push(info);
            }
        }
        let outputs = self
            .graph
            .children(graph::OUTPUT, "output")?
            .iter()
            .map(tensor_info)
            .collect::<Result<Vec<_>, _>>()?;

        Ok(ModelInfo {
            ir_version,
            producer_name,
            opset,
            inputs,
            outputs,
            metadata,
        })
    }
}

/// Reads a `ValueInfoProto`.
pub(super) fn tensor_info(value: &Message<'_>) -> Result<TensorInfo, OnnxError> {
    let name = value
        .string(value_info::NAME, "name")?
        .unwrap_or_default()
        .to_owned();
    let mut elem_type = 0;
    let mut dims = Vec::new();
    let tensor = match value.child(value_info::TYPE, "type")? {
        Some(ty) => ty.child(type_proto::TENSOR_TYPE, "tensor_type")?,
        None => None,
    };
    if let Some(tensor) = tensor {
        // int32 on the wire is a sign-extended varint; keep the low 32 bits.
        elem_type = tensor
            .varint(tensor_type::ELEM_TYPE, "elem_type")?
            .unwrap_or(0) as i32;
        if let Some(shape) = tensor.child(tensor_type::SHAPE, "shape")? {
            for dim in shape.children(tensor_shape::DIM, "dim")? {
                dims.push(read_dim(&dim)?);
            }
        }
    }
    Ok(TensorInfo {
        name,
        elem_type,
        dims,
    })
}

/// Reads a `TensorShapeProto.Dimension`; of `dim_value` and `dim_param` (a
/// oneof) the last one present wins.
fn read_dim(dim: &Message<'_>) -> Result<Dim, OnnxError> {
    let mut result = Dim::Unknown;
    for field in &dim.fields {
        match field.number {
            dimension::DIM_VALUE => {
                let value = field
                    .as_varint()
                    .ok_or_else(|| dim.wrong_type(field, "dim_value", WireType::Varint))?;
                result = Dim::Fixed(value as i64);
            }
            dimension::DIM_PARAM => {
                let name = field
                    .as_bytes()
                    .ok_or_else(|| dim.wrong_type(field, "dim_param", WireType::Len))?;
                result = Dim::Symbolic(String::from_utf8_lossy(name).into_owned());
            }
            _ => {}
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::super::error::OnnxErrorKind;
    use super::super::test_models::{self, TinyModel};
    use super::super::wire::Encoder;
    use super::*;

    fn fixed(dims: &[i64]) -> Vec<Dim> {
        dims.iter().map(|&d| Dim::Fixed(d)).collect()
    }

    #[test]
    fn inspects_a_tiny_model() {
        let info = inspect(&TinyModel::default().build()).unwrap();
        assert_eq!(info.ir_version, 8);
        assert_eq!(info.producer_name, "cloudmask-test");
        assert_eq!(
            info.opset,
            vec![("".to_owned(), 13), ("com.microsoft".to_owned(), 1)]
        );
        // "weight" is listed as a graph input but is an initializer.
        assert_eq!(
            info.inputs,
            vec![TensorInfo {
                name: "input".to_owned(),
                elem_type: ELEM_TYPE_FLOAT,
                dims: fixed(&[1, 6, 256, 256]),
            }]
        );
        assert_eq!(info.outputs.len(), 1);
        assert_eq!(info.outputs[0].name, "output");
        assert_eq!(info.outputs[0].dims, fixed(&[1, 3, 256, 256]));
        assert_eq!(
            info.metadata,
            vec![
                ("author".to_owned(), "test".to_owned()),
                ("classes".to_owned(), "3".to_owned()),
            ]
        );
        assert_eq!(info.metadata_value("classes"), Some("3"));
        assert_eq!(info.metadata_value("nope"), None);
    }

    #[test]
    fn reads_symbolic_unknown_and_negative_values() {
        let dims = [
            test_models::dim_param("batch"),
            test_models::dim_unknown(),
            test_models::dim_value(-1),
            // dim_value then dim_param: the oneof's last member wins.
            {
                let mut enc = Encoder::new();
                enc.varint(1, 5);
                enc.string(2, "late");
                enc.finish()
            },
        ];
        let model = TinyModel {
            inputs: vec![test_models::value_info("x", -2, Some(&dims[..]))],
            ..TinyModel::default()
        };
        let info = inspect(&model.build()).unwrap();
        assert_eq!(info.inputs[0].elem_type, -2);
        assert_eq!(
            info.inputs[0].dims,
            vec![
                Dim::Symbolic("batch".to_owned()),
                Dim::Unknown,
                Dim::Fixed(-1),
                Dim::Symbolic("late".to_owned()),
            ]
        );
        let shown: Vec<String> = info.inputs[0].dims.iter().map(Dim::to_string).collect();
        assert_eq!(shown, ["batch", "?", "-1", "late"]);
        assert_eq!(info.inputs[0].dims[2].fixed(), Some(-1));
        assert_eq!(info.inputs[0].dims[0].fixed(), None);
    }

    #[test]
    fn missing_type_or_shape_gives_empty_dims() {
        let model = TinyModel {
            inputs: vec![
                test_models::value_info("no_shape", ELEM_TYPE_FLOAT, None),
                {
                    let mut enc = Encoder::new();
                    enc.string(1, "no_type");
                    enc.finish()
                },
            ],
            ..TinyModel::default()
        };
        let info = inspect(&model.build()).unwrap();
        assert_eq!(info.inputs[0].name, "no_shape");
        assert_eq!(info.inputs[0].elem_type, ELEM_TYPE_FLOAT);
        assert!(info.inputs[0].dims.is_empty());
        assert_eq!(info.inputs[1].elem_type, 0);
        assert!(info.inputs[1].dims.is_empty());
    }

    #[test]
    fn graph_split_over_two_fields_is_merged() {
        // Protobuf merges repeated occurrences of a singular message field.
        let bytes = TinyModel::default().build();
        let top = Message::parse(&bytes, 0, String::new()).unwrap();
        let mut second_graph = Encoder::new();
        second_graph.bytes(
            graph::OUTPUT,
            &test_models::value_info("extra", ELEM_TYPE_FLOAT, Some(&[][..])),
        );
        let mut enc = Encoder::new();
        for field in &top.fields {
            enc.copy(field);
        }
        enc.bytes(model::GRAPH, &second_graph.finish());
        let info = inspect(&enc.finish()).unwrap();
        let names: Vec<&str> = info.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["output", "extra"]);
    }

    #[test]
    fn sparse_initializers_are_not_inputs() {
        let mut values = Encoder::new();
        values.string(tensor::NAME, "sparse_w");
        let mut sparse = Encoder::new();
        sparse.bytes(sparse_tensor::VALUES, &values.finish());
        let model = TinyModel {
            inputs: vec![
                test_models::value_info("input", ELEM_TYPE_FLOAT, None),
                test_models::value_info("sparse_w", ELEM_TYPE_FLOAT, None),
            ],
            extra_graph_fields: vec![(graph::SPARSE_INITIALIZER, sparse.finish())],
            ..TinyModel::default()
        };
        let info = inspect(&model.build()).unwrap();
        let names: Vec<&str> = info.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["input"]);
    }

    #[test]
    fn rejects_empty_text_and_non_models() {
        let err = inspect(&[]).unwrap_err();
        assert_eq!(err.to_string(), "not an ONNX model: the file is empty");

        let text = b"# cloudmask config\nmodel = \"model_6b_l1c.onnx\"\n";
        let err = inspect(text).unwrap_err();
        assert!(err.to_string().starts_with("not an ONNX model: "), "{err}");

        let json = br#"{"data": {"in_channels": 6}}"#;
        assert!(inspect(json).is_err());

        // Valid protobuf, but no ir_version.
        let mut enc = Encoder::new();
        enc.string(2, "producer");
        let err = inspect(&enc.finish()).unwrap_err();
        assert_eq!(err.kind(), OnnxErrorKind::NotAModel);
        assert!(err.to_string().contains("ir_version"), "{err}");

        // ir_version but no graph.
        let mut enc = Encoder::new();
        enc.varint(model::IR_VERSION, 8);
        enc.string(model::PRODUCER_NAME, "x");
        let err = inspect(&enc.finish()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ONNX model has no graph (ModelProto field 7 is missing)"
        );

        // graph with the wrong wire type.
        let mut enc = Encoder::new();
        enc.varint(model::IR_VERSION, 8);
        enc.varint(model::GRAPH, 3);
        let err = inspect(&enc.finish()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an ONNX model: graph (field 7) at byte 2 has wire type varint, \
             expected length-delimited"
        );
    }

    #[test]
    fn rejects_bad_nested_data_with_its_path() {
        let mut bad_value_info = Encoder::new();
        bad_value_info.string(value_info::NAME, "input");
        bad_value_info.bytes(value_info::TYPE, &[0x08]); // truncated elem_type
        let model = TinyModel {
            inputs: vec![bad_value_info.finish()],
            ..TinyModel::default()
        };
        let err = inspect(&model.build()).unwrap_err();
        assert_eq!(err.kind(), OnnxErrorKind::Malformed);
        assert!(err.to_string().contains("truncated varint"), "{err}");
        assert!(
            err.to_string().contains("(in graph.input[0].type)"),
            "{err}"
        );

        let model = TinyModel {
            inputs: vec![test_models::value_info_named_bytes(b"in\xffput")],
            ..TinyModel::default()
        };
        let err = inspect(&model.build()).unwrap_err();
        assert!(err.to_string().contains("graph.input[0].name"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let bytes = TinyModel::default().build();
        let top = Message::parse(&bytes, 0, String::new()).unwrap();
        let graph_end = top
            .fields
            .iter()
            .find(|f| f.number == model::GRAPH)
            .map(|f| f.offset + f.raw.len())
            .unwrap();
        for len in 0..bytes.len() {
            let result = inspect(&bytes[..len]);
            if len < graph_end {
                assert!(result.is_err(), "prefix of {len} bytes was accepted");
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = test_models::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for round in 0..20_000 {
            let len = (rng.next() % 200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if round % 2 == 0 && !bytes.is_empty() {
                // Start like a real model half of the time to get deeper.
                bytes[0] = 0x08;
            }
            if inspect(&bytes).is_ok() {
                accepted += 1;
            }
        }
        // Random data essentially never passes for a model with a graph.
        assert!(accepted < 10, "{accepted} random buffers accepted");

        // Corrupting single bytes of a real-looking model must not panic either.
        let model = TinyModel::default().build();
        for i in 0..model.len() {
            for value in [0x00, 0x7f, 0x80, 0xff, model[i] ^ 0x04] {
                let mut corrupt = model.clone();
                corrupt[i] = value;
                let _ = inspect(&corrupt);
            }
        }
    }

    #[test]
    fn inspects_the_reference_model() {
        let bytes = test_models::reference_model();
        let info = inspect(&bytes).unwrap();
        assert!(info.ir_version > 0);
        assert_eq!(info.inputs.len(), 1);
        let input = &info.inputs[0];
        assert_eq!(input.name, "input");
        assert_eq!(input.elem_type, ELEM_TYPE_FLOAT);
        assert_eq!(input.dims.len(), 4);
        assert_eq!(input.dims[1..], fixed(&[6, 256, 256]));
        assert_eq!(info.outputs.len(), 1);
        let output = &info.outputs[0];
        assert_eq!(output.name, "output");
        assert_eq!(output.dims.len(), 4);
        assert_eq!(output.dims[1], Dim::Fixed(3));
        eprintln!("reference model: {info:?}");

        // A truncated download must be reported, not half-read.
        for len in [1, 100, bytes.len() / 2, bytes.len() - 1] {
            let err = inspect(&bytes[..len]).unwrap_err();
            assert!(err.to_string().starts_with("not an ONNX model"), "{err}");
        }
    }
}

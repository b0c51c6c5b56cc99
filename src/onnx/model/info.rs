//! What inspecting a model reports: its header, operator sets and metadata, and the name,
//! element type and shape of each graph input and output.

use std::fmt;

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

/// What [`inspect`](super::inspect) reports about a model.
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

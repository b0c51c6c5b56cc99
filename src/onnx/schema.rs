//! Field numbers from `onnx.proto` (<https://github.com/onnx/onnx/blob/main/onnx/onnx.proto>)
//! for the fields this module reads or writes. Only that subset is listed; every
//! other field is carried through untouched as raw bytes.

/// `ModelProto`, the top-level message of an `.onnx` file.
pub(super) mod model {
    /// int64: version of the IR (file format), not of the operator set.
    pub const IR_VERSION: u32 = 1;
    /// string
    pub const PRODUCER_NAME: u32 = 2;
    /// GraphProto
    pub const GRAPH: u32 = 7;
    /// repeated OperatorSetIdProto
    pub const OPSET_IMPORT: u32 = 8;
    /// repeated StringStringEntryProto
    pub const METADATA_PROPS: u32 = 14;
}

/// `OperatorSetIdProto`: one (domain, version) operator set the model uses.
pub(super) mod operator_set_id {
    /// string; empty means the default `ai.onnx` domain.
    pub const DOMAIN: u32 = 1;
    /// int64
    pub const VERSION: u32 = 2;
}

/// `StringStringEntryProto`: one key/value pair of `metadata_props`.
pub(super) mod string_string_entry {
    pub const KEY: u32 = 1;
    pub const VALUE: u32 = 2;
}

/// `GraphProto`.
pub(super) mod graph {
    /// repeated TensorProto
    pub const INITIALIZER: u32 = 5;
    /// repeated ValueInfoProto
    pub const INPUT: u32 = 11;
    /// repeated ValueInfoProto
    pub const OUTPUT: u32 = 12;
    /// repeated ValueInfoProto: shapes of intermediate values.
    pub const VALUE_INFO: u32 = 13;
    /// repeated SparseTensorProto
    pub const SPARSE_INITIALIZER: u32 = 15;
}

/// `TensorProto` (initializers).
pub(super) mod tensor {
    /// string
    pub const NAME: u32 = 8;
}

/// `SparseTensorProto`; its name is the name of its `values` tensor.
pub(super) mod sparse_tensor {
    /// TensorProto
    pub const VALUES: u32 = 1;
}

/// `ValueInfoProto`: name and type of a graph input, output or intermediate.
pub(super) mod value_info {
    /// string
    pub const NAME: u32 = 1;
    /// TypeProto
    pub const TYPE: u32 = 2;
}

/// `TypeProto`, a oneof over tensor, sequence, map, ... types.
pub(super) mod type_proto {
    /// TypeProto.Tensor
    pub const TENSOR_TYPE: u32 = 1;
}

/// `TypeProto.Tensor`.
pub(super) mod tensor_type {
    /// int32, a `TensorProto.DataType` value (1 = FLOAT).
    pub const ELEM_TYPE: u32 = 1;
    /// TensorShapeProto; absent when the rank is unknown.
    pub const SHAPE: u32 = 2;
}

/// `TensorShapeProto`.
pub(super) mod tensor_shape {
    /// repeated Dimension
    pub const DIM: u32 = 1;
}

/// `TensorShapeProto.Dimension`, a oneof of `dim_value` and `dim_param`.
pub(super) mod dimension {
    /// int64
    pub const DIM_VALUE: u32 = 1;
    /// string: a symbolic size such as "batch".
    pub const DIM_PARAM: u32 = 2;
}

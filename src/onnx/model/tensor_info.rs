//! Reading one graph input or output (a `ValueInfoProto`): its name, element type and
//! declared shape.

use super::info::{Dim, TensorInfo};
use crate::onnx::error::OnnxError;
use crate::onnx::message::Message;
use crate::onnx::schema::{dimension, tensor_shape, tensor_type, type_proto, value_info};
use crate::onnx::wire::WireType;

/// Reads a `ValueInfoProto`.
pub(in crate::onnx) fn tensor_info(value: &Message<'_>) -> Result<TensorInfo, OnnxError> {
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

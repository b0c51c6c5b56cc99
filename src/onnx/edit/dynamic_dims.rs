//! Making the spatial dimensions of a model's rank-4 (NCHW) inputs and outputs symbolic, so
//! one model runs on tiles of any size.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{fields_of, replace_message};
use crate::onnx::error::OnnxError;
use crate::onnx::message::Message;
use crate::onnx::model::{tensor_info, ParsedModel};
use crate::onnx::schema::{
    dimension, graph, model, tensor_shape, tensor_type, type_proto, value_info,
};
use crate::onnx::wire::{Encoder, Field};

/// Names given to the dimensions of rank-4 (NCHW) inputs and outputs by
/// [`with_dynamic_spatial_dims`].
pub const BATCH_DIM: &str = "batch";
pub const HEIGHT_DIM: &str = "height";
pub const WIDTH_DIM: &str = "width";

/// Returns a copy of the model in which every rank-4 (NCHW) graph input and
/// output accepts any height and width, so one model can run on tiles of any
/// size instead of the size it was exported with.
///
/// Dimensions 2 and 3 become `dim_param` "height" and "width", and dimension 0
/// becomes "batch" if it was fixed (a symbolic batch keeps its name). All
/// `graph.value_info` entries are dropped because their stored shapes were
/// computed for the export size and would contradict the new inputs; ONNX
/// Runtime re-infers them. Inputs that are initializers are not touched. This
/// assumes, as for segmentation models, that outputs have the inputs' spatial
/// size. Value infos inside subgraphs (If/Loop bodies) are left as they are.
pub fn with_dynamic_spatial_dims(model_bytes: &[u8]) -> Result<Vec<u8>, OnnxError> {
    let parsed = ParsedModel::parse(model_bytes)?;
    parsed.info()?; // validate inputs and outputs before changing anything
    let initializers = parsed.initializer_names()?;
    replace_message(&parsed.top.fields, model::GRAPH, |bytes, base| {
        rewrite_graph(bytes, base, &initializers)
    })
}

fn rewrite_graph(
    bytes: &[u8],
    base: usize,
    initializers: &HashSet<String>,
) -> Result<Vec<u8>, OnnxError> {
    let mut enc = Encoder::with_capacity(bytes.len());
    for field in fields_of(bytes, base, "graph") {
        let field = field?;
        match field.number {
            graph::VALUE_INFO => {}
            graph::INPUT | graph::OUTPUT => match rewrite_value_info(&field, initializers)? {
                Cow::Borrowed(_) => enc.copy(&field),
                Cow::Owned(new) => enc.bytes(field.number, &new),
            },
            _ => enc.copy(&field),
        }
    }
    Ok(enc.finish())
}

/// New content of a graph input/output, or the old content (borrowed) when it
/// is not a rank-4 tensor or is an initializer.
fn rewrite_value_info<'a>(
    field: &Field<'a>,
    initializers: &HashSet<String>,
) -> Result<Cow<'a, [u8]>, OnnxError> {
    let value = Message::parse(
        field.payload,
        field.payload_offset,
        "graph value".to_owned(),
    )?;
    let info = tensor_info(&value)?;
    if info.dims.len() != 4 || initializers.contains(&info.name) {
        return Ok(Cow::Borrowed(field.payload));
    }
    let new = replace_message(&value.fields, value_info::TYPE, |bytes, base| {
        let ty = Message::parse(bytes, base, "type".to_owned())?;
        replace_message(&ty.fields, type_proto::TENSOR_TYPE, |bytes, base| {
            let tensor = Message::parse(bytes, base, "tensor_type".to_owned())?;
            replace_message(&tensor.fields, tensor_type::SHAPE, rewrite_nchw_shape)
        })
    })?;
    Ok(Cow::Owned(new))
}

/// Renames dims 0 (if fixed), 2 and 3 of a rank-4 `TensorShapeProto`.
fn rewrite_nchw_shape(bytes: &[u8], base: usize) -> Result<Vec<u8>, OnnxError> {
    let mut enc = Encoder::with_capacity(bytes.len() + 16);
    let mut index = 0;
    for field in fields_of(bytes, base, "shape") {
        let field = field?;
        if field.number != tensor_shape::DIM {
            enc.copy(&field);
            continue;
        }
        let new_name = match index {
            0 if is_fixed_dim(&field)? => Some(BATCH_DIM),
            2 => Some(HEIGHT_DIM),
            3 => Some(WIDTH_DIM),
            _ => None,
        };
        match new_name {
            Some(name) => enc.bytes(tensor_shape::DIM, &symbolic_dim(&field, name)?),
            None => enc.copy(&field),
        }
        index += 1;
    }
    Ok(enc.finish())
}

/// Whether a `Dimension` ends up with a `dim_value` (the last oneof member wins).
fn is_fixed_dim(dim: &Field<'_>) -> Result<bool, OnnxError> {
    let mut fixed = false;
    for field in fields_of(dim.payload, dim.payload_offset, "dim") {
        match field?.number {
            dimension::DIM_VALUE => fixed = true,
            dimension::DIM_PARAM => fixed = false,
            _ => {}
        }
    }
    Ok(fixed)
}

/// The `Dimension` with its value replaced by `dim_param = name`; other fields
/// (e.g. `denotation`) are kept in place.
fn symbolic_dim(dim: &Field<'_>, name: &str) -> Result<Vec<u8>, OnnxError> {
    let mut enc = Encoder::new();
    let mut written = false;
    for field in fields_of(dim.payload, dim.payload_offset, "dim") {
        let field = field?;
        match field.number {
            dimension::DIM_VALUE | dimension::DIM_PARAM => {
                if !written {
                    enc.string(dimension::DIM_PARAM, name);
                    written = true;
                }
            }
            _ => enc.copy(&field),
        }
    }
    if !written {
        enc.string(dimension::DIM_PARAM, name);
    }
    Ok(enc.finish())
}

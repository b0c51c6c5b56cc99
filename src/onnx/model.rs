//! Reading an ONNX `ModelProto`: the header, operator sets, metadata, and the
//! names, element types and shapes of the graph's inputs and outputs. Node and
//! weight contents are never decoded, so inspecting a large model is cheap.
//!
//! One job per file: this file parses the model ([`inspect`], `ParsedModel`, shared with the
//! editing functions); `info` holds what inspecting reports ([`ModelInfo`], [`TensorInfo`],
//! [`Dim`]); `tensor_info` reads one graph input or output (`ValueInfoProto`).

mod info;
mod tensor_info;
#[cfg(test)]
mod tests;

pub use info::{elem_type_name, Dim, ModelInfo, TensorInfo, ELEM_TYPE_FLOAT};
pub(super) use tensor_info::tensor_info;

use std::collections::HashSet;

use super::error::OnnxError;
use super::message::Message;
use super::schema::{graph, model, operator_set_id, sparse_tensor, string_string_entry, tensor};

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

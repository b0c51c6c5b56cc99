//! Editing an ONNX model in place: making the spatial dimensions of the graph's
//! inputs and outputs symbolic, and setting `metadata_props` entries.
//!
//! Only the messages on the path to a change are re-encoded (model -> graph ->
//! value info -> type -> tensor type -> shape -> dimension); every other field,
//! including all nodes and weights, is copied byte for byte. Each function first
//! runs the same checks as [`inspect`](super::inspect), so a file that cannot
//! be inspected is never edited.

use std::borrow::Cow;
use std::collections::HashSet;

use super::error::OnnxError;
use super::message::{merged_payload, Message};
use super::model::{tensor_info, ParsedModel};
use super::schema::{
    dimension, graph, model, string_string_entry, tensor_shape, tensor_type, type_proto, value_info,
};
use super::wire::{Encoder, Field, FieldIter};

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

/// Returns a copy of the model whose `metadata_props` hold `props`: an existing
/// entry with the same key gets the new value (in place; later duplicates of
/// that key are removed), other keys are appended in the order given. If a key
/// appears more than once in `props`, the last value wins. Other entries and
/// all other fields are unchanged. Used to record how an exported or edited
/// model was produced.
pub fn with_metadata(model_bytes: &[u8], props: &[(String, String)]) -> Result<Vec<u8>, OnnxError> {
    let parsed = ParsedModel::parse(model_bytes)?;
    parsed.info()?;

    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for (key, value) in props {
        match wanted.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => wanted.push((key, value)),
        }
    }
    let mut written = vec![false; wanted.len()];

    let mut enc = Encoder::with_capacity(model_bytes.len() + 64 * wanted.len());
    for field in &parsed.top.fields {
        if field.number != model::METADATA_PROPS {
            enc.copy(field);
            continue;
        }
        let path = "metadata_props".to_owned();
        let entry = Message::parse(field.payload, field.payload_offset, path)?;
        let key = entry
            .bytes(string_string_entry::KEY, "key")?
            .unwrap_or_default();
        match wanted.iter().position(|(k, _)| k.as_bytes() == key) {
            None => enc.copy(field),
            Some(i) if !written[i] => {
                enc.bytes(
                    model::METADATA_PROPS,
                    &metadata_entry(wanted[i].0, wanted[i].1),
                );
                written[i] = true;
            }
            Some(_) => {} // a duplicate of a key already written
        }
    }
    for (i, (key, value)) in wanted.iter().enumerate() {
        if !written[i] {
            enc.bytes(model::METADATA_PROPS, &metadata_entry(key, value));
        }
    }
    Ok(enc.finish())
}

fn metadata_entry(key: &str, value: &str) -> Vec<u8> {
    let mut entry = Encoder::new();
    entry.string(string_string_entry::KEY, key);
    entry.string(string_string_entry::VALUE, value);
    entry.finish()
}

/// Re-encodes a message given by its `fields`, replacing the singular embedded
/// message `number` with `rewrite(old content, its offset)`. Several
/// occurrences (which protobuf merges) become one, at the first position.
fn replace_message<F>(fields: &[Field<'_>], number: u32, rewrite: F) -> Result<Vec<u8>, OnnxError>
where
    F: FnOnce(&[u8], usize) -> Result<Vec<u8>, OnnxError>,
{
    let Some((old, base)) = merged_payload(fields, number) else {
        // Nothing to rewrite; keep the message as it was.
        let mut enc = Encoder::new();
        fields.iter().for_each(|f| enc.copy(f));
        return Ok(enc.finish());
    };
    let mut new = Some(rewrite(&old, base)?);
    let mut enc = Encoder::with_capacity(fields.iter().map(|f| f.raw.len()).sum::<usize>() + 16);
    for field in fields {
        if field.number != number {
            enc.copy(field);
        } else if let Some(content) = new.take() {
            enc.bytes(number, &content);
        }
    }
    Ok(enc.finish())
}

/// Iterates a message's fields, turning wire errors into [`OnnxError`]s.
fn fields_of<'a>(
    bytes: &'a [u8],
    base: usize,
    path: &'a str,
) -> impl Iterator<Item = Result<Field<'a>, OnnxError>> + 'a {
    FieldIter::with_base(bytes, base).map(move |f| f.map_err(|err| OnnxError::wire(err, path)))
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

#[cfg(test)]
mod tests {
    use super::super::error::OnnxErrorKind;
    use super::super::model::{inspect, Dim, ELEM_TYPE_FLOAT};
    use super::super::test_models::{self, TinyModel};
    use super::*;

    fn sym(name: &str) -> Dim {
        Dim::Symbolic(name.to_owned())
    }

    /// Raw bytes of the fields of `message` whose number passes `keep`.
    fn raw_fields(message: &Message, keep: impl Fn(u32) -> bool) -> Vec<Vec<u8>> {
        let kept = message.fields.iter().filter(|f| keep(f.number));
        kept.map(|f| f.raw.to_vec()).collect()
    }

    /// Raw bytes of every field `number` of the graph.
    fn graph_fields(model_bytes: &[u8], number: u32) -> Vec<Vec<u8>> {
        let parsed = ParsedModel::parse(model_bytes).unwrap();
        raw_fields(&parsed.graph, |n| n == number)
    }

    fn top_fields_except(model_bytes: &[u8], except: u32) -> Vec<Vec<u8>> {
        let parsed = ParsedModel::parse(model_bytes).unwrap();
        raw_fields(&parsed.top, |n| n != except)
    }

    #[test]
    fn dynamic_dims_on_tiny_model() {
        let original = TinyModel::default().build();
        let edited = with_dynamic_spatial_dims(&original).unwrap();
        let info = inspect(&edited).unwrap();

        assert_eq!(info.inputs.len(), 1);
        assert_eq!(info.inputs[0].name, "input");
        assert_eq!(info.inputs[0].elem_type, ELEM_TYPE_FLOAT);
        assert_eq!(
            info.inputs[0].dims,
            [sym("batch"), Dim::Fixed(6), sym("height"), sym("width")]
        );
        assert_eq!(
            info.outputs[0].dims,
            [sym("batch"), Dim::Fixed(3), sym("height"), sym("width")]
        );

        // value_info is gone; nodes, initializers, the weight input (an
        // initializer, even though it has rank 4) and all model-level fields
        // are byte-identical.
        assert_eq!(graph_fields(&original, graph::VALUE_INFO).len(), 1);
        assert!(graph_fields(&edited, graph::VALUE_INFO).is_empty());
        for number in [1, 2, graph::INITIALIZER, 10] {
            assert_eq!(
                graph_fields(&edited, number),
                graph_fields(&original, number),
                "graph field {number}"
            );
        }
        assert_eq!(
            graph_fields(&edited, graph::INPUT)[1],
            graph_fields(&original, graph::INPUT)[1]
        );
        assert_eq!(
            top_fields_except(&edited, model::GRAPH),
            top_fields_except(&original, model::GRAPH)
        );

        let before = inspect(&original).unwrap();
        assert_eq!(info.metadata, before.metadata);
        assert_eq!(info.opset, before.opset);

        // Editing again changes nothing.
        assert_eq!(with_dynamic_spatial_dims(&edited).unwrap(), edited);
    }

    #[test]
    fn dynamic_dims_keep_symbolic_batch_and_other_ranks() {
        let dims = [
            test_models::dim_param("batch_size"),
            test_models::dim_value(6),
            test_models::dim_value(256),
            test_models::dim_unknown(),
        ];
        let rank3 = test_models::value_info_fixed("mask", &[1, 256, 256]);
        let model = TinyModel {
            inputs: vec![test_models::value_info(
                "input",
                ELEM_TYPE_FLOAT,
                Some(&dims[..]),
            )],
            outputs: vec![rank3.clone(), test_models::value_info("scores", 1, None)],
            value_info: Vec::new(),
            ..TinyModel::default()
        };
        let original = model.build();
        let edited = with_dynamic_spatial_dims(&original).unwrap();
        let info = inspect(&edited).unwrap();
        assert_eq!(
            info.inputs[0].dims,
            [
                sym("batch_size"),
                Dim::Fixed(6),
                sym("height"),
                sym("width")
            ]
        );
        // Outputs of another rank, or without a shape, are untouched.
        assert_eq!(
            graph_fields(&edited, graph::OUTPUT),
            graph_fields(&original, graph::OUTPUT)
        );
    }

    #[test]
    fn dynamic_dims_keep_dimension_denotation() {
        let mut spatial = Encoder::new();
        spatial.varint(dimension::DIM_VALUE, 256);
        spatial.string(3, "DATA_FEATURE");
        let spatial = spatial.finish();
        let dims = [
            test_models::dim_value(1),
            test_models::dim_value(6),
            spatial.clone(),
            spatial,
        ];
        let model = TinyModel {
            inputs: vec![test_models::value_info(
                "input",
                ELEM_TYPE_FLOAT,
                Some(&dims[..]),
            )],
            ..TinyModel::default()
        };
        let edited = with_dynamic_spatial_dims(&model.build()).unwrap();
        let parsed = ParsedModel::parse(&edited).unwrap();
        let input = &parsed.graph.children(graph::INPUT, "input").unwrap()[0];
        let shape = input
            .child(value_info::TYPE, "type")
            .unwrap()
            .unwrap()
            .child(type_proto::TENSOR_TYPE, "tensor_type")
            .unwrap()
            .unwrap()
            .child(tensor_type::SHAPE, "shape")
            .unwrap()
            .unwrap();
        let height = &shape.children(tensor_shape::DIM, "dim").unwrap()[2];
        assert_eq!(
            height.string(dimension::DIM_PARAM, "p").unwrap(),
            Some("height")
        );
        assert_eq!(
            height.string(3, "denotation").unwrap(),
            Some("DATA_FEATURE")
        );
        assert_eq!(height.varint(dimension::DIM_VALUE, "v").unwrap(), None);
    }

    #[test]
    fn metadata_is_replaced_in_place_and_inserted_at_the_end() {
        let original = TinyModel::default().build();
        let props = vec![
            ("new".to_owned(), "first".to_owned()),
            ("author".to_owned(), "cloudmask".to_owned()),
            ("new".to_owned(), "second".to_owned()),
        ];
        let edited = with_metadata(&original, &props).unwrap();
        let info = inspect(&edited).unwrap();
        assert_eq!(
            info.metadata,
            vec![
                ("author".to_owned(), "cloudmask".to_owned()),
                ("classes".to_owned(), "3".to_owned()),
                ("new".to_owned(), "second".to_owned()),
            ]
        );
        assert_eq!(
            top_fields_except(&edited, model::METADATA_PROPS),
            top_fields_except(&original, model::METADATA_PROPS)
        );
        // No props: the model comes back byte-identical.
        assert_eq!(with_metadata(&original, &[]).unwrap(), original);
        // Setting the same values again changes nothing.
        assert_eq!(with_metadata(&edited, &props).unwrap(), edited);
    }

    #[test]
    fn metadata_duplicates_in_the_model_collapse_to_one() {
        let model = TinyModel {
            metadata: vec![
                ("k".to_owned(), "1".to_owned()),
                ("other".to_owned(), "x".to_owned()),
                ("k".to_owned(), "2".to_owned()),
            ],
            ..TinyModel::default()
        };
        let edited = with_metadata(&model.build(), &[("k".to_owned(), "3".to_owned())]).unwrap();
        assert_eq!(
            inspect(&edited).unwrap().metadata,
            vec![
                ("k".to_owned(), "3".to_owned()),
                ("other".to_owned(), "x".to_owned()),
            ]
        );
    }

    #[test]
    fn edits_refuse_what_inspect_refuses() {
        let text = b"not a model at all\n";
        for result in [with_dynamic_spatial_dims(text), with_metadata(text, &[])] {
            let err = result.unwrap_err();
            assert!(err.to_string().starts_with("not an ONNX model"), "{err}");
        }
        let mut enc = Encoder::new();
        enc.varint(model::IR_VERSION, 8);
        let no_graph = enc.finish();
        let err = with_dynamic_spatial_dims(&no_graph).unwrap_err();
        assert_eq!(err.kind(), OnnxErrorKind::NotAModel);
        assert!(err.to_string().contains("no graph"), "{err}");

        let bytes = TinyModel::default().build();
        for len in 0..bytes.len() {
            let _ = with_dynamic_spatial_dims(&bytes[..len]);
            let _ = with_metadata(&bytes[..len], &[("a".to_owned(), "b".to_owned())]);
        }
    }

    #[test]
    fn dynamic_dims_on_the_reference_model() {
        let original = test_models::reference_model();
        let edited = with_dynamic_spatial_dims(&original).unwrap();
        let info = inspect(&edited).unwrap();
        assert_eq!(info.inputs[0].name, "input");
        assert_eq!(
            info.inputs[0].dims[1..],
            [Dim::Fixed(6), sym("height"), sym("width")]
        );
        assert_eq!(info.outputs[0].name, "output");
        assert_eq!(
            info.outputs[0].dims[1..],
            [Dim::Fixed(3), sym("height"), sym("width")]
        );
        assert!(graph_fields(&edited, graph::VALUE_INFO).is_empty());
        for number in [1, graph::INITIALIZER] {
            assert_eq!(
                graph_fields(&edited, number),
                graph_fields(&original, number),
                "graph field {number}"
            );
        }
        assert_eq!(
            top_fields_except(&edited, model::GRAPH),
            top_fields_except(&original, model::GRAPH)
        );

        let props = [("cloudmask.version".to_owned(), "test".to_owned())];
        let tagged = with_metadata(&edited, &props).unwrap();
        let tagged_info = inspect(&tagged).unwrap();
        assert_eq!(
            tagged_info.metadata_value("cloudmask.version"),
            Some("test")
        );
        assert_eq!(tagged_info.inputs, info.inputs);
    }
}

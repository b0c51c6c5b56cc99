use super::super::error::OnnxErrorKind;
use super::super::message::Message;
use super::super::model::ParsedModel;
use super::super::model::{inspect, Dim, ELEM_TYPE_FLOAT};
use super::super::schema::{
    dimension, graph, model, tensor_shape, tensor_type, type_proto, value_info,
};
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

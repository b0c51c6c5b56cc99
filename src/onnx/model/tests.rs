use super::super::error::OnnxErrorKind;
use super::super::schema::value_info;
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

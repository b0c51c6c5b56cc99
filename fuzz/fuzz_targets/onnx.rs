//! The library's own ONNX (protobuf) reader and editor, in the order model loading uses them
//! (src/model/session.rs): `onnx::inspect`, the card in the metadata, then
//! `onnx::with_dynamic_spatial_dims`; and `onnx::with_metadata`, which the trainer's export and
//! `cloudmask` use to record a card. Whatever an edit returns must read again with the same
//! inputs and outputs (names and types), and carry the metadata it was given.
#![no_main]
use cloudmask::model::card::CARD_METADATA_KEY;
use cloudmask::model::ModelCard;
use cloudmask::onnx::{self, ModelInfo};
use libfuzzer_sys::fuzz_target;

fn names_and_types(info: &ModelInfo) -> Vec<(String, i32)> {
    let all = info.inputs.iter().chain(&info.outputs);
    all.map(|t| (t.name.clone(), t.elem_type)).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(info) = onnx::inspect(data) else {
        return;
    };
    if let Some(json) = info.metadata_value(CARD_METADATA_KEY) {
        let _ = ModelCard::from_json(json, "fuzz");
    }
    if let Ok(dynamic) = onnx::with_dynamic_spatial_dims(data) {
        let edited = onnx::inspect(&dynamic).expect("the dynamic-size model reads again");
        assert_eq!(names_and_types(&edited), names_and_types(&info));
        assert_eq!(edited.metadata, info.metadata);
        for t in edited.inputs.iter().chain(&edited.outputs) {
            if t.dims.len() == 4 {
                assert!(
                    t.dims[2].fixed().is_none() && t.dims[3].fixed().is_none(),
                    "{t:?}"
                );
            }
        }
    }
    let props = [(CARD_METADATA_KEY.to_string(), "{\"fuzz\": 1}".to_string())];
    if let Ok(with_card) = onnx::with_metadata(data, &props) {
        let edited = onnx::inspect(&with_card).expect("the model with metadata reads again");
        assert_eq!(names_and_types(&edited), names_and_types(&info));
        assert_eq!(
            edited.metadata_value(CARD_METADATA_KEY),
            Some("{\"fuzz\": 1}")
        );
    }
});

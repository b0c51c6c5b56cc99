//! The ukis-csmask sidecar reader (`model_6b_l1c.json` beside `model_6b_l1c.onnx`). Sidecars
//! reach it through `ModelCard::from_json`, which recognises them by their
//! `data.dataset_statistics` block, so that is what is called here; the corpus holds real
//! sidecars so the fuzzer starts inside that branch. The model name decides the product level
//! (l1c or l2a), so both are read.
#![no_main]
use cloudmask::model::{ModelCard, OutputKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["ukis-6b-l1c", "ukis-4b-l2a"] {
        let Ok(card) = ModelCard::from_json(text, name) else {
            continue;
        };
        let again = ModelCard::from_json(&card.to_json(), name)
            .expect("a sidecar's card reads again after to_json");
        assert_eq!(
            again, card,
            "a sidecar's card changes on a to_json round trip"
        );
        if card.format != "cloudmask-card/1" || card.name != name {
            continue; // not read as a sidecar
        }
        assert_eq!(card.output, OutputKind::Logits);
        assert_eq!(card.classes.len(), 3);
        assert_eq!(card.mean.len(), card.bands.len());
    }
});

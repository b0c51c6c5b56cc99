//! The model card parser: `ModelCard::from_json`, the function that reads a card from a model's
//! ONNX metadata or from its sidecar file (src/model/session.rs `read_card`). A file that is not
//! UTF-8 never reaches it (`read_to_string` refuses it first), so neither does such an input here.
//! Any card it accepts must survive being written and read again unchanged.
#![no_main]
use cloudmask::model::ModelCard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(card) = ModelCard::from_json(text, "fuzz") {
        let again = ModelCard::from_json(&card.to_json(), "fuzz")
            .expect("a card that was accepted reads again after to_json");
        assert_eq!(again, card, "a card changes on a to_json round trip");
        assert!(card.output_channels() >= 1);
        assert_eq!(card.common_codes().len(), card.classes.len());
        assert_eq!(card.band_names().len(), card.bands.len());
    }
});

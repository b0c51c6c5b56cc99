//! Setting a model's `metadata_props` entries (provenance of exported or edited models).

use crate::onnx::error::OnnxError;
use crate::onnx::message::Message;
use crate::onnx::model::ParsedModel;
use crate::onnx::schema::{model, string_string_entry};
use crate::onnx::wire::Encoder;

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

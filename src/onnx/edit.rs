//! Editing an ONNX model in place: making the spatial dimensions of the graph's
//! inputs and outputs symbolic, and setting `metadata_props` entries.
//!
//! Only the messages on the path to a change are re-encoded (model -> graph ->
//! value info -> type -> tensor type -> shape -> dimension); every other field,
//! including all nodes and weights, is copied byte for byte. Each function first
//! runs the same checks as [`inspect`](super::inspect), so a file that cannot
//! be inspected is never edited.
//!
//! One job per file: this file holds the re-encoding shared by both edits (replacing one
//! embedded message, walking fields); `dynamic_dims` makes the spatial dimensions symbolic
//! ([`with_dynamic_spatial_dims`]); `metadata` sets `metadata_props` entries
//! ([`with_metadata`]).

mod dynamic_dims;
mod metadata;
#[cfg(test)]
mod tests;

pub use dynamic_dims::{with_dynamic_spatial_dims, BATCH_DIM, HEIGHT_DIM, WIDTH_DIM};
pub use metadata::with_metadata;

use super::error::OnnxError;
use super::message::merged_payload;
use super::wire::{Encoder, Field, FieldIter};

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

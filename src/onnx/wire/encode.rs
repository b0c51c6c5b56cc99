//! Writing a message: fields copied verbatim from another message or freshly encoded.

use super::read::Field;
use super::varint::encode_varint;
use super::{WireType, MAX_FIELD_NUMBER, MAX_VARINT_LEN};

/// Builds a message by appending fields, either copied verbatim from another
/// message or freshly encoded.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// An encoder that expects about `capacity` bytes (e.g. the size of the
    /// message being rewritten), to avoid regrowing for large messages.
    pub fn with_capacity(capacity: usize) -> Self {
        Encoder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends a field exactly as it was read (tag and all).
    pub fn copy(&mut self, field: &Field<'_>) {
        self.buf.extend_from_slice(field.raw);
    }

    /// Appends a field given as (number, wire type, payload), where `payload`
    /// has the same meaning as [`Field::payload`]: for `Len` the content (the
    /// length prefix is written here), otherwise the already-encoded value.
    pub fn push(&mut self, number: u32, wire_type: WireType, payload: &[u8]) {
        debug_assert!((1..=MAX_FIELD_NUMBER).contains(&number));
        encode_varint(&mut self.buf, (u64::from(number) << 3) | wire_type.bits());
        if wire_type == WireType::Len {
            encode_varint(&mut self.buf, payload.len() as u64);
        }
        self.buf.extend_from_slice(payload);
    }

    /// Appends a varint field (int32/int64/uint*/bool/enum). Negative int32 and
    /// int64 values are passed sign-extended, as `value as i64 as u64`.
    pub fn varint(&mut self, number: u32, value: u64) {
        let mut payload = Vec::with_capacity(MAX_VARINT_LEN);
        encode_varint(&mut payload, value);
        self.push(number, WireType::Varint, &payload);
    }

    /// Appends a length-delimited field (bytes or an embedded message).
    pub fn bytes(&mut self, number: u32, content: &[u8]) {
        self.push(number, WireType::Len, content);
    }

    /// Appends a string field.
    pub fn string(&mut self, number: u32, value: &str) {
        self.bytes(number, value.as_bytes());
    }

    /// The encoded message.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

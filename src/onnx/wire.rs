//! Protocol Buffers wire format, without a schema: varints, tags, and a walk over
//! the fields of one message.
//!
//! Why it is hand-written: the crate only needs to read a few header fields of an
//! ONNX file and rewrite a handful of small nested messages. Working at the level
//! of raw fields means every field we do not touch (tens of megabytes of weights)
//! is copied byte for byte, and no protobuf code generator or `onnx.proto` copy
//! is needed at build time.
//!
//! Encoding reference: <https://protobuf.dev/programming-guides/encoding/>.
//! Groups (wire types 3 and 4) are deprecated and never used by ONNX, so they are
//! reported as errors rather than skipped.
//!
//! One job per file: this file holds the wire types ([`WireType`]) and limits; `varint`
//! decodes and encodes varints; `read` walks the fields of a message ([`Field`],
//! [`FieldIter`], [`parse_fields`]); `encode` builds one ([`Encoder`]); `error` says what is
//! wrong with a malformed one ([`WireError`]).

mod encode;
mod error;
mod read;
#[cfg(test)]
mod tests;
mod varint;

pub use encode::Encoder;
pub use error::{WireError, WireErrorKind};
pub use read::{parse_fields, Field, FieldIter};
pub use varint::{decode_varint, encode_varint};

/// Largest field number protobuf allows (2^29 - 1).
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// A varint never needs more than 10 bytes to hold 64 bits.
const MAX_VARINT_LEN: usize = 10;

/// How a field's payload is laid out on the wire (the low 3 bits of its tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireType {
    /// Wire type 0: int32, int64, uint*, bool, enum (one varint).
    Varint,
    /// Wire type 1: fixed64, sfixed64, double (8 little-endian bytes).
    Fixed64,
    /// Wire type 2: string, bytes, embedded messages, packed repeated fields
    /// (a varint length, then that many bytes).
    Len,
    /// Wire type 5: fixed32, sfixed32, float (4 little-endian bytes).
    Fixed32,
}

impl WireType {
    fn from_bits(bits: u8) -> Option<WireType> {
        match bits {
            0 => Some(WireType::Varint),
            1 => Some(WireType::Fixed64),
            2 => Some(WireType::Len),
            5 => Some(WireType::Fixed32),
            _ => None,
        }
    }

    fn bits(self) -> u64 {
        match self {
            WireType::Varint => 0,
            WireType::Fixed64 => 1,
            WireType::Len => 2,
            WireType::Fixed32 => 5,
        }
    }

    /// Human-readable name, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "64-bit",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "32-bit",
        }
    }
}

//! What is wrong with a byte sequence that should hold a protobuf message, and where.

use std::fmt;

/// What is wrong with a byte sequence that should hold a protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireErrorKind {
    /// The input ended in the middle of a varint.
    TruncatedVarint,
    /// A varint does not fit in 64 bits (more than 10 bytes, or stray high bits).
    VarintOverflow,
    /// A tag holds field number 0 or one above [`MAX_FIELD_NUMBER`](super::MAX_FIELD_NUMBER).
    InvalidFieldNumber(u64),
    /// A tag names wire type 3 or 4 (groups) or the undefined 6 or 7.
    UnsupportedWireType { field: u32, wire_type: u8 },
    /// A field's payload runs past the end of the enclosing message.
    TruncatedField {
        field: u32,
        needed: u64,
        available: usize,
    },
}

/// A wire-format error and the absolute byte offset (from the start of the
/// outermost buffer) where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub offset: usize,
    pub kind: WireErrorKind,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        match &self.kind {
            WireErrorKind::TruncatedVarint => write!(f, "truncated varint at byte {at}"),
            WireErrorKind::VarintOverflow => {
                write!(f, "varint at byte {at} does not fit in 64 bits")
            }
            WireErrorKind::InvalidFieldNumber(n) => {
                write!(f, "invalid field number {n} at byte {at}")
            }
            WireErrorKind::UnsupportedWireType { field, wire_type } => {
                let what = match wire_type {
                    3 | 4 => "a deprecated group",
                    _ => "undefined",
                };
                write!(
                    f,
                    "field {field} at byte {at} has wire type {wire_type} ({what})"
                )
            }
            WireErrorKind::TruncatedField {
                field,
                needed,
                available,
            } => write!(
                f,
                "field {field} at byte {at} needs {needed} bytes but only {available} remain \
                 (truncated file?)"
            ),
        }
    }
}

impl std::error::Error for WireError {}

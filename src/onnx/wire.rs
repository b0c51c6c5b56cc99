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

use std::fmt;

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

/// What is wrong with a byte sequence that should hold a protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireErrorKind {
    /// The input ended in the middle of a varint.
    TruncatedVarint,
    /// A varint does not fit in 64 bits (more than 10 bytes, or stray high bits).
    VarintOverflow,
    /// A tag holds field number 0 or one above [`MAX_FIELD_NUMBER`].
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

/// Decodes the varint starting at `buf[pos]`; returns its value and its length
/// in bytes. Errors carry no offset; callers add it.
pub fn decode_varint(buf: &[u8], pos: usize) -> Result<(u64, usize), WireErrorKind> {
    let mut value = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let Some(&byte) = pos.checked_add(i).and_then(|p| buf.get(p)) else {
            return Err(WireErrorKind::TruncatedVarint);
        };
        // The 10th byte holds only bit 63; anything more would overflow.
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(WireErrorKind::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(WireErrorKind::VarintOverflow)
}

/// Appends `value` as a (canonical, shortest) varint.
pub fn encode_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One field of a message, borrowed from the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field number from the tag.
    pub number: u32,
    pub wire_type: WireType,
    /// For [`WireType::Len`]: the content, without the length prefix. For
    /// [`WireType::Varint`]: the varint's own bytes. For fixed types: the 4 or 8
    /// little-endian bytes.
    pub payload: &'a [u8],
    /// Absolute offset of the field's tag.
    pub offset: usize,
    /// Absolute offset of `payload`; the base for offsets inside an embedded
    /// message.
    pub payload_offset: usize,
    /// The whole field (tag, length prefix, payload) exactly as it was read, so
    /// an unchanged field can be copied without re-encoding it.
    pub raw: &'a [u8],
}

impl<'a> Field<'a> {
    /// The value of a varint field; `None` for other wire types.
    pub fn as_varint(&self) -> Option<u64> {
        match self.wire_type {
            // The payload was validated when the field was read.
            WireType::Varint => decode_varint(self.payload, 0).ok().map(|(v, _)| v),
            _ => None,
        }
    }

    /// The content of a length-delimited field; `None` for other wire types.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.wire_type {
            WireType::Len => Some(self.payload),
            _ => None,
        }
    }

    /// Iterates the fields of the embedded message in this length-delimited
    /// field, with offsets still counted from the outermost buffer.
    pub fn message_fields(&self) -> Option<FieldIter<'a>> {
        self.as_bytes()
            .map(|bytes| FieldIter::with_base(bytes, self.payload_offset))
    }
}

/// Iterator over the fields of one message. Yields `Err` once for malformed
/// input and then stops, so a `collect::<Result<Vec<_>, _>>()` never loops.
#[derive(Debug, Clone)]
pub struct FieldIter<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> FieldIter<'a> {
    /// Fields of a message occupying all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_base(buf, 0)
    }

    /// Fields of a message occupying all of `buf`, which itself starts at
    /// absolute offset `base` (so error offsets point into the whole file).
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        FieldIter {
            buf,
            pos: 0,
            base,
            failed: false,
        }
    }

    fn read_field(&mut self) -> Result<Field<'a>, WireError> {
        let buf = self.buf;
        let start = self.pos;
        let base = self.base;
        let at = |pos: usize| base.saturating_add(pos);
        let err = |pos: usize, kind| WireError {
            offset: at(pos),
            kind,
        };

        let (tag, tag_len) = decode_varint(buf, start).map_err(|k| err(start, k))?;
        let number = tag >> 3;
        if number == 0 || number > u64::from(MAX_FIELD_NUMBER) {
            return Err(err(start, WireErrorKind::InvalidFieldNumber(number)));
        }
        let number = number as u32;
        let bits = (tag & 7) as u8;
        let wire_type = WireType::from_bits(bits).ok_or_else(|| {
            err(
                start,
                WireErrorKind::UnsupportedWireType {
                    field: number,
                    wire_type: bits,
                },
            )
        })?;

        let mut payload_start = start + tag_len;
        let payload_len = match wire_type {
            WireType::Varint => {
                decode_varint(buf, payload_start)
                    .map_err(|k| err(payload_start, k))?
                    .1
            }
            WireType::Fixed64 => 8,
            WireType::Fixed32 => 4,
            WireType::Len => {
                let (len, prefix_len) =
                    decode_varint(buf, payload_start).map_err(|k| err(payload_start, k))?;
                payload_start += prefix_len;
                let available = buf.len() - payload_start;
                match usize::try_from(len) {
                    Ok(len) if len <= available => len,
                    _ => {
                        return Err(err(
                            start,
                            WireErrorKind::TruncatedField {
                                field: number,
                                needed: len,
                                available,
                            },
                        ))
                    }
                }
            }
        };
        let available = buf.len() - payload_start;
        if payload_len > available {
            return Err(err(
                start,
                WireErrorKind::TruncatedField {
                    field: number,
                    needed: payload_len as u64,
                    available,
                },
            ));
        }
        let end = payload_start + payload_len;
        self.pos = end;
        Ok(Field {
            number,
            wire_type,
            payload: &buf[payload_start..end],
            offset: at(start),
            payload_offset: at(payload_start),
            raw: &buf[start..end],
        })
    }
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let field = self.read_field();
        self.failed = field.is_err();
        Some(field)
    }
}

impl std::iter::FusedIterator for FieldIter<'_> {}

/// Reads all fields of a message that starts at absolute offset `base`.
pub fn parse_fields(buf: &[u8], base: usize) -> Result<Vec<Field<'_>>, WireError> {
    FieldIter::with_base(buf, base).collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_varint(&mut out, value);
        out
    }

    #[test]
    fn varint_round_trips_edge_values() {
        let values = [
            0,
            1,
            127,
            128,
            150,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            (-1i64) as u64,
            i64::MIN as u64,
            u64::MAX,
        ];
        for value in values {
            let bytes = encoded(value);
            assert!(bytes.len() <= MAX_VARINT_LEN);
            assert_eq!(
                decode_varint(&bytes, 0),
                Ok((value, bytes.len())),
                "{value}"
            );
        }
        // Known encodings from the protobuf documentation.
        assert_eq!(encoded(150), [0x96, 0x01]);
        assert_eq!(encoded(1), [0x01]);
        assert_eq!(encoded(u64::MAX).len(), 10);
    }

    #[test]
    fn varint_errors() {
        assert_eq!(decode_varint(&[], 0), Err(WireErrorKind::TruncatedVarint));
        assert_eq!(
            decode_varint(&[0x80, 0x80], 0),
            Err(WireErrorKind::TruncatedVarint)
        );
        // Position past the end must not panic.
        assert_eq!(decode_varint(&[1], 5), Err(WireErrorKind::TruncatedVarint));
        assert_eq!(
            decode_varint(&[1], usize::MAX),
            Err(WireErrorKind::TruncatedVarint)
        );
        // 11 bytes, and 10 bytes whose last byte carries bits beyond 64.
        assert_eq!(
            decode_varint(&[0xff; 11], 0),
            Err(WireErrorKind::VarintOverflow)
        );
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(
            decode_varint(&too_big, 0),
            Err(WireErrorKind::VarintOverflow)
        );
    }

    #[test]
    fn reads_the_documentation_example() {
        // Field 1 = varint 150, field 2 = "testing".
        let msg = [
            0x08, 0x96, 0x01, 0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g',
        ];
        let fields = parse_fields(&msg, 100).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].number, 1);
        assert_eq!(fields[0].wire_type, WireType::Varint);
        assert_eq!(fields[0].as_varint(), Some(150));
        assert_eq!(fields[0].as_bytes(), None);
        assert_eq!(fields[0].offset, 100);
        assert_eq!(fields[0].raw, &msg[..3]);
        assert_eq!(fields[1].number, 2);
        assert_eq!(fields[1].as_bytes(), Some(&b"testing"[..]));
        assert_eq!(fields[1].as_varint(), None);
        assert_eq!(fields[1].offset, 103);
        assert_eq!(fields[1].payload_offset, 105);
    }

    #[test]
    fn reads_fixed_width_fields() {
        let mut enc = Encoder::new();
        enc.push(3, WireType::Fixed32, &1.5f32.to_le_bytes());
        enc.push(4, WireType::Fixed64, &2.5f64.to_le_bytes());
        let msg = enc.finish();
        let fields = parse_fields(&msg, 0).unwrap();
        assert_eq!(fields[0].wire_type, WireType::Fixed32);
        assert_eq!(fields[0].payload, 1.5f32.to_le_bytes());
        assert_eq!(fields[1].wire_type, WireType::Fixed64);
        assert_eq!(fields[1].payload, 2.5f64.to_le_bytes());
    }

    #[test]
    fn encoder_output_reads_back() {
        let mut inner = Encoder::new();
        inner.string(1, "x");
        let inner = inner.finish();

        let mut enc = Encoder::new();
        enc.varint(1, 8);
        enc.varint(2, (-3i64) as u64);
        enc.string(3, "hello");
        enc.bytes(MAX_FIELD_NUMBER, &inner);
        let msg = enc.finish();

        let fields = parse_fields(&msg, 0).unwrap();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[0].as_varint(), Some(8));
        assert_eq!(fields[1].as_varint().map(|v| v as i64), Some(-3));
        assert_eq!(fields[2].as_bytes(), Some(&b"hello"[..]));
        assert_eq!(fields[3].number, MAX_FIELD_NUMBER);
        let nested: Vec<_> = fields[3].message_fields().unwrap().collect();
        assert_eq!(nested.len(), 1);
        let nested = nested[0].as_ref().unwrap();
        assert_eq!(nested.as_bytes(), Some(&b"x"[..]));
        // Offsets of nested fields count from the start of the outer buffer.
        assert_eq!(nested.offset, fields[3].payload_offset);
        assert_eq!(
            &msg[nested.offset..nested.offset + nested.raw.len()],
            nested.raw
        );
    }

    #[test]
    fn copy_preserves_non_canonical_encodings() {
        // Field 1 = 150 written with a redundant trailing varint byte.
        let msg = [0x08, 0x96, 0x81, 0x00];
        let fields = parse_fields(&msg, 0).unwrap();
        assert_eq!(fields[0].as_varint(), Some(150));
        let mut enc = Encoder::new();
        enc.copy(&fields[0]);
        assert_eq!(enc.finish(), msg);
    }

    #[test]
    fn reports_truncated_length_delimited_field() {
        let mut enc = Encoder::new();
        enc.varint(1, 7);
        enc.bytes(7, &[0u8; 300]);
        let msg = enc.finish();
        let cut = &msg[..50];
        let err = parse_fields(cut, 0).unwrap_err();
        assert_eq!(err.offset, 2);
        assert_eq!(
            err.kind,
            WireErrorKind::TruncatedField {
                field: 7,
                needed: 300,
                available: 45
            }
        );
        assert_eq!(
            err.to_string(),
            "field 7 at byte 2 needs 300 bytes but only 45 remain (truncated file?)"
        );
    }

    #[test]
    fn reports_truncated_fixed_fields_and_tags() {
        let err = parse_fields(&[0x09, 1, 2, 3], 0).unwrap_err();
        assert!(matches!(
            err.kind,
            WireErrorKind::TruncatedField {
                field: 1,
                needed: 8,
                available: 3
            }
        ));
        let err = parse_fields(&[0x08, 0x01, 0x88], 10).unwrap_err();
        assert_eq!(err.to_string(), "truncated varint at byte 12");
        let err = parse_fields(&[0x08], 0).unwrap_err();
        assert_eq!(err.kind, WireErrorKind::TruncatedVarint);
        assert_eq!(err.offset, 1);
    }

    #[test]
    fn rejects_groups_and_bad_field_numbers() {
        let err = parse_fields(&[0x0b], 0).unwrap_err();
        assert_eq!(
            err.kind,
            WireErrorKind::UnsupportedWireType {
                field: 1,
                wire_type: 3
            }
        );
        assert!(err.to_string().contains("group"), "{err}");
        let err = parse_fields(&[0x0f], 0).unwrap_err();
        assert!(err.to_string().contains("undefined"), "{err}");
        let err = parse_fields(&[0x00, 0x00], 0).unwrap_err();
        assert_eq!(err.kind, WireErrorKind::InvalidFieldNumber(0));
        let mut big_tag = Vec::new();
        encode_varint(&mut big_tag, (u64::from(MAX_FIELD_NUMBER) + 1) << 3);
        big_tag.push(0);
        let err = parse_fields(&big_tag, 0).unwrap_err();
        assert!(matches!(err.kind, WireErrorKind::InvalidFieldNumber(_)));
    }

    #[test]
    fn iterator_stops_after_an_error() {
        let mut iter = FieldIter::new(&[0x08, 0x01, 0x0b, 0x08, 0x01]);
        assert!(iter.next().unwrap().is_ok());
        assert!(iter.next().unwrap().is_err());
        assert!(iter.next().is_none());
        assert!(iter.next().is_none());
    }

    #[test]
    fn huge_length_prefix_does_not_panic() {
        let mut msg = vec![0x12];
        encode_varint(&mut msg, u64::MAX);
        let err = parse_fields(&msg, 0).unwrap_err();
        assert!(matches!(
            err.kind,
            WireErrorKind::TruncatedField { field: 2, .. }
        ));
    }
}

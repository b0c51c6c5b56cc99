//! Reading a message: its fields, borrowed from the buffer with their absolute offsets, one at
//! a time ([`FieldIter`]) or all at once ([`parse_fields`]).

use super::error::{WireError, WireErrorKind};
use super::varint::decode_varint;
use super::{WireType, MAX_FIELD_NUMBER};

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

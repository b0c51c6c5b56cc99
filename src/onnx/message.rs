//! Schema-checked access to the fields of one parsed protobuf message, keeping
//! the message's path inside the model (e.g. `graph.input[0].type`) so errors
//! can say where the problem is.
//!
//! Protobuf semantics implemented here: for a singular scalar field the last
//! occurrence wins; a singular embedded message that occurs several times is
//! the merge of all occurrences, which for reading is simply all their fields in
//! order. A known field with an unexpected wire type is an error (the file is
//! then not the message we think it is).

use std::borrow::Cow;

use super::error::OnnxError;
use super::wire::{parse_fields, Field, WireType};

/// The fields of one message plus its path for error messages.
#[derive(Debug, Clone)]
pub(super) struct Message<'a> {
    pub fields: Vec<Field<'a>>,
    pub path: String,
}

impl<'a> Message<'a> {
    /// Parses the message in `bytes`, which starts at absolute offset `base`.
    pub fn parse(bytes: &'a [u8], base: usize, path: String) -> Result<Self, OnnxError> {
        let fields = parse_fields(bytes, base).map_err(|err| OnnxError::wire(err, &path))?;
        Ok(Message { fields, path })
    }

    /// Path of a field of this message, for error messages.
    pub fn field_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// All occurrences of field `number`, each checked to have wire type
    /// `expected`.
    pub fn occurrences(
        &self,
        number: u32,
        name: &str,
        expected: WireType,
    ) -> Result<Vec<&Field<'a>>, OnnxError> {
        self.fields
            .iter()
            .filter(|f| f.number == number)
            .map(|f| {
                if f.wire_type == expected {
                    Ok(f)
                } else {
                    Err(self.wrong_type(f, name, expected))
                }
            })
            .collect()
    }

    /// Error for field `field` (called `name`) having the wrong wire type.
    pub fn wrong_type(&self, field: &Field<'_>, name: &str, expected: WireType) -> OnnxError {
        OnnxError::not_a_model(
            format_args!(
                "{} (field {}) at byte {} has wire type {}, expected {}",
                self.field_path(name),
                field.number,
                field.offset,
                field.wire_type.name(),
                expected.name()
            ),
            Some(field.offset),
        )
    }

    /// Value of a singular varint field (last occurrence wins).
    pub fn varint(&self, number: u32, name: &str) -> Result<Option<u64>, OnnxError> {
        let last = self.occurrences(number, name, WireType::Varint)?.pop();
        Ok(last.and_then(Field::as_varint))
    }

    /// Content of a singular bytes/string field (last occurrence wins).
    pub fn bytes(&self, number: u32, name: &str) -> Result<Option<&'a [u8]>, OnnxError> {
        let last = self.occurrences(number, name, WireType::Len)?.pop();
        Ok(last.map(|f| f.payload))
    }

    /// A singular string field that must be valid UTF-8 (names that callers
    /// pass back to ONNX Runtime must survive unchanged).
    pub fn string(&self, number: u32, name: &str) -> Result<Option<&'a str>, OnnxError> {
        let last = self.occurrences(number, name, WireType::Len)?.pop();
        last.map(|f| {
            std::str::from_utf8(f.payload).map_err(|_| {
                OnnxError::not_a_model(
                    format_args!(
                        "{} at byte {} is not valid UTF-8",
                        self.field_path(name),
                        f.offset
                    ),
                    Some(f.offset),
                )
            })
        })
        .transpose()
    }

    /// A singular free-text string field; invalid UTF-8 is replaced rather than
    /// rejected because the text is informational only.
    pub fn string_lossy(&self, number: u32, name: &str) -> Result<Option<String>, OnnxError> {
        Ok(self
            .bytes(number, name)?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// A singular embedded message: the merge of all its occurrences, or `None`
    /// when the field is absent.
    pub fn child(&self, number: u32, name: &str) -> Result<Option<Message<'a>>, OnnxError> {
        let occurrences = self.occurrences(number, name, WireType::Len)?;
        if occurrences.is_empty() {
            return Ok(None);
        }
        let path = self.field_path(name);
        let mut fields = Vec::new();
        for occurrence in occurrences {
            fields.extend(
                parse_fields(occurrence.payload, occurrence.payload_offset)
                    .map_err(|err| OnnxError::wire(err, &path))?,
            );
        }
        Ok(Some(Message { fields, path }))
    }

    /// Each occurrence of a repeated embedded message, in order.
    pub fn children(&self, number: u32, name: &str) -> Result<Vec<Message<'a>>, OnnxError> {
        self.occurrences(number, name, WireType::Len)?
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let path = format!("{}[{i}]", self.field_path(name));
                Message::parse(f.payload, f.payload_offset, path)
            })
            .collect()
    }
}

/// The bytes of a singular embedded message as one message: borrowed when it
/// occurs once (the normal case), the concatenation of all occurrences (which
/// protobuf defines as their merge) otherwise. `None` when absent.
pub(super) fn merged_payload<'a>(
    fields: &[Field<'a>],
    number: u32,
) -> Option<(Cow<'a, [u8]>, usize)> {
    let mut occurrences = fields.iter().filter(|f| f.number == number);
    let first = occurrences.next()?;
    let rest: Vec<&Field<'a>> = occurrences.collect();
    if rest.is_empty() {
        return Some((Cow::Borrowed(first.payload), first.payload_offset));
    }
    let mut bytes = first.payload.to_vec();
    for f in rest {
        bytes.extend_from_slice(f.payload);
    }
    // Offsets past the first occurrence are approximate for a merged message;
    // the validating read has already reported any error with exact offsets.
    Some((Cow::Owned(bytes), first.payload_offset))
}

#[cfg(test)]
mod tests {
    use super::super::wire::Encoder;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut inner_a = Encoder::new();
        inner_a.varint(1, 10);
        let mut inner_b = Encoder::new();
        inner_b.varint(1, 20);
        inner_b.string(2, "b");

        let mut enc = Encoder::new();
        enc.varint(1, 1);
        enc.string(2, "first");
        enc.varint(1, 2);
        enc.string(2, "second");
        enc.bytes(3, &inner_a.finish());
        enc.bytes(3, &inner_b.finish());
        enc.bytes(4, &[0xff, 0xfe]);
        enc.finish()
    }

    #[test]
    fn last_scalar_wins_and_messages_merge() {
        let bytes = sample();
        let msg = Message::parse(&bytes, 0, "m".to_owned()).unwrap();
        assert_eq!(msg.varint(1, "v").unwrap(), Some(2));
        assert_eq!(msg.string(2, "s").unwrap(), Some("second"));
        assert_eq!(msg.varint(9, "absent").unwrap(), None);

        let merged = msg.child(3, "c").unwrap().unwrap();
        assert_eq!(merged.path, "m.c");
        assert_eq!(merged.varint(1, "x").unwrap(), Some(20));
        assert_eq!(merged.string(2, "y").unwrap(), Some("b"));
        assert!(msg.child(9, "absent").unwrap().is_none());

        let each = msg.children(3, "c").unwrap();
        assert_eq!(each.len(), 2);
        assert_eq!(each[1].path, "m.c[1]");
        assert_eq!(each[0].varint(1, "x").unwrap(), Some(10));

        let (payload, _) = merged_payload(&msg.fields, 3).unwrap();
        assert!(matches!(payload, Cow::Owned(_)));
        let reparsed = Message::parse(&payload, 0, String::new()).unwrap();
        assert_eq!(reparsed.fields.len(), 3);
        let (payload, _) = merged_payload(&msg.fields, 4).unwrap();
        assert!(matches!(payload, Cow::Borrowed(_)));
        assert!(merged_payload(&msg.fields, 9).is_none());
    }

    #[test]
    fn wrong_wire_type_and_bad_utf8_are_errors() {
        let bytes = sample();
        let msg = Message::parse(&bytes, 0, "m".to_owned()).unwrap();
        let err = msg.varint(2, "name").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an ONNX model: m.name (field 2) at byte 2 has wire type length-delimited, \
             expected varint"
        );
        assert!(msg.child(1, "sub").is_err());
        let err = msg.string(4, "label").unwrap_err();
        assert!(err.to_string().contains("m.label"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        assert_eq!(
            msg.string_lossy(4, "label").unwrap().unwrap(),
            "\u{fffd}\u{fffd}"
        );
    }
}

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

//! Varints: protobuf's variable-length integers (7 bits a byte, low bits first), which carry
//! tags, lengths and integer values.

use super::error::WireErrorKind;
use super::MAX_VARINT_LEN;

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

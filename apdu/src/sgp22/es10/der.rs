//! Small DER value codecs the ES10 messages share (crate-visible, so the device-change
//! messages can use them too): UTF8String, small INTEGERs, BOOLEAN and named-bit BIT
//! STRINGs (X.690 §8.6, §11.2.2: trailing zero bits removed).

use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, Tlv};

/// A UTF8String value, capped at `max` bytes.
pub fn utf8(tag: u32, v: &[u8], max: usize) -> Result<String> {
    if v.len() > max {
        return Err(Error::InvalidValue {
            tag,
            reason: "string too long",
        });
    }
    String::from_utf8(v.to_vec()).map_err(|_| Error::InvalidValue {
        tag,
        reason: "not valid UTF-8",
    })
}

/// An INTEGER that must fit in 0..=255.
pub fn small_int(tag: u32, v: &[u8]) -> Result<u8> {
    let n = tlv::read_uint(tag, v)?;
    u8::try_from(n).map_err(|_| Error::InvalidValue {
        tag,
        reason: "integer out of range",
    })
}

/// A BOOLEAN: `00` false, anything else true (lpac sends `FF`, pySim `01`).
pub fn boolean(tag: u32, v: &[u8]) -> Result<bool> {
    match v {
        [b] => Ok(*b != 0),
        _ => Err(Error::InvalidValue {
            tag,
            reason: "a BOOLEAN is one byte",
        }),
    }
}

/// Encodes up to 8 named bits (bit 0 = most significant bit of `bits`) as a DER BIT
/// STRING value. No bits set gives `00` (one byte: zero unused bits, no data), never an
/// empty value, which lpac rejects.
pub fn bits_encode(bits: u8) -> Vec<u8> {
    if bits == 0 {
        return vec![0x00];
    }
    vec![bits.trailing_zeros() as u8, bits]
}

/// Decodes a named-bit BIT STRING value (first 8 bits). Accepts pySim's form without
/// the unused-bits byte (`82 01 <flags>`), which coincides with the empty string for `00`.
pub fn bits_decode(tag: u32, v: &[u8]) -> Result<u8> {
    match v {
        [] => Err(Error::InvalidValue {
            tag,
            reason: "empty BIT STRING",
        }),
        [flags] => Ok(*flags),
        [unused, first, ..] if *unused <= 7 => Ok(*first),
        _ => Err(Error::InvalidValue {
            tag,
            reason: "BIT STRING with more than 7 unused bits",
        }),
    }
}

/// A fixed-size OCTET STRING.
pub fn fixed<const N: usize>(tag: u32, v: &[u8]) -> Result<[u8; N]> {
    v.try_into().map_err(|_| Error::InvalidValue {
        tag,
        reason: "wrong length",
    })
}

/// A primitive child that must be present.
pub fn req(t: &Tlv, tag: u32) -> Result<&[u8]> {
    tlv::require_bytes(t, tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_strings() {
        assert_eq!(bits_encode(0xE0), vec![5, 0xE0]);
        assert_eq!(bits_encode(0x80), vec![7, 0x80]);
        assert_eq!(bits_encode(0x10), vec![4, 0x10]);
        assert_eq!(bits_encode(0), vec![0]);
        assert_eq!(bits_decode(0x82, &[5, 0xE0]).unwrap(), 0xE0);
        assert_eq!(bits_decode(0x82, &[0xE0]).unwrap(), 0xE0);
        assert_eq!(bits_decode(0x82, &[0]).unwrap(), 0);
        assert!(bits_decode(0x82, &[]).is_err());
        assert!(bits_decode(0x82, &[9, 1]).is_err());
    }
}

//! BER-TLV (ISO/IEC 7816-4 §5.2, ASN.1 DER as SGP.22 uses it) over `iso7816-tlv`,
//! with the input checked before it reaches that parser.
//!
//! `iso7816-tlv` recurses once per nesting level and trusts length fields, so a
//! deeply nested or oversized input can exhaust the stack. [`parse`] and [`parse_all`]
//! first walk the bytes iteratively, checking total size ([`MAX_TLV_SIZE`]), nesting
//! depth ([`MAX_DEPTH`]), tag and length encodings and that every child fits in its
//! parent, and only then hand them to `iso7816-tlv`. [`encode`] writes DER lengths
//! (minimal form), which the library does not do for a length of 127.

use crate::error::{Error, Result};
pub use iso7816_tlv::ber::{Tag, Tlv, Value};

/// Largest TLV input we parse at once.
pub const MAX_TLV_SIZE: usize = 64 * 1024;
/// Deepest nesting we accept (ES10 messages nest at most 6 levels).
pub const MAX_DEPTH: usize = 16;

/// Reads one tag at `pos`; returns (tag number, constructed, next position).
fn scan_tag(b: &[u8], pos: usize) -> Result<(u32, bool, usize)> {
    let first = *b.get(pos).ok_or(Error::Truncated)?;
    if first == 0x00 || first == 0xFF {
        return Err(Error::Malformed("invalid tag byte 00 or FF"));
    }
    let constructed = first & 0x20 != 0;
    let mut tag = first as u32;
    let mut p = pos + 1;
    if first & 0x1F == 0x1F {
        for i in 0..2 {
            let next = *b.get(p).ok_or(Error::Truncated)?;
            tag = (tag << 8) | next as u32;
            p += 1;
            if next & 0x80 == 0 {
                break;
            }
            if i == 1 {
                return Err(Error::Malformed("tag longer than three bytes"));
            }
        }
    }
    Ok((tag, constructed, p))
}

/// Reads one length at `pos`; returns (length, next position).
fn scan_len(b: &[u8], pos: usize) -> Result<(usize, usize)> {
    let first = *b.get(pos).ok_or(Error::Truncated)?;
    if first < 0x80 {
        return Ok((first as usize, pos + 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 {
        return Err(Error::Malformed("indefinite length"));
    }
    if n > 3 {
        return Err(Error::Malformed("length field longer than 3 bytes"));
    }
    let bytes = b.get(pos + 1..pos + 1 + n).ok_or(Error::Truncated)?;
    let len = bytes.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize);
    // DER (X.690 §10.1): the shortest form only. `iso7816-tlv` sizes children by their
    // re-encoded (minimal) length, so a longer form would make it read past the parent.
    let minimal = match n {
        1 => len >= 0x80,
        2 => len >= 0x100,
        _ => len >= 0x1_0000,
    };
    if !minimal {
        return Err(Error::Malformed("length not in its shortest form"));
    }
    Ok((len, pos + 1 + n))
}

/// Checks a sequence of TLVs without recursion. Returns the number of top-level objects.
pub fn check(b: &[u8]) -> Result<usize> {
    if b.len() > MAX_TLV_SIZE {
        return Err(Error::TooLarge {
            len: b.len(),
            max: MAX_TLV_SIZE,
        });
    }
    // Stack of end offsets of the constructed objects we are inside.
    let mut ends: Vec<usize> = Vec::new();
    let mut pos = 0;
    let mut top = 0;
    while pos < b.len() {
        while ends.last() == Some(&pos) {
            ends.pop();
        }
        if pos == b.len() {
            break;
        }
        if ends.is_empty() {
            top += 1;
        }
        let (_, constructed, p) = scan_tag(b, pos)?;
        let (len, p) = scan_len(b, p)?;
        let end = p.checked_add(len).ok_or(Error::Truncated)?;
        if end > b.len() {
            return Err(Error::Truncated);
        }
        if let Some(&parent_end) = ends.last() {
            if end > parent_end {
                return Err(Error::Malformed("child overruns its parent"));
            }
        }
        if constructed && len > 0 {
            if ends.len() >= MAX_DEPTH {
                return Err(Error::TooDeep { max: MAX_DEPTH });
            }
            ends.push(end);
            pos = p;
        } else {
            pos = end;
        }
    }
    Ok(top)
}

/// Parses exactly one TLV (no trailing bytes).
pub fn parse(b: &[u8]) -> Result<Tlv> {
    if check(b)? != 1 {
        return Err(Error::Malformed("expected exactly one TLV object"));
    }
    Tlv::from_bytes(b).map_err(|_| Error::Malformed("rejected by BER-TLV parser"))
}

/// Parses a concatenation of TLVs (possibly empty).
pub fn parse_all(b: &[u8]) -> Result<Vec<Tlv>> {
    check(b)?;
    let mut out = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        let (r, next) = Tlv::parse(rest);
        out.push(r.map_err(|_| Error::Malformed("rejected by BER-TLV parser"))?);
        rest = next;
    }
    Ok(out)
}

/// The tag as a number (`0x5A`, `0xBF3E`, `0x9F70`).
pub fn tag_num(t: &Tlv) -> u32 {
    t.tag()
        .to_bytes()
        .iter()
        .fold(0u32, |a, &x| (a << 8) | x as u32)
}

fn mk_tag(tag: u32) -> Tag {
    // Tags come from constants in this crate; an invalid one is a programming error
    // caught by the unit tests.
    Tag::try_from(tag).unwrap_or_else(|_| panic!("invalid tag constant {tag:X}"))
}

/// A primitive TLV. `tag` must be a primitive tag constant.
pub fn prim(tag: u32, value: impl Into<Vec<u8>>) -> Tlv {
    Tlv::new(mk_tag(tag), Value::Primitive(value.into()))
        .unwrap_or_else(|_| panic!("tag {tag:X} is not primitive"))
}

/// A constructed TLV. `tag` must be a constructed tag constant.
pub fn cons(tag: u32, children: Vec<Tlv>) -> Tlv {
    Tlv::new(mk_tag(tag), Value::Constructed(children))
        .unwrap_or_else(|_| panic!("tag {tag:X} is not constructed"))
}

/// Encodes with minimal (DER) length fields.
pub fn encode(t: &Tlv) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(t, &mut out);
    out
}

/// Encodes a sequence of TLVs.
pub fn encode_all(ts: &[Tlv]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in ts {
        encode_into(t, &mut out);
    }
    out
}

fn encode_into(t: &Tlv, out: &mut Vec<u8>) {
    out.extend_from_slice(t.tag().to_bytes());
    match t.value() {
        Value::Primitive(v) => {
            push_len(v.len(), out);
            out.extend_from_slice(v);
        }
        Value::Constructed(children) => {
            let mut inner = Vec::new();
            for c in children {
                encode_into(c, &mut inner);
            }
            push_len(inner.len(), out);
            out.extend_from_slice(&inner);
        }
    }
}

/// Appends a DER length.
pub fn push_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
}

/// The children of a constructed TLV (empty for a primitive one).
pub fn children(t: &Tlv) -> &[Tlv] {
    match t.value() {
        Value::Constructed(c) => c,
        Value::Primitive(_) => &[],
    }
}

/// The first direct child with `tag`.
pub fn child(t: &Tlv, tag: u32) -> Option<&Tlv> {
    children(t).iter().find(|c| tag_num(c) == tag)
}

/// The value bytes of a primitive TLV.
pub fn bytes(t: &Tlv) -> Option<&[u8]> {
    match t.value() {
        Value::Primitive(v) => Some(v),
        Value::Constructed(_) => None,
    }
}

/// The value bytes of the direct primitive child `tag`.
pub fn child_bytes(t: &Tlv, tag: u32) -> Option<&[u8]> {
    child(t, tag).and_then(bytes)
}

/// Like [`child_bytes`], but a missing child is an error.
pub fn require_bytes(t: &Tlv, tag: u32) -> Result<&[u8]> {
    child_bytes(t, tag).ok_or(Error::MissingTag(tag))
}

/// Parses one TLV and checks its tag.
pub fn parse_expect(b: &[u8], tag: u32) -> Result<Tlv> {
    let t = parse(b)?;
    let found = tag_num(&t);
    if found != tag {
        return Err(Error::UnexpectedTag {
            expected: tag,
            found,
        });
    }
    Ok(t)
}

/// A DER INTEGER value for a non-negative number (minimal two's complement).
pub fn int_bytes(v: u64) -> Vec<u8> {
    let raw = v.to_be_bytes();
    let skip = raw.iter().take(7).take_while(|&&x| x == 0).count();
    let mut out = raw[skip..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// Reads a DER INTEGER value as a non-negative number (at most 8 bytes).
pub fn read_uint(tag: u32, v: &[u8]) -> Result<u64> {
    if v.is_empty() || v.len() > 9 || (v.len() == 9 && v[0] != 0) || v[0] & 0x80 != 0 {
        return Err(Error::InvalidValue {
            tag,
            reason: "not a non-negative integer of at most 64 bits",
        });
    }
    Ok(v.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_nested() {
        let b = hex::decode("BF2D0CA00AE3085A0789490000000A").unwrap();
        assert!(parse(&b).is_err()); // 5A length 6 with 5 bytes left: truncated
        let b = hex::decode("BF2D0BA009E3075A05894900000A").unwrap();
        let t = parse(&b).unwrap();
        assert_eq!(tag_num(&t), 0xBF2D);
        assert_eq!(encode(&t), b);
        let e3 = child(child(&t, 0xA0).unwrap(), 0xE3).unwrap();
        assert_eq!(
            child_bytes(e3, 0x5A).unwrap(),
            &hex::decode("894900000A").unwrap()[..]
        );
    }

    #[test]
    fn der_length_127_and_256() {
        let t = prim(0x04, vec![0u8; 127]);
        assert_eq!(&encode(&t)[..2], &[0x04, 0x7F]);
        let t = prim(0x04, vec![0u8; 256]);
        assert_eq!(&encode(&t)[..4], &[0x04, 0x82, 0x01, 0x00]);
        assert_eq!(parse(&encode(&t)).unwrap(), t);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let mut b = Vec::new();
        let depth = 100_000;
        for _ in 0..depth {
            b.push(0x30);
            b.push(0x80); // indefinite, refused anyway
        }
        assert!(parse(&b).is_err());
        // Definite lengths, nested 20 deep (over MAX_DEPTH).
        let mut inner = vec![0x04, 0x00];
        for _ in 0..20 {
            let mut o = vec![0x30];
            push_len(inner.len(), &mut o);
            o.extend_from_slice(&inner);
            inner = o;
        }
        assert_eq!(parse(&inner), Err(Error::TooDeep { max: MAX_DEPTH }));
        // 60 000 levels of a zero-length constructed object in a 3-byte length: fine size,
        // absurd depth; must not overflow the stack.
        let mut big = Vec::new();
        for i in 0..20_000usize {
            let remaining = (20_000 - i - 1) * 4;
            big.extend_from_slice(&[0x30, 0x82, (remaining >> 8) as u8, remaining as u8]);
        }
        assert!(parse(&big).is_err());
    }

    #[test]
    fn size_cap() {
        let b = vec![0x04; MAX_TLV_SIZE + 1];
        assert!(matches!(parse(&b), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn overruns_and_garbage() {
        for bad in [
            "",
            "04",
            "0402AA",
            "3003040201",
            "E303040101AA",
            "1F",
            "1F8181",
            "048400000001AA",
            "0480",
            "00",
        ] {
            let b = hex::decode(bad).unwrap();
            assert!(parse(&b).is_err(), "{bad}");
        }
        assert_eq!(parse_all(&[]).unwrap(), vec![]);
        assert_eq!(
            parse_all(&hex::decode("04010105020202").unwrap())
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn integers() {
        assert_eq!(int_bytes(0), vec![0]);
        assert_eq!(int_bytes(127), vec![0x7F]);
        assert_eq!(int_bytes(128), vec![0, 0x80]);
        assert_eq!(read_uint(0x80, &[0, 0x80]).unwrap(), 128);
        assert!(read_uint(0x80, &[0x80]).is_err());
        assert!(read_uint(0x80, &[]).is_err());
    }
}

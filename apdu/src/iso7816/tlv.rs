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

/// Reads one tag at `pos` (one to three bytes, first byte not `00`/`FF`); returns
/// (tag number, constructed, next position). Also reads tag lists such as SGP.22's
/// `tagList` (concatenated tags without lengths).
pub fn read_tag(b: &[u8], pos: usize) -> Result<(u32, bool, usize)> {
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

/// Reads one DER length at `pos` (at most 3 length bytes, shortest form); returns
/// (length, next position).
pub fn scan_len(b: &[u8], pos: usize) -> Result<(usize, usize)> {
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
        let (_, constructed, p) = read_tag(b, pos)?;
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

/// Whether `n` is a BER-TLV tag of one to three bytes as [`check`] accepts it
/// (ISO/IEC 7816-4 §5.2.2.1, X.690 §8.1.2): one byte other than `00` and `xF`-with-
/// b5..b1 all set; or a first byte with b5..b1 all set (not `FF`) followed by one byte
/// with b8 clear, or by one with b8 set and then one with b8 clear.
pub const fn tag_is_valid(n: u32) -> bool {
    let [b0, b1, b2, b3] = n.to_be_bytes();
    match (b0, b1, b2) {
        (0, 0, 0) => b3 != 0 && b3 & 0x1F != 0x1F,
        (0, 0, first) => opens_multi_byte_tag(first) && b3 & 0x80 == 0,
        (0, first, _) => opens_multi_byte_tag(first) && b2 & 0x80 != 0 && b3 & 0x80 == 0,
        _ => false,
    }
}

/// A first tag byte that announces more tag bytes (b5..b1 all set), `FF` excepted.
const fn opens_multi_byte_tag(first: u8) -> bool {
    first & 0x1F == 0x1F && first != 0xFF
}

/// Whether a valid tag `n` is constructed (b6 of its first byte, X.690 §8.1.2.5).
pub const fn tag_is_constructed(n: u32) -> bool {
    let bytes = n.to_be_bytes();
    let first = if bytes[1] != 0 {
        bytes[1]
    } else if bytes[2] != 0 {
        bytes[2]
    } else {
        bytes[3]
    };
    first & 0x20 != 0
}

/// A tag number checked to be a valid tag ([`tag_is_valid`]) that is constructed when
/// `CONSTRUCTED` is true and primitive when it is false: use [`PrimTag`] and [`ConsTag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckedTag<const CONSTRUCTED: bool>(u32);

/// A valid primitive tag (b6 of the first byte clear).
pub type PrimTag = CheckedTag<false>;
/// A valid constructed tag (b6 of the first byte set).
pub type ConsTag = CheckedTag<true>;

impl<const CONSTRUCTED: bool> CheckedTag<CONSTRUCTED> {
    /// `n` as a tag of this kind, `None` if it is not one.
    pub const fn new(n: u32) -> Option<Self> {
        if tag_is_valid(n) && tag_is_constructed(n) == CONSTRUCTED {
            Some(CheckedTag(n))
        } else {
            None
        }
    }

    /// `n` as a tag of this kind, for constants: inside `const { .. }` or a `const`
    /// item a wrong `n` fails the build.
    pub const fn of(n: u32) -> Self {
        match Self::new(n) {
            Some(t) => t,
            None => panic!("not a valid BER-TLV tag of this kind (primitive/constructed)"),
        }
    }

    /// The tag number (`0x5A`, `0xBF2D`).
    pub const fn num(self) -> u32 {
        self.0
    }
}

/// Builds a TLV whose tag passed [`tag_is_valid`] with the matching kind of value.
fn build(n: u32, value: Value) -> Tlv {
    match Tag::try_from(n).and_then(|tag| Tlv::new(tag, value)) {
        Ok(t) => t,
        // `tag_is_valid` is stricter than `iso7816-tlv` (the test
        // `tag_check_is_at_least_as_strict_as_the_library` walks every 1-3 byte number).
        Err(_) => unreachable!("tag {n:X} passed tag_is_valid"),
    }
}

/// A primitive TLV with a constant tag, checked when the crate is built:
/// ```
/// let iccid = apdu::iso7816::tlv::prim::<0x5A>(vec![0x98; 10]);
/// ```
/// A constructed or invalid `TAG` does not build (`cargo build`/`test`; `cargo check`
/// does not evaluate it):
/// ```compile_fail
/// let not_primitive = apdu::iso7816::tlv::prim::<0x30>(vec![]);
/// ```
pub fn prim<const TAG: u32>(value: impl Into<Vec<u8>>) -> Tlv {
    prim_tagged(const { PrimTag::of(TAG) }, value)
}

/// A constructed TLV with a constant tag, checked when the crate is built:
/// ```
/// let list = apdu::iso7816::tlv::cons::<0xBF2D>(vec![]);
/// ```
/// A primitive or invalid `TAG` does not build:
/// ```compile_fail
/// let invalid = apdu::iso7816::tlv::cons::<0x3F>(vec![]);
/// ```
pub fn cons<const TAG: u32>(children: Vec<Tlv>) -> Tlv {
    cons_tagged(const { ConsTag::of(TAG) }, children)
}

/// A primitive TLV with a checked tag.
pub fn prim_tagged(tag: PrimTag, value: impl Into<Vec<u8>>) -> Tlv {
    build(tag.0, Value::Primitive(value.into()))
}

/// A constructed TLV with a checked tag.
pub fn cons_tagged(tag: ConsTag, children: Vec<Tlv>) -> Tlv {
    build(tag.0, Value::Constructed(children))
}

/// A primitive TLV with a tag known only at run time; [`Error::InvalidTag`] if it is
/// not a valid primitive tag.
pub fn try_prim(tag: u32, value: impl Into<Vec<u8>>) -> Result<Tlv> {
    PrimTag::new(tag)
        .map(|t| prim_tagged(t, value))
        .ok_or(Error::InvalidTag(tag))
}

/// A constructed TLV with a tag known only at run time; [`Error::InvalidTag`] if it is
/// not a valid constructed tag.
pub fn try_cons(tag: u32, children: Vec<Tlv>) -> Result<Tlv> {
    ConsTag::new(tag)
        .map(|t| cons_tagged(t, children))
        .ok_or(Error::InvalidTag(tag))
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
        let t = prim::<0x04>(vec![0u8; 127]);
        assert_eq!(&encode(&t)[..2], &[0x04, 0x7F]);
        let t = prim::<0x04>(vec![0u8; 256]);
        assert_eq!(&encode(&t)[..4], &[0x04, 0x82, 0x01, 0x00]);
        assert_eq!(parse(&encode(&t)).unwrap(), t);
    }

    /// `depth` constructed `30` objects around `04 00`, every length in its shortest form.
    fn nested(depth: usize) -> Vec<u8> {
        let mut inner = vec![0x04, 0x00];
        for _ in 0..depth {
            let mut o = vec![0x30];
            push_len(inner.len(), &mut o);
            o.extend_from_slice(&inner);
            inner = o;
        }
        inner
    }

    // Each cap test below gives an input that breaks exactly one rule of `check` and
    // passes every other (its twin with that one defect repaired parses), and expects
    // that rule's own error: removing the rule makes the test fail.

    #[test]
    fn size_cap() {
        // One primitive object of 65 536 value bytes: a 3-byte DER length (shortest form,
        // as 65 536 > FFFF), 65 541 bytes in all, over the cap by 5.
        let mut b = vec![0x04, 0x83, 0x01, 0x00, 0x00];
        b.resize(5 + 0x1_0000, 0xAB);
        assert_eq!(
            parse(&b),
            Err(Error::TooLarge {
                len: b.len(),
                max: MAX_TLV_SIZE
            })
        );
        // Exactly at the cap: 04 82 FF FC and 65 532 bytes.
        let mut b = vec![0x04, 0x82, 0xFF, 0xFC];
        b.resize(MAX_TLV_SIZE, 0xAB);
        assert!(parse(&b).is_ok());
    }

    #[test]
    fn depth_cap() {
        // MAX_DEPTH constructed levels and the primitive inside: accepted.
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        // One more level, 36 bytes long: refused for its depth alone.
        let b = nested(MAX_DEPTH + 1);
        assert!(b.len() < 64);
        assert_eq!(parse(&b), Err(Error::TooDeep { max: MAX_DEPTH }));
    }

    #[test]
    fn depth_cap_keeps_the_stack_safe() {
        // 5 000 levels, each with a correct shortest-form length, under 20 000 bytes:
        // under the size cap, so only the depth rule stands between it and a recursive
        // parser.
        let b = nested(5_000);
        assert!(b.len() < 20_000);
        assert_eq!(parse(&b), Err(Error::TooDeep { max: MAX_DEPTH }));
    }

    #[test]
    fn tag_encoding() {
        assert!(parse(&[0x04, 0x01, 0xAA]).is_ok());
        // First tag byte 00 or FF, otherwise a valid one-byte object.
        for first in [0x00, 0xFF] {
            assert_eq!(
                parse(&[first, 0x01, 0xAA]),
                Err(Error::Malformed("invalid tag byte 00 or FF")),
                "{first:02X}"
            );
        }
        // Four tag bytes (1F 81 81 01) before a valid length and value.
        assert!(parse(&[0x1F, 0x81, 0x01, 0x01, 0xAA]).is_ok());
        assert_eq!(
            parse(&[0x1F, 0x81, 0x81, 0x01, 0x01, 0xAA]),
            Err(Error::Malformed("tag longer than three bytes"))
        );
        // A multi-byte tag cut short.
        assert_eq!(parse(&[0x9F]), Err(Error::Truncated));
    }

    #[test]
    fn length_encoding() {
        assert!(parse(&[0x04, 0x02, 0xAA, 0xBB]).is_ok());
        // Indefinite length on a constructed object with a valid child and end-of-contents.
        assert_eq!(
            parse(&[0x30, 0x80, 0x04, 0x00, 0x00, 0x00]),
            Err(Error::Malformed("indefinite length"))
        );
        // A four-byte length field for 2 value bytes.
        assert_eq!(
            parse(&[0x04, 0x84, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB]),
            Err(Error::Malformed("length field longer than 3 bytes"))
        );
        // Longer than the shortest form, right value count: 81 02, 82 0002, 83 000002.
        for prefix in [&[0x81][..], &[0x82, 0x00], &[0x83, 0x00, 0x00]] {
            let mut b = vec![0x04];
            b.extend_from_slice(prefix);
            b.extend_from_slice(&[0x02, 0xAA, 0xBB]);
            assert_eq!(
                parse(&b),
                Err(Error::Malformed("length not in its shortest form")),
                "{}",
                hex::encode(&b)
            );
        }
    }

    #[test]
    fn value_fits_input() {
        assert_eq!(parse(&[0x04, 0x03, 0xAA, 0xBB]), Err(Error::Truncated));
        assert_eq!(parse(&[0x04, 0x81]), Err(Error::Truncated));
    }

    #[test]
    fn child_fits_parent() {
        // 30 03 [04 02 AA] BB: the child's value ends one byte after its parent's, and
        // inside the input.
        assert!(parse(&[0x30, 0x04, 0x04, 0x02, 0xAA, 0xBB]).is_ok());
        assert_eq!(
            parse(&[0x30, 0x03, 0x04, 0x02, 0xAA, 0xBB]),
            Err(Error::Malformed("child overruns its parent"))
        );
    }

    #[test]
    fn exactly_one_object() {
        assert_eq!(
            parse(&[0x04, 0x00, 0x04, 0x00]),
            Err(Error::Malformed("expected exactly one TLV object"))
        );
        assert_eq!(parse_all(&[0x04, 0x00, 0x04, 0x00]).unwrap().len(), 2);
    }

    /// `tag_is_valid` accepts no number `iso7816-tlv` would refuse or read back as
    /// another tag: walks every number of 1-3 bytes.
    #[test]
    fn tag_check_is_at_least_as_strict_as_the_library() {
        let mut valid = 0u32;
        for n in 1u32..(1 << 24) {
            if !tag_is_valid(n) {
                continue;
            }
            valid += 1;
            let tag = Tag::try_from(n).unwrap_or_else(|_| panic!("{n:X}"));
            assert_eq!(tag.is_constructed(), tag_is_constructed(n), "{n:X}");
            if n % 97 == 0 || n < 0x1_0000 {
                let t = if tag_is_constructed(n) {
                    try_cons(n, vec![]).unwrap()
                } else {
                    try_prim(n, vec![1]).unwrap()
                };
                assert_eq!(tag_num(&parse(&encode(&t)).unwrap()), n, "{n:X}");
            }
        }
        // 1-byte: 256 - 1 (00) - 8 (b5-b1 all set); 2-byte: 7 first bytes (1F..DF, FF
        // excluded) x 128; 3-byte: 7 x 128 x 128.
        assert_eq!(valid, 247 + 7 * 128 + 7 * 128 * 128);
        assert_eq!(try_prim(0x20, vec![]), Err(Error::InvalidTag(0x20)));
        assert_eq!(try_cons(0x04, vec![]), Err(Error::InvalidTag(0x04)));
        assert_eq!(try_prim(0x1F, vec![]), Err(Error::InvalidTag(0x1F)));
        assert_eq!(try_prim(0x5A01, vec![]), Err(Error::InvalidTag(0x5A01)));
        assert_eq!(PrimTag::new(0x9F70).map(PrimTag::num), Some(0x9F70));
        assert_eq!(ConsTag::new(0xBF2D).map(ConsTag::num), Some(0xBF2D));
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

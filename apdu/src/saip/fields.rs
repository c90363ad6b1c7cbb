//! The field codecs every profile element shares (PEDefinitions, SAIP v3.3.1 §8,
//! AUTOMATIC TAGS): context tags, unsigned integers, fixed-size octet strings, and the
//! `PEHeader` each element starts with.

use super::error::{bad, missing, SaipError};
use crate::iso7816::tlv::{self, cons, prim, try_cons, try_prim, Tlv};

/// Context tag `[n]` of a constructed field (`A0`..`BE`, then `BF1F`..`BF7F`).
pub(crate) fn ctx_cons(n: usize) -> u32 {
    if n < 31 {
        0xA0 | n as u32
    } else {
        0xBF00 | n as u32
    }
}

/// The `n` of a constructed context tag `[n]` (inverse of [`ctx_cons`]).
pub(crate) fn ctx_index(tag: u32) -> Option<usize> {
    if tag <= 0xFF && tag & 0xE0 == 0xA0 && tag & 0x1F != 0x1F {
        Some((tag & 0x1F) as usize)
    } else if tag >> 8 == 0xBF && tag & 0x80 == 0 && tag & 0x7F >= 31 {
        Some((tag & 0x7F) as usize)
    } else {
        None
    }
}

pub(crate) fn uint(t: &Tlv, what: &'static str) -> Result<u64, SaipError> {
    let v = tlv::bytes(t).ok_or(bad(what))?;
    tlv::read_uint(tlv::tag_num(t), v).map_err(|_| bad(what))
}

pub(crate) fn uint_max(t: &Tlv, max: u64, what: &'static str) -> Result<u64, SaipError> {
    let n = uint(t, what)?;
    if n > max {
        return Err(bad(what));
    }
    Ok(n)
}

pub(crate) fn octets<'a>(t: &'a Tlv, what: &'static str) -> Result<&'a [u8], SaipError> {
    tlv::bytes(t).ok_or(bad(what))
}

pub(crate) fn fixed<const N: usize>(t: &Tlv, what: &'static str) -> Result<[u8; N], SaipError> {
    octets(t, what)?.try_into().map_err(|_| bad(what))
}

pub(crate) fn p(tag: u32, v: impl Into<Vec<u8>>) -> Tlv {
    // Every tag passed here is a constant of this module's ASN.1 (primitive).
    try_prim(tag, v).unwrap_or_else(|_| unreachable!("primitive tag {tag:X}"))
}

pub(crate) fn c(tag: u32, children: Vec<Tlv>) -> Tlv {
    try_cons(tag, children).unwrap_or_else(|_| unreachable!("constructed tag {tag:X}"))
}

/// `PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeHeader {
    pub mandated: bool,
    pub identification: u16,
}

impl PeHeader {
    pub fn decode(t: &Tlv) -> Result<PeHeader, SaipError> {
        let mut mandated = false;
        let mut id = None;
        for ch in tlv::children(t) {
            match tlv::tag_num(ch) {
                0x80 => mandated = true,
                0x81 => id = Some(uint_max(ch, 0x7FFF, "PEHeader.identification")? as u16),
                _ => return Err(bad("unknown PEHeader field")),
            }
        }
        Ok(PeHeader {
            mandated,
            identification: id.ok_or(missing("PEHeader.identification"))?,
        })
    }

    /// Encoded under the context tag `[n]` of its element (`A0` everywhere).
    pub fn encode(&self) -> Tlv {
        let mut ch = Vec::new();
        if self.mandated {
            ch.push(prim::<0x80>(vec![]));
        }
        ch.push(prim::<0x81>(tlv::int_bytes(self.identification as u64)));
        cons::<0xA0>(ch)
    }
}

/// The first child must be the `[0]` PEHeader.
pub(crate) fn pe_header(t: &Tlv) -> Result<PeHeader, SaipError> {
    match tlv::children(t).first() {
        Some(h) if tlv::tag_num(h) == 0xA0 => PeHeader::decode(h),
        _ => Err(missing("PEHeader")),
    }
}

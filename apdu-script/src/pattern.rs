//! Response patterns, the text after `#<`: the expected data field followed by the
//! status word, e.g. `#< BF3E125A10${EID:16} 9000`, `#< 61xx`, `#< BF2D* 9000`.
//!
//! Elements: bytes as two hex digits, where either digit may be `x` (wildcard nibble);
//! `*` (any number of bytes); `${NAME}` / `${NAME:N}` (a variable: matched against its
//! value when set, else captured). The last two bytes are the status word. At most one
//! element of unknown length (`*` or `${NAME}` without `:N`) per pattern, so matching
//! never backtracks. A `:` outside `${}` ends the pattern; the rest of the line is a
//! free-text note (scriptor prints `< 90 00 : Normal processing.`).

use crate::error::At;
use crate::scan::{hex_value, var_ref, Cursor, VarRef};
use std::fmt;

/// One expected byte: `value` on the bits set in `mask`, whole nibbles only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteMask {
    value: u8,
    mask: u8,
}

impl ByteMask {
    /// Exactly this byte.
    pub fn exact(b: u8) -> Self {
        ByteMask {
            value: b,
            mask: 0xFF,
        }
    }

    /// Any byte (`xx`).
    pub fn any() -> Self {
        ByteMask { value: 0, mask: 0 }
    }

    /// Each nibble given or wildcard (`None`); values above 15 are truncated to 4 bits.
    pub fn nibbles(high: Option<u8>, low: Option<u8>) -> Self {
        let (hv, hm) = high.map_or((0, 0), |n| ((n & 0x0F) << 4, 0xF0));
        let (lv, lm) = low.map_or((0, 0), |n| (n & 0x0F, 0x0F));
        ByteMask {
            value: hv | lv,
            mask: hm | lm,
        }
    }

    pub fn value(self) -> u8 {
        self.value
    }

    /// Bits that must match.
    pub fn mask(self) -> u8 {
        self.mask
    }

    pub fn matches(self, b: u8) -> bool {
        b & self.mask == self.value
    }
}

impl fmt::Display for ByteMask {
    /// Two characters: a hex digit for a checked nibble, `x` for a wildcard one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for shift in [4u8, 0] {
            if (self.mask >> shift) & 0x0F == 0 {
                f.write_str("x")?;
            } else {
                write!(f, "{:X}", (self.value >> shift) & 0x0F)?;
            }
        }
        Ok(())
    }
}

/// One element of the data part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// A run of (possibly masked) bytes.
    Bytes(Vec<ByteMask>),
    /// `*`: any number of bytes, including none.
    Any,
    /// `${NAME}` or `${NAME:N}`.
    Var(VarRef),
}

impl Element {
    /// True for `*` and `${NAME}` without a byte count.
    pub fn is_unsized(&self) -> bool {
        matches!(self, Element::Any | Element::Var(VarRef { len: None, .. }))
    }
}

/// One expected response: data pattern and status word pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePattern {
    pub data: Vec<Element>,
    pub sw: [ByteMask; 2],
}

impl ResponsePattern {
    /// No data, this exact status word.
    pub fn sw_only(sw: u16) -> Self {
        let [a, b] = sw.to_be_bytes();
        ResponsePattern {
            data: Vec::new(),
            sw: [ByteMask::exact(a), ByteMask::exact(b)],
        }
    }

    /// This exact data and status word (what the recorder writes).
    pub fn exact(data: &[u8], sw: u16) -> Self {
        let mut p = ResponsePattern::sw_only(sw);
        if !data.is_empty() {
            p.data.push(Element::Bytes(
                data.iter().map(|&b| ByteMask::exact(b)).collect(),
            ));
        }
        p
    }

    /// Parses the text after `#<`. `cur` starts right after the sigil.
    pub(crate) fn parse(cur: &mut Cursor) -> Result<ResponsePattern, At> {
        let mut els: Vec<Element> = Vec::new();
        let mut unsized_seen = false;
        loop {
            cur.skip_ws();
            let col = cur.col();
            let el =
                match cur.peek() {
                    None | Some(':') => break,
                    Some('*') => {
                        cur.bump();
                        Element::Any
                    }
                    Some('$') => Element::Var(var_ref(cur)?),
                    Some(c) if is_nibble(c) => Element::Bytes(vec![masked_pair(cur)?]),
                    Some(_) => return Err(cur.expected(
                        "a hex digit, 'x', '*', '${' or ':' (expected data, then the status word)",
                    )),
                };
            if el.is_unsized() {
                if unsized_seen {
                    return Err(At::new(
                        col,
                        "only one element of unknown length ('*' or ${NAME} without :N) per expectation; give the others a byte count, e.g. ${NAME:16}",
                    ));
                }
                unsized_seen = true;
            }
            push_merged(&mut els, el);
        }
        let sw = split_sw(&mut els).ok_or_else(|| {
            At::new(
                cur.col(),
                "expected the status word at the end of the expectation: 4 hex digits or 'x', e.g. 9000 or 61xx",
            )
        })?;
        Ok(ResponsePattern { data: els, sw })
    }
}

fn is_nibble(c: char) -> bool {
    hex_value(c).is_some() || c == 'x' || c == 'X'
}

/// Reads two nibble characters; the cursor is on the first.
fn masked_pair(cur: &mut Cursor) -> Result<ByteMask, At> {
    let mut n = [None; 2];
    for (i, slot) in n.iter_mut().enumerate() {
        match cur.peek() {
            Some(c) if is_nibble(c) => {
                *slot = hex_value(c);
                cur.bump();
            }
            _ if i == 0 => return Err(cur.expected("a hex digit or 'x'")),
            _ => {
                return Err(
                    cur.expected("a second hex digit or 'x' (a byte is written as two characters)")
                )
            }
        }
    }
    Ok(ByteMask::nibbles(n[0], n[1]))
}

/// Appends, merging adjacent byte runs.
pub(crate) fn push_merged(els: &mut Vec<Element>, el: Element) {
    match (els.last_mut(), el) {
        (Some(Element::Bytes(prev)), Element::Bytes(b)) => prev.extend(b),
        (_, el) => els.push(el),
    }
}

/// Takes the last two bytes off the pattern as the status word.
fn split_sw(els: &mut Vec<Element>) -> Option<[ByteMask; 2]> {
    let Some(Element::Bytes(run)) = els.last_mut() else {
        return None;
    };
    if run.len() < 2 {
        return None;
    }
    let sw2 = run.pop()?;
    let sw1 = run.pop()?;
    if run.is_empty() {
        els.pop();
    }
    Some([sw1, sw2])
}

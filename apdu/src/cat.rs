//! The Card Application Toolkit subset a card uses to ask its terminal for input
//! (ETSI TS 102 223): proactive commands GET INPUT (§6.4.3, type `23`) and PROVIDE
//! LOCAL INFORMATION / IMEI (§6.4.15, type `26`, qualifier `01`), and the TERMINAL
//! RESPONSE (§6.8) that answers them. FETCH is `80 12 00 00 Le`, TERMINAL RESPONSE
//! `80 14 00 00 Lc` (TS 102 221 §10.1.2); the card signals a pending command with
//! SW `91xx`.
//!
//! The text a user types may be a secret (the key-generation parameter): [`Input`]
//! zeroizes it and never prints it, and the TERMINAL RESPONSE that carries it is encoded
//! into and decoded from wiped buffers only, without a TLV tree copy of the text
//! (issue 10, finding 10).

use crate::error::{Error, Result};
use crate::iso7816::tlv;
use std::fmt;
use zeroize::Zeroizing;

/// INS of FETCH and TERMINAL RESPONSE, from the one table.
pub use crate::iso7816::ins::{FETCH as INS_FETCH, TERMINAL_RESPONSE as INS_TERMINAL_RESPONSE};
/// Proactive command type GET INPUT.
pub const TYPE_GET_INPUT: u8 = 0x23;
/// Proactive command type PROVIDE LOCAL INFORMATION.
pub const TYPE_PROVIDE_LOCAL_INFO: u8 = 0x26;
/// GET INPUT qualifier bit: alphabet allowed (else digits 0-9, *, #, + only).
pub const QUAL_ALPHABET: u8 = 0x01;
/// GET INPUT qualifier bit: user input shall not be revealed.
pub const QUAL_HIDDEN: u8 = 0x04;
/// PROVIDE LOCAL INFORMATION qualifier: IMEI of the terminal.
pub const QUAL_IMEI: u8 = 0x01;

/// General results of TS 102 223 §8.12.
pub mod results {
    pub const OK: u8 = 0x00;
    pub const TERMINATED_BY_USER: u8 = 0x10;
    pub const NO_RESPONSE_FROM_USER: u8 = 0x12;
    pub const BEYOND_TERMINAL_CAPABILITY: u8 = 0x30;
    pub const NOT_UNDERSTOOD: u8 = 0x32;
}

/// A proactive command the card sends in answer to FETCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProactiveCommand {
    /// GET INPUT: show `prompt`, read between `min` and `max` characters.
    GetInput {
        number: u8,
        prompt: String,
        hidden: bool,
        alphabet: bool,
        min: u8,
        max: u8,
    },
    /// PROVIDE LOCAL INFORMATION, IMEI.
    ProvideImei { number: u8 },
}

impl ProactiveCommand {
    /// The command details `81 03 number type qualifier`.
    pub fn details(&self) -> [u8; 3] {
        match self {
            ProactiveCommand::GetInput {
                number,
                hidden,
                alphabet,
                ..
            } => {
                let q = if *hidden { QUAL_HIDDEN } else { 0 }
                    | if *alphabet { QUAL_ALPHABET } else { 0 };
                [*number, TYPE_GET_INPUT, q]
            }
            ProactiveCommand::ProvideImei { number } => {
                [*number, TYPE_PROVIDE_LOCAL_INFO, QUAL_IMEI]
            }
        }
    }

    /// Encodes as `D0 len ...`.
    pub fn encode(&self) -> Vec<u8> {
        let mut c = vec![
            tlv::prim::<0x81>(self.details().to_vec()),
            tlv::prim::<0x82>(vec![0x81, 0x82]),
        ];
        if let ProactiveCommand::GetInput {
            prompt, min, max, ..
        } = self
        {
            let mut text = vec![0x04];
            text.extend_from_slice(prompt.as_bytes());
            c.push(tlv::prim::<0x8D>(text));
            c.push(tlv::prim::<0x91>(vec![*min, *max]));
        }
        // `D0` is a BER-TLV tag whose value is COMPREHENSION-TLVs (TS 102 223 §6.6, §9.1).
        tlv::encode(&tlv::prim::<0xD0>(tlv::encode_all(&c)))
    }

    /// Decodes a FETCH answer.
    pub fn decode(b: &[u8]) -> Result<ProactiveCommand> {
        let outer = tlv::parse_expect(b, 0xD0)?;
        let items = tlv::parse_all(tlv::bytes(&outer).unwrap_or(&[]))?;
        let find = |tag: u32| {
            items
                .iter()
                .find(|t| tlv::tag_num(t) & 0x7F == tag & 0x7F)
                .and_then(tlv::bytes)
        };
        let [number, kind, qual] = command_details(b)?;
        match kind {
            TYPE_GET_INPUT => {
                let text = find(0x8D).ok_or(Error::MissingTag(0x8D))?;
                let prompt = decode_text(text)?;
                let (min, max) = match find(0x91) {
                    Some([a, b]) => (*a, *b),
                    Some(_) => {
                        return Err(Error::InvalidValue {
                            tag: 0x91,
                            reason: "response length is 2 bytes",
                        })
                    }
                    None => (0, 255),
                };
                Ok(ProactiveCommand::GetInput {
                    number,
                    prompt,
                    hidden: qual & QUAL_HIDDEN != 0,
                    alphabet: qual & QUAL_ALPHABET != 0,
                    min,
                    max,
                })
            }
            TYPE_PROVIDE_LOCAL_INFO if qual == QUAL_IMEI => {
                Ok(ProactiveCommand::ProvideImei { number })
            }
            _ => Err(Error::InvalidValue {
                tag: 0x81,
                reason: "unsupported proactive command",
            }),
        }
    }
}

/// The command details (`81`: number, type, qualifier; TS 102 223 §8.6) of a FETCH
/// answer `D0 ...`, also of a command this module does not decode: the TERMINAL
/// RESPONSE echoes them (§6.8).
pub fn command_details(b: &[u8]) -> Result<[u8; 3]> {
    let outer = tlv::parse_expect(b, 0xD0)?;
    let items = tlv::parse_all(tlv::bytes(&outer).unwrap_or(&[]))?;
    let det = items
        .iter()
        .find(|t| tlv::tag_num(t) & 0x7F == 0x01)
        .and_then(tlv::bytes)
        .ok_or(Error::MissingTag(0x81))?;
    det.try_into().map_err(|_| Error::InvalidValue {
        tag: 0x81,
        reason: "command details are 3 bytes",
    })
}

/// Text typed by the user; zeroized on drop, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Input(pub Zeroizing<String>);

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Input(<{} chars redacted>)", self.0.chars().count())
    }
}

/// What the terminal reports back in a TERMINAL RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalData {
    None,
    Text(Input),
    Imei(String),
}

/// A TERMINAL RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalResponse {
    /// Echo of the command details.
    pub details: [u8; 3],
    /// General result (see [`results`]).
    pub result: u8,
    pub data: TerminalData,
}

impl TerminalResponse {
    /// Encodes the response body for `80 14 00 00 Lc`. The buffer is wiped when
    /// dropped; the text (TS 102 223 §8.15, tag `8D`, coding `04`) is written straight
    /// into it, with its room reserved first, so no unwiped copy is left behind.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut c = vec![
            tlv::prim::<0x81>(self.details.to_vec()),
            tlv::prim::<0x82>(vec![0x82, 0x81]),
            tlv::prim::<0x83>(vec![self.result]),
        ];
        if let TerminalData::Imei(i) = &self.data {
            c.push(tlv::prim::<0x94>(imei_to_bcd(i).unwrap_or_default()));
        }
        let head = tlv::encode_all(&c);
        let text = match &self.data {
            TerminalData::Text(t) => Some(t.0.as_bytes()),
            _ => None,
        };
        // Tag, up to 4 length bytes, the coding byte and the text.
        let room = head.len() + text.map_or(0, |t| 6 + t.len());
        let mut out = Zeroizing::new(Vec::with_capacity(room));
        out.extend_from_slice(&head);
        if let Some(t) = text {
            out.push(0x8D);
            tlv::push_len(1 + t.len(), &mut out);
            out.push(0x04);
            out.extend_from_slice(t);
        }
        out
    }

    /// Decodes a TERMINAL RESPONSE body (simple TLVs, no outer tag; the
    /// comprehension-required bit ignored), read in place so the typed text is copied
    /// only into the wiped [`Input`].
    pub fn decode(b: &[u8]) -> Result<TerminalResponse> {
        let items = top_level(b)?;
        let find = |tag: u32| {
            items
                .iter()
                .find(|(t, _)| t & 0x7F == tag & 0x7F)
                .map(|(_, v)| *v)
        };
        let details: [u8; 3] = find(0x81)
            .ok_or(Error::MissingTag(0x81))?
            .try_into()
            .map_err(|_| Error::InvalidValue {
                tag: 0x81,
                reason: "command details are 3 bytes",
            })?;
        let result = *find(0x83)
            .and_then(|r| r.first())
            .ok_or(Error::MissingTag(0x83))?;
        let data = if let Some(t) = find(0x8D) {
            TerminalData::Text(Input(decode_text_secret(t)?))
        } else if let Some(i) = find(0x94) {
            TerminalData::Imei(imei_from_bcd(i)?)
        } else {
            TerminalData::None
        };
        Ok(TerminalResponse {
            details,
            result,
            data,
        })
    }
}

/// Decodes a text string value: data coding scheme byte then text (`04` 8-bit, `08` UCS2).
pub fn decode_text(v: &[u8]) -> Result<String> {
    decode_text_secret(v).map(|t| t.as_str().to_owned())
}

/// [`decode_text`] into a wiped string; every intermediate buffer is wiped too.
fn decode_text_secret(v: &[u8]) -> Result<Zeroizing<String>> {
    let bad = |reason| Error::InvalidValue { tag: 0x8D, reason };
    match v.split_first() {
        None => Ok(Zeroizing::new(String::new())),
        Some((0x04, rest)) => {
            let text = std::str::from_utf8(rest).map_err(|_| bad("not 8-bit text"))?;
            let mut out = Zeroizing::new(String::with_capacity(text.len()));
            out.push_str(text);
            Ok(out)
        }
        Some((0x08, rest)) => {
            if !rest.len().is_multiple_of(2) {
                return Err(bad("odd UCS2 length"));
            }
            let mut out = Zeroizing::new(String::with_capacity(rest.len() * 3 / 2));
            let units = rest
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            for ch in char::decode_utf16(units) {
                out.push(ch.map_err(|_| bad("invalid UCS2"))?);
            }
            Ok(out)
        }
        Some(_) => Err(bad("unsupported data coding scheme")),
    }
}

/// The top-level objects of `b` as (tag, value) slices of it, after the same checks
/// as [`tlv::parse_all`] (sizes, tag and length encodings, nesting), but without the
/// TLV tree, which would hold unwiped copies of the values.
fn top_level(b: &[u8]) -> Result<Vec<(u32, &[u8])>> {
    tlv::check(b)?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let (tag, _, p) = tlv::read_tag(b, pos)?;
        let (len, p) = tlv::scan_len(b, p)?;
        let value = b.get(p..p + len).ok_or(Error::Truncated)?;
        out.push((tag, value));
        pos = p + len;
    }
    Ok(out)
}

/// Encodes a 15-digit IMEI as the 8-byte mobile identity of TS 24.008 §10.5.1.4
/// (type 010 = IMEI, odd indicator set), as TS 102 223 §8.20 carries it.
pub fn imei_to_bcd(imei: &str) -> Result<Vec<u8>> {
    let d: Vec<u8> = imei.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.len() != 15 || d.iter().any(|&x| x > 9) {
        return Err(Error::InvalidValue {
            tag: 0x94,
            reason: "an IMEI has 15 decimal digits",
        });
    }
    let mut out = vec![(d[0] << 4) | 0x0A];
    for pair in d[1..].chunks(2) {
        out.push((pair[1] << 4) | pair[0]);
    }
    Ok(out)
}

/// Decodes the 8-byte IMEI mobile identity.
pub fn imei_from_bcd(b: &[u8]) -> Result<String> {
    let bad = Error::InvalidValue {
        tag: 0x94,
        reason: "not an IMEI mobile identity",
    };
    if b.len() != 8 || b[0] & 0x0F != 0x0A {
        return Err(bad);
    }
    let mut s = String::with_capacity(15);
    let mut push = |n: u8| -> Result<()> {
        if n > 9 {
            return Err(Error::InvalidValue {
                tag: 0x94,
                reason: "IMEI digit out of range",
            });
        }
        s.push((b'0' + n) as char);
        Ok(())
    };
    push(b[0] >> 4)?;
    for &x in &b[1..] {
        push(x & 0x0F)?;
        push(x >> 4)?;
    }
    Ok(s)
}

/// Checks an IMEI: 15 digits with a valid Luhn check digit (3GPP TS 23.003 §6.2.1).
pub fn imei_is_valid(imei: &str) -> bool {
    imei.len() == 15 && crate::luhn::is_valid(imei)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_input_matches_interop_example_shape() {
        let c = ProactiveCommand::GetInput {
            number: 1,
            prompt: "Enter key parameter:".into(),
            hidden: true,
            alphabet: false,
            min: 4,
            max: 8,
        };
        let b = c.encode();
        let hexs = hex::encode_upper(&b);
        assert!(hexs.starts_with("D0"));
        assert!(hexs.contains("8103012304"));
        assert!(hexs.contains("82028182"));
        assert!(hexs.ends_with("91020408"));
        assert_eq!(ProactiveCommand::decode(&b).unwrap(), c);
        // interop.md: D0 27 81 03 01 23 04 82 02 81 82 8D 18 04 <23 bytes> 91 02 04 08
        let mut ex = hex::decode("D0278103012304820281828D1804").unwrap();
        ex.extend_from_slice(b"Enter the key parameter");
        ex.extend_from_slice(&[0x91, 0x02, 0x04, 0x08]);
        match ProactiveCommand::decode(&ex).unwrap() {
            ProactiveCommand::GetInput {
                hidden, min, max, ..
            } => {
                assert!(hidden);
                assert_eq!((min, max), (4, 8));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn imei_round_trip_and_luhn() {
        let imei = "490154203237518";
        assert!(imei_is_valid(imei));
        assert!(!imei_is_valid("490154203237519"));
        let b = imei_to_bcd(imei).unwrap();
        assert_eq!(hex::encode_upper(&b), "4A09512430325781");
        assert_eq!(b.len(), 8);
        assert_eq!(b[0], 0x4A);
        assert_eq!(imei_from_bcd(&b).unwrap(), imei);
        assert!(imei_to_bcd("12345").is_err());
        assert!(imei_from_bcd(&[0xFF; 8]).is_err());
    }

    #[test]
    fn terminal_response_round_trip() {
        let tr = TerminalResponse {
            details: [1, TYPE_GET_INPUT, QUAL_HIDDEN],
            result: results::OK,
            data: TerminalData::Text(Input(Zeroizing::new("123456".into()))),
        };
        let b = tr.encode();
        assert_eq!(TerminalResponse::decode(&b).unwrap(), tr);
        assert!(!format!("{tr:?}").contains("123456"));
        let tr = TerminalResponse {
            details: [2, TYPE_PROVIDE_LOCAL_INFO, QUAL_IMEI],
            result: results::OK,
            data: TerminalData::Imei("490154203237518".into()),
        };
        assert_eq!(TerminalResponse::decode(&tr.encode()).unwrap(), tr);
        // Comprehension-required bit cleared (01 instead of 81) is accepted too.
        let raw = hex::decode("0103012304020282810301108D0104").unwrap();
        let d = TerminalResponse::decode(&raw).unwrap();
        assert_eq!(d.result, results::TERMINATED_BY_USER);
    }

    /// The bytes are those of the BER encoder used before (one-byte tags, minimal
    /// lengths), also for a text longer than 127 bytes; malformed bodies are refused
    /// without a panic; the encoded buffer is a wiped one and Debug hides the text.
    #[test]
    fn terminal_response_bytes_and_malformed_bodies() {
        for len in [0usize, 6, 126, 127, 200, 300] {
            let text = "7".repeat(len);
            let tr = TerminalResponse {
                details: [1, TYPE_GET_INPUT, QUAL_HIDDEN],
                result: results::OK,
                data: TerminalData::Text(Input(Zeroizing::new(text.clone()))),
            };
            let mut value = vec![0x04];
            value.extend_from_slice(text.as_bytes());
            let ber = tlv::encode_all(&[
                tlv::prim::<0x81>(vec![1, TYPE_GET_INPUT, QUAL_HIDDEN]),
                tlv::prim::<0x82>(vec![0x82, 0x81]),
                tlv::prim::<0x83>(vec![results::OK]),
                tlv::prim::<0x8D>(value),
            ]);
            let b: Zeroizing<Vec<u8>> = tr.encode();
            assert_eq!(*b, ber, "text of {len} bytes");
            assert_eq!(TerminalResponse::decode(&b).unwrap(), tr);
            if len >= 3 {
                assert!(!format!("{tr:?}").contains("777"), "Debug shows the text");
            }
        }
        for bad in [
            "810301",       // value runs past the end
            "8103012304",   // tag without length at the end
            "00020000",     // invalid tag
            "8184000000",   // four length bytes
            "818105000000", // length not in its shortest form
            "8182",         // length bytes cut short
        ] {
            let raw = hex::decode(bad).unwrap();
            assert!(TerminalResponse::decode(&raw).is_err(), "{bad}");
        }
        // UCS2 text decodes into the wiped Input too.
        let raw = hex::decode("8103012304820282818301008D050800410042").unwrap();
        match TerminalResponse::decode(&raw).unwrap().data {
            TerminalData::Text(t) => assert_eq!(t.0.as_str(), "AB"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ucs2_text() {
        assert_eq!(decode_text(&[0x08, 0x00, 0x41, 0x00, 0x42]).unwrap(), "AB");
        assert!(decode_text(&[0x08, 0x00]).is_err());
        assert!(decode_text(&[0x00, 0x41]).is_err());
    }
}

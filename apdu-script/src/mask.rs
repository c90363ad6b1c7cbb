//! What of a secret command a recording (and sm-cli's `--trace`) replaces, found with the
//! `apdu` decoders ([`hidden`]): the command's data field ([`data_field`], ISO/IEC 7816-4
//! §5.1), or, for a TERMINAL RESPONSE with typed text ([`terminal_response_text`], ETSI
//! TS 102 223 §6.8, §8.15, the hidden key-generation parameter), everything after P2 in a
//! fixed form: Lc and the text string's length give the text's length away as surely as
//! the text gives the text, so neither is written and the variable has no count
//! (issue 10, finding 4). One rule for both recorders (sm-cli's `--record` and
//! card-sim's), so both name the same bytes `${SECRET_n}`.

use apdu::iso7816::{ins, tlv};
use apdu::Command;

/// The part of a secret command that is replaced: bytes `start..start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hidden {
    pub start: usize,
    pub len: usize,
    /// Whether the length may be written (`${SECRET_n:len}`, `<N bytes redacted>`); false
    /// for the fixed form of a typed text (module docs), written `${SECRET_n}`.
    pub length_shown: bool,
}

/// What of the secret command `apdu` to replace (module docs); `None` when it has no
/// data to hide.
pub fn hidden(apdu: &[u8]) -> Option<Hidden> {
    if terminal_response_text(apdu).is_some() {
        // TS 102 221 §10.1.2: CLA INS P1 P2 stay; Lc and the whole body go.
        return Some(Hidden {
            start: 4,
            len: apdu.len() - 4,
            length_shown: false,
        });
    }
    data_field(apdu).map(|(start, len)| Hidden {
        start,
        len,
        length_shown: true,
    })
}

/// Where the data field of a command APDU sits (start, length), if it has one
/// (ISO/IEC 7816-4 §5.1: short Lc at byte 4, extended `00 Lc1 Lc2` at bytes 4-6). A
/// command that does not parse has everything after the header and Lc hidden.
pub fn data_field(apdu: &[u8]) -> Option<(usize, usize)> {
    match Command::parse(apdu) {
        Ok(cmd) => data_of(apdu, &cmd),
        Err(_) => (apdu.len() > 5).then(|| (5, apdu.len() - 5)),
    }
}

/// The data field of `apdu`, which parsed as `cmd`.
fn data_of(apdu: &[u8], cmd: &Command) -> Option<(usize, usize)> {
    if cmd.data.is_empty() {
        return None;
    }
    // §5.1: a zero byte where a short Lc would be introduces the extended form.
    let start = if apdu.get(4) == Some(&0) { 7 } else { 5 };
    (start + cmd.data.len() <= apdu.len()).then_some((start, cmd.data.len()))
}

/// Where the typed text sits in a TERMINAL RESPONSE (`80 14 00 00 Lc`, ETSI TS 102 221
/// §10.1.2): the value of its text string TLV (tag `8D`/`0D`, TS 102 223 §8.15) after
/// the data coding scheme byte, as (start, length) in the APDU. `None` for anything
/// else, or an empty text.
pub fn terminal_response_text(apdu: &[u8]) -> Option<(usize, usize)> {
    let cmd = Command::parse(apdu).ok()?;
    if cmd.ins != ins::TERMINAL_RESPONSE {
        return None;
    }
    let (mut offset, _) = data_of(apdu, &cmd)?;
    // The simple TLVs of TS 102 223 §8 are BER-TLVs with one-byte tags; the decoder
    // checks every length before anything is read, and DER lengths re-encode to the
    // same size, so each object's size is the size of its encoding.
    for t in tlv::parse_all(&cmd.data).ok()? {
        let size = tlv::encode(&t).len();
        if let Some(value) = tlv::bytes(&t) {
            if tlv::tag_num(&t) & 0x7F == 0x0D && value.len() > 1 {
                let header = size - value.len();
                return Some((offset + header + 1, value.len() - 1));
            }
        }
        offset += size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fields_short_extended_and_unparsed() {
        assert_eq!(
            data_field(&[0x80, 0xE2, 0x91, 0x00, 0x02, 0xAA, 0xBB]),
            Some((5, 2))
        );
        assert_eq!(
            data_field(&[0x80, 0xE2, 0x91, 0x00, 0x00, 0x00, 0x01, 0xAA]),
            Some((7, 1))
        );
        assert_eq!(data_field(&[0x80, 0xCA, 0x00, 0x01, 0x00]), None);
        assert_eq!(
            data_field(&[0x80, 0xE2, 0x91, 0x00, 0x09, 0xAA]),
            Some((5, 1))
        );
    }

    #[test]
    fn typed_text_of_a_terminal_response() {
        // 81 03 details, 82 02 identities, 83 01 result, 8D 04 (DCS 04) "abc".
        use apdu::cat::{Input, TerminalData, TerminalResponse};
        let body = TerminalResponse {
            details: [0x01, 0x23, 0x04],
            result: 0,
            data: TerminalData::Text(Input(zeroize::Zeroizing::new("abc".into()))),
        }
        .encode();
        let mut apdu = vec![0x80, 0x14, 0x00, 0x00, body.len() as u8];
        apdu.extend_from_slice(&body);
        let (start, len) = terminal_response_text(&apdu).unwrap();
        assert_eq!(&apdu[start..start + len], b"abc");
        // The fixed form: everything after P2, with no length to write.
        assert_eq!(
            hidden(&apdu),
            Some(Hidden {
                start: 4,
                len: apdu.len() - 4,
                length_shown: false
            })
        );
        // Any other command: its data field, length shown.
        assert_eq!(
            hidden(&[0x80, 0xE2, 0x91, 0x00, 0x02, 0xAA, 0xBB]),
            Some(Hidden {
                start: 5,
                len: 2,
                length_shown: true
            })
        );
        assert_eq!(hidden(&[0x80, 0x12, 0x00, 0x00, 0x10]), None);
        // Not a TERMINAL RESPONSE, or no text: nothing.
        apdu[1] = 0xE2;
        assert_eq!(terminal_response_text(&apdu), None);
        assert_eq!(
            terminal_response_text(&[0x80, 0x14, 0x00, 0x00, 0x03, 0x83, 0x01, 0x00]),
            None
        );
    }
}

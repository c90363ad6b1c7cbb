//! The `-v` APDU log on stderr: control events and every command/response pair with the
//! SW's meaning and the card's processing time. Secrets are never printed: a STORE DATA
//! message is shown only when its top-level tag is one of the SGP.22 ES10 requests, which
//! carry no secrets; any other (proprietary, unknown) message is shown as its header and
//! length, and so is its response, including what GET RESPONSE fetches after it. The PIN
//! commands (VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK PIN: PIN and PUK values, ETSI TS
//! 102 221 §11.1.9-§11.1.13) are shown as header and length, and so are AUTHENTICATE and
//! its answer (CK, IK, Kc: 3GPP TS 31.102 §7.1.2).

use crate::state::volatile::CHANNELS;
use crate::vpcd::Card;
use apdu::iso7816::ins;
use apdu::sgp22::es10::tags;
use apdu::{Cla, StatusWord};
use std::time::Instant;

/// ES10 request tags whose messages may be printed in full (none carries a secret).
const PRINTABLE_TAGS: [u32; 15] = tags::ALL;

/// Wraps a card and logs what passes.
pub struct LoggedCard<C: Card> {
    inner: C,
    /// Per channel: the STORE DATA message in progress is being redacted.
    redacting: [bool; CHANNELS],
    /// Per channel: the answer still to be fetched belongs to a redacted command.
    redact_answer: [bool; CHANNELS],
}

impl<C: Card> LoggedCard<C> {
    pub fn new(inner: C) -> Self {
        LoggedCard {
            inner,
            redacting: [false; CHANNELS],
            redact_answer: [false; CHANNELS],
        }
    }

    fn forget(&mut self) {
        self.redacting = [false; CHANNELS];
        self.redact_answer = [false; CHANNELS];
    }

    /// Decides whether `apdu` and its answer may be printed, tracking multi-block messages.
    fn printable(&mut self, apdu: &[u8]) -> bool {
        let (Some(&cla), Some(&ins)) = (apdu.first(), apdu.get(1)) else {
            return true;
        };
        let Some(ch) = Cla(cla).channel().map(usize::from) else {
            return true;
        };
        if ins == ins::GET_RESPONSE {
            return !self.redact_answer[ch];
        }
        // A TERMINAL RESPONSE carries what the user typed, the hidden key-generation
        // parameter included (ETSI TS 102 223 §6.8): never printed.
        if ins == ins::TERMINAL_RESPONSE {
            self.redact_answer[ch] = false;
            return false;
        }
        if cla & 0x80 == 0 && is_pin_command(ins) {
            self.redact_answer[ch] = false;
            return false;
        }
        if cla & 0x80 == 0 && ins == ins::AUTHENTICATE {
            self.redact_answer[ch] = true;
            return false;
        }
        if ins != ins::STORE_DATA || cla & 0x80 == 0 {
            self.redact_answer[ch] = false;
            return true;
        }
        let p2 = apdu.get(3).copied().unwrap_or(0);
        if p2 == 0 {
            let message = apdu.get(5..).unwrap_or(&[]);
            self.redacting[ch] = !first_tag(message).is_some_and(|t| PRINTABLE_TAGS.contains(&t));
        }
        self.redact_answer[ch] = self.redacting[ch];
        !self.redacting[ch]
    }
}

/// The instructions whose data are PIN or PUK values.
fn is_pin_command(ins: u8) -> bool {
    matches!(
        ins,
        ins::VERIFY
            | ins::CHANGE_REFERENCE_DATA
            | ins::DISABLE_VERIFICATION
            | ins::ENABLE_VERIFICATION
            | ins::UNBLOCK_PIN
    )
}

/// The first BER tag of `b` as a number (up to 3 bytes).
fn first_tag(b: &[u8]) -> Option<u32> {
    let first = *b.first()?;
    let mut tag = u32::from(first);
    if first & 0x1F != 0x1F {
        return Some(tag);
    }
    for (i, &x) in b.iter().skip(1).take(2).enumerate() {
        tag = (tag << 8) | u32::from(x);
        if x & 0x80 == 0 {
            return Some(tag);
        }
        if i == 1 {
            return None;
        }
    }
    None
}

fn sw_text(resp: &[u8]) -> String {
    match resp {
        [.., a, b] => StatusWord::from_bytes(*a, *b).to_string(),
        _ => "no SW".into(),
    }
}

impl<C: Card> Card for LoggedCard<C> {
    fn power_on(&mut self) {
        eprintln!("card-sim: power on");
        self.forget();
        self.inner.power_on();
    }

    fn power_off(&mut self) {
        eprintln!("card-sim: power off");
        self.forget();
        self.inner.power_off();
    }

    fn reset(&mut self) {
        eprintln!("card-sim: reset");
        self.forget();
        self.inner.reset();
    }

    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let printable = self.printable(apdu);
        let start = Instant::now();
        let resp = self.inner.transmit(apdu);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if printable {
            eprintln!("> {}", hex::encode_upper(apdu));
            eprintln!(
                "< {}  ({}, {ms:.2} ms)",
                hex::encode_upper(&resp),
                sw_text(&resp)
            );
        } else {
            // Neither the bytes nor their count: the length of a TERMINAL RESPONSE is
            // the length of the parameter typed (issue 10, finding 4).
            let header = hex::encode_upper(apdu.get(..4).unwrap_or(apdu));
            eprintln!("> {header} <redacted>");
            let sw = resp.len().saturating_sub(2);
            eprintln!(
                "< <redacted> {}  ({}, {ms:.2} ms)",
                hex::encode_upper(&resp[sw..]),
                sw_text(&resp)
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(first_tag(&[0xBF, 0x3E, 0x03]), Some(0xBF3E));
        assert_eq!(first_tag(&[0x5A]), Some(0x5A));
        assert_eq!(first_tag(&[0xBF]), None);
        assert_eq!(first_tag(&[]), None);
    }

    struct Echo;
    impl Card for Echo {
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn atr(&self) -> Vec<u8> {
            vec![]
        }
        fn transmit(&mut self, _apdu: &[u8]) -> Vec<u8> {
            vec![0x61, 0x10]
        }
    }

    #[test]
    fn only_known_es10_messages_are_printable() {
        let mut l = LoggedCard::new(Echo);
        assert!(l.printable(&hex::decode("81E2910006BF3E035C015A").unwrap()));
        assert!(l.printable(&hex::decode("00A4040010A0000005591010FFFFFFFF8900000100").unwrap()));
        // A proprietary message in two blocks, then its GET RESPONSE: all redacted.
        assert!(!l.printable(&hex::decode("80E2110003BF7001").unwrap()));
        assert!(!l.printable(&hex::decode("80E2910101AA").unwrap()));
        assert!(!l.printable(&hex::decode("80C0000010").unwrap()));
        // The next ordinary command is printable again, and so is its GET RESPONSE.
        assert!(l.printable(&hex::decode("80E2910003BF2D00").unwrap()));
        assert!(l.printable(&hex::decode("80C0000010").unwrap()));
        // A TERMINAL RESPONSE (the typed parameter) is never printed.
        assert!(
            !l.printable(&hex::decode("801400000F8103012304820282818301008D0404313233").unwrap())
        );
        // PIN commands: never printed; AUTHENTICATE and what GET RESPONSE fetches after it.
        for pin in [
            "002000010831323334FFFFFFFF",
            "00240001",
            "00260001",
            "00280001",
            "002C0001",
        ] {
            assert!(!l.printable(&hex::decode(pin).unwrap()), "{pin}");
        }
        assert!(!l.printable(&hex::decode("0088008122").unwrap()));
        assert!(!l.printable(&hex::decode("00C0000035").unwrap()));
        assert!(l.printable(&hex::decode("00B0000009").unwrap()));
        assert!(l.printable(&hex::decode("00C0000009").unwrap()));
        // Garbage never panics.
        assert!(l.printable(&[]));
        assert!(l.printable(&[0xA0]));
        let _ = l.transmit(&[0x80, 0xE2]);
    }
}

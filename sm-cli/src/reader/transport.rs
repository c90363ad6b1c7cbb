//! Sending one command APDU and getting its whole answer (ISO/IEC 7816-4 §5.1.3, and the
//! T=0 conventions of ETSI TS 102 221 §7.3.1.1.4 that interop.md lists):
//!
//! - `61xx`: more data waits; fetch it with GET RESPONSE (`C0`, Le = xx) sent with the
//!   command's own CLA (its channel and class), and concatenate until a final SW.
//! - `6Cxx`: wrong Le; send the same command again with Le = xx.
//!
//! The logic sits behind the small [`CardLink`] trait (one raw APDU in, one raw answer
//! out), so it is tested here with a fake card; the PC/SC session implements it.

use crate::errors::CliError;
use crate::reader::trace::Secrecy;
use apdu::{Command, Response, StatusWord};
use zeroize::Zeroizing;

/// Anything that carries one raw APDU to a card and brings back the raw answer.
pub trait CardLink {
    /// Sends `apdu` exactly as given. `secrecy` tells the link what it must not trace.
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError>;
}

/// Whether [`exchange`] follows `61xx` and `6Cxx` or returns the first answer as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Follow `61xx` with GET RESPONSE and repeat on `6Cxx` (the default).
    Auto,
    /// Return the card's first answer untouched (`sm-cli apdu --raw`).
    Raw,
}

/// INS of GET RESPONSE.
pub const INS_GET_RESPONSE: u8 = 0xC0;
/// Most GET RESPONSE rounds we follow before calling the card broken.
const MAX_ROUNDS: usize = 512;
/// Largest total answer we accumulate.
const MAX_ANSWER: usize = 128 * 1024;

fn ne(n: u8) -> usize {
    if n == 0 {
        256
    } else {
        n as usize
    }
}

/// Sends `raw` and splits the answer.
fn send<L: CardLink>(link: &mut L, raw: &[u8], secrecy: Secrecy) -> Result<Response, CliError> {
    let answer = link.transmit_raw(raw, secrecy)?;
    Response::parse(&answer)
        .ok_or_else(|| CliError::malformed("answer", "shorter than a status word"))
}

/// Encodes a command, keeping secret bytes in a buffer that is wiped after use.
fn encode(cmd: &Command) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(cmd.to_bytes())
}

/// Sends `cmd` and returns the card's complete answer (see the module docs).
pub fn exchange<L: CardLink>(
    link: &mut L,
    cmd: &Command,
    secrecy: Secrecy,
    handling: Handling,
) -> Result<Response, CliError> {
    let mut resp = send(link, &encode(cmd), secrecy)?;
    if handling == Handling::Raw {
        return Ok(resp);
    }
    if let StatusWord::WrongLe(n) = resp.sw {
        let mut again = cmd.clone();
        again.le = Some(ne(n));
        resp = send(link, &encode(&again), secrecy)?;
    }
    follow_61xx(link, cmd, resp, secrecy)
}

/// Sends GET RESPONSE while the card answers `61xx`, concatenating the data.
fn follow_61xx<L: CardLink>(
    link: &mut L,
    cmd: &Command,
    first: Response,
    secrecy: Secrecy,
) -> Result<Response, CliError> {
    let mut data = Zeroizing::new(first.data);
    let mut sw = first.sw;
    let cla = cmd.cla.without_chaining();
    let mut rounds = 0;
    while let StatusWord::BytesAvailable(n) = sw {
        rounds += 1;
        if rounds > MAX_ROUNDS || data.len() > MAX_ANSWER {
            return Err(CliError::malformed(
                "GET RESPONSE",
                format!("the card kept answering 61xx ({} bytes so far)", data.len()),
            ));
        }
        let mut get = Command::new(cla.0, INS_GET_RESPONSE, 0, 0).with_le(ne(n));
        let mut r = send(link, &get.to_bytes(), secrecy)?;
        if let StatusWord::WrongLe(m) = r.sw {
            get.le = Some(ne(m));
            r = send(link, &get.to_bytes(), secrecy)?;
        }
        data.extend_from_slice(&r.data);
        sw = r.sw;
    }
    Ok(Response {
        data: std::mem::take(&mut *data),
        sw,
    })
}

#[cfg(test)]
pub mod fake {
    //! A scripted card for tests: it checks each APDU against the expected hex and
    //! answers the scripted hex.
    use super::*;

    #[derive(Debug, Default)]
    pub struct ScriptedCard {
        pub script: std::collections::VecDeque<(String, String)>,
        pub seen: Vec<(String, Secrecy)>,
    }

    impl ScriptedCard {
        pub fn new(pairs: &[(&str, &str)]) -> Self {
            ScriptedCard {
                script: pairs
                    .iter()
                    .map(|(c, r)| (c.to_uppercase(), r.to_uppercase()))
                    .collect(),
                seen: Vec::new(),
            }
        }

        pub fn done(&self) -> bool {
            self.script.is_empty()
        }
    }

    impl CardLink for ScriptedCard {
        fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
            let got = hex::encode_upper(apdu);
            self.seen.push((got.clone(), secrecy));
            let (want, answer) = self
                .script
                .pop_front()
                .unwrap_or_else(|| panic!("unexpected APDU {got}"));
            assert_eq!(got, want, "APDU sent");
            Ok(hex::decode(answer).expect("script hex"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::ScriptedCard;
    use super::*;

    fn cmd(h: &str) -> Command {
        Command::parse(&hex::decode(h).unwrap()).unwrap()
    }

    #[test]
    fn follows_61xx_with_the_commands_cla() {
        let mut card = ScriptedCard::new(&[
            ("81E2910003BF2200", "BF22036115"),
            ("81C0000015", "AABBCC6102"),
            ("81C0000002", "DDEE9000"),
        ]);
        let r = exchange(
            &mut card,
            &cmd("81E2910003BF2200"),
            Secrecy::Public,
            Handling::Auto,
        )
        .unwrap();
        assert_eq!(hex::encode_upper(&r.data), "BF2203AABBCCDDEE");
        assert_eq!(r.sw, StatusWord::Success);
        assert!(card.done());
    }

    #[test]
    fn get_response_uses_gsm_class_and_le_256_for_6100() {
        let mut card = ScriptedCard::new(&[("A0A40000023F00", "6100"), ("A0C0000000", "019000")]);
        let c = Command::new(0xA0, 0xA4, 0, 0).with_data(vec![0x3F, 0x00]);
        let r = exchange(&mut card, &c, Secrecy::Public, Handling::Auto).unwrap();
        assert_eq!(r.data, vec![0x01]);
        assert!(card.done());
    }

    #[test]
    fn repeats_on_6cxx_with_the_right_le() {
        let mut card = ScriptedCard::new(&[
            ("00B0000000", "6C0A"),
            ("00B000000A", "000102030405060708099000"),
        ]);
        let r = exchange(
            &mut card,
            &cmd("00B0000000"),
            Secrecy::Public,
            Handling::Auto,
        )
        .unwrap();
        assert_eq!(r.data.len(), 10);
        assert!(card.done());
    }

    #[test]
    fn raw_mode_returns_first_answer() {
        let mut card = ScriptedCard::new(&[("00B0000000", "6C0A")]);
        let r = exchange(
            &mut card,
            &cmd("00B0000000"),
            Secrecy::Public,
            Handling::Raw,
        )
        .unwrap();
        assert_eq!(r.sw, StatusWord::WrongLe(0x0A));
        assert!(card.done());
    }

    #[test]
    fn secrecy_reaches_every_round() {
        let mut card = ScriptedCard::new(&[("80E2910001AA", "6101"), ("80C0000001", "BB9000")]);
        exchange(
            &mut card,
            &cmd("80E2910001AA"),
            Secrecy::Both,
            Handling::Auto,
        )
        .unwrap();
        assert!(card.seen.iter().all(|(_, s)| *s == Secrecy::Both));
    }

    #[test]
    fn endless_61xx_is_an_error_not_a_hang() {
        struct Endless;
        impl CardLink for Endless {
            fn transmit_raw(&mut self, _: &[u8], _: Secrecy) -> Result<Vec<u8>, CliError> {
                Ok(vec![0x00, 0x61, 0x01])
            }
        }
        let e = exchange(
            &mut Endless,
            &cmd("00C0000001"),
            Secrecy::Public,
            Handling::Auto,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 11);
    }

    #[test]
    fn answer_without_sw_is_malformed() {
        let mut card = ScriptedCard::new(&[("00A40000", "90")]);
        let e = exchange(&mut card, &cmd("00A40000"), Secrecy::Public, Handling::Auto).unwrap_err();
        assert_eq!(e.kind(), "malformed_answer");
    }
}

//! Sending one command APDU and getting its whole answer (ISO/IEC 7816-4 §5.1.3, and the
//! T=0 conventions of ETSI TS 102 221 §7.3.1.1.4 that interop.md lists):
//!
//! - `61xx`: more data waits; fetch it with GET RESPONSE (`C0`, Le = xx) sent with the
//!   command's own CLA (its channel and class), and concatenate until a final SW.
//! - `6Cxx`: wrong Le; send the same command again with Le = xx.
//!
//! This is the one implementation of these rules: commands sent as [`Command`]s use
//! [`exchange`], script lines and raw hex (bytes as written) use [`exchange_bytes`].
//! The logic sits behind the small [`CardLink`] trait (one raw APDU in, one raw answer
//! out), so it is tested here with a fake card; the PC/SC session implements it.

use crate::errors::CliError;
use crate::reader::trace::Secrecy;
use apdu::iso7816::ins;
use apdu::{Cla, Command, Response, StatusWord};
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

/// Most GET RESPONSE rounds we follow before calling the card broken.
pub const MAX_ROUNDS: usize = 512;
/// Largest total answer we accumulate (a script variable holds at most 64 KiB).
pub const MAX_ANSWER: usize = 128 * 1024;

/// Ne from a short Le byte (`00` means 256, ISO/IEC 7816-4 §5.1).
fn ne(n: u8) -> usize {
    if n == 0 {
        256
    } else {
        usize::from(n)
    }
}

/// Sends `raw` exactly as given and splits the answer into data and SW.
pub fn send<L: CardLink + ?Sized>(
    link: &mut L,
    raw: &[u8],
    secrecy: Secrecy,
) -> Result<Response, CliError> {
    let answer = link.transmit_raw(raw, secrecy)?;
    Response::parse(&answer).ok_or_else(|| {
        CliError::malformed(
            "answer",
            format!("{} byte(s), shorter than a status word", answer.len()),
        )
    })
}

/// Encodes a command, keeping secret bytes in a buffer that is wiped after use. A
/// command with no encoding (ISO/IEC 7816-4 §5.1 lengths) is refused before sending.
fn encode(cmd: &Command) -> Result<Zeroizing<Vec<u8>>, CliError> {
    cmd.to_bytes()
        .map(Zeroizing::new)
        .map_err(|e| CliError::Usage(format!("the command cannot be sent: {e}")))
}

/// Sends `cmd` and returns the card's complete answer (see the module docs).
pub fn exchange<L: CardLink + ?Sized>(
    link: &mut L,
    cmd: &Command,
    secrecy: Secrecy,
    handling: Handling,
) -> Result<Response, CliError> {
    complete(link, &encode(cmd)?, Some(cmd), secrecy, handling)
}

/// Sends `bytes` as written and, with [`Handling::Auto`], follows `61xx`/`6Cxx` as
/// [`exchange`] does; bytes that do not parse as a command are not resent on `6Cxx`.
pub fn exchange_bytes<L: CardLink + ?Sized>(
    link: &mut L,
    bytes: &[u8],
    secrecy: Secrecy,
    handling: Handling,
) -> Result<Response, CliError> {
    let cmd = Command::parse(bytes).ok();
    complete(link, bytes, cmd.as_ref(), secrecy, handling)
}

/// Sends `bytes` (which encode `cmd`, when it is known) and follows up (module docs).
fn complete<L: CardLink + ?Sized>(
    link: &mut L,
    bytes: &[u8],
    cmd: Option<&Command>,
    secrecy: Secrecy,
    handling: Handling,
) -> Result<Response, CliError> {
    let mut resp = send(link, bytes, secrecy)?;
    if handling == Handling::Raw {
        return Ok(resp);
    }
    if let (StatusWord::WrongLe(n), Some(cmd)) = (resp.sw, cmd) {
        let mut again = cmd.clone();
        again.le = Some(ne(n));
        resp = send(link, &encode(&again)?, secrecy)?;
    }
    // GET RESPONSE goes in the command's own class and channel, without chaining.
    let cla = Cla(bytes.first().copied().unwrap_or(0)).without_chaining();
    follow_61xx(link, cla, resp, secrecy)
}

/// Sends GET RESPONSE while the card answers `61xx`, concatenating the data.
fn follow_61xx<L: CardLink + ?Sized>(
    link: &mut L,
    cla: Cla,
    first: Response,
    secrecy: Secrecy,
) -> Result<Response, CliError> {
    let mut data = Zeroizing::new(first.data);
    let mut sw = first.sw;
    let mut rounds = 0;
    while let StatusWord::BytesAvailable(n) = sw {
        rounds += 1;
        if rounds > MAX_ROUNDS || data.len() > MAX_ANSWER {
            return Err(CliError::malformed(
                "GET RESPONSE",
                format!("the card kept answering 61xx ({} bytes so far)", data.len()),
            ));
        }
        let mut get = Command::new(cla.0, ins::GET_RESPONSE, 0, 0).with_le(ne(n));
        let mut r = send(link, &encode(&get)?, secrecy)?;
        if let StatusWord::WrongLe(m) = r.sw {
            get.le = Some(ne(m));
            r = send(link, &encode(&get)?, secrecy)?;
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

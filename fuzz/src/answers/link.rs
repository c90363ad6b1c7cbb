//! The card of the `sm_answers` target: a `sm_cli::reader::CardLink` that answers every
//! command sm-cli sends with the next answer of the fuzz input, and checks each command
//! it receives against what sm-cli must send:
//!
//! - a text marked secret (the key-generation parameters) is only ever sent in a command
//!   whose data the trace and the recording hide (`Secrecy::hides_command`);
//! - after `6Cxx`, the next command is the same command again with Le = xx, and a GET
//!   RESPONSE (`C0`) is only sent right after `61xx` (or re-sent after `6Cxx`), with the
//!   class of the command it continues and Le = xx (ISO/IEC 7816-4 §5.1.3; ETSI TS 102
//!   221 §7.3.1.1.4); at most `MAX_ROUNDS` of them follow one another;
//! - at most [`sm_cli::terminal::MAX_QUESTIONS`] FETCHes follow one STORE DATA, and every
//!   TERMINAL RESPONSE decodes and echoes the command details of the command just
//!   fetched (TS 102 223 §6.8).
//!
//! A STORE DATA carrying DcIdentity (`BF6C`) can be answered by the link itself
//! ([`ReplayLink::with_identity`]): it signs the SM's fresh challenge with the card's
//! identity key, as the card does, so the SM flows get past their sync; the input then
//! holds no answer for it.

use apdu::cat::{self, TerminalResponse};
use apdu::crypto::{IdentityKey, Purpose, SignedMessage};
use apdu::devchange::{DcRequest, DcResponse, SYNC_IMEI, SYNC_OP_ID};
use apdu::{Cla, Command, Eid, Response, StatusWord};
use sm_cli::errors::CliError;
use sm_cli::reader::transport::MAX_ROUNDS;
use sm_cli::reader::{CardLink, Secrecy};

use apdu::iso7816::ins::{GET_RESPONSE as INS_GET_RESPONSE, STORE_DATA as INS_STORE_DATA};

/// Splits a fuzz input's answers: `hi lo byte{hi*256+lo}` each.
pub fn split(mut input: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = input.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (a, rest) = rest.split_at(len.min(rest.len()));
        input = rest;
        Some(a)
    })
}

/// Writes answers in the input format (an answer over 65535 bytes is cut).
pub fn encode_answers(answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in answers {
        let a = &a[..a.len().min(0xFFFF)];
        out.extend_from_slice(&(a.len() as u16).to_be_bytes());
        out.extend_from_slice(a);
    }
    out
}

/// The card that answers BF6C itself.
pub struct Identity<'k> {
    pub key: &'k IdentityKey,
    pub eid: Eid,
}

/// True when `apdu` is a STORE DATA whose (single-block) message is DcIdentity; gives
/// its challenge.
pub fn identity_challenge(apdu: &[u8]) -> Option<Vec<u8>> {
    let cmd = Command::parse(apdu).ok()?;
    if cmd.ins != INS_STORE_DATA {
        return None;
    }
    match DcRequest::decode(&cmd.data) {
        Ok(DcRequest::Identity { challenge }) => Some(challenge),
        _ => None,
    }
}

/// The card's BF6C answer to `challenge`: its identity proof (docs/device-change-
/// protocol.md "Signed messages"), as one response APDU.
pub fn identity_answer(id: &Identity<'_>, challenge: &[u8]) -> Vec<u8> {
    let msg = SignedMessage::new(
        Purpose::IdentityProof,
        challenge,
        SYNC_OP_ID,
        id.eid,
        SYNC_IMEI,
    )
    .expect("a 32-byte challenge makes a message");
    let answer = DcResponse::Identity {
        eid: id.eid,
        identity_key: id.key.public_key().to_der(),
        signature: id.key.prove(&msg).expect("signing the identity proof"),
    };
    Response::ok(answer.encode()).to_bytes()
}

/// What the link remembers of the exchange before.
#[derive(Default)]
struct Last {
    command: Vec<u8>,
    sw: Option<StatusWord>,
    /// The command was the repeat after `6Cxx`.
    repeat: bool,
}

/// The fuzzed card.
pub struct ReplayLink<'a, 'k> {
    answers: Box<dyn Iterator<Item = &'a [u8]> + 'a>,
    identity: Option<Identity<'k>>,
    secrets: Vec<Vec<u8>>,
    last: Last,
    /// GET RESPONSEs in a row.
    rounds: usize,
    /// FETCHes since the last STORE DATA.
    fetches: usize,
    /// The data of the last FETCH's answer (with its GET RESPONSEs).
    fetched: Vec<u8>,
    collecting: bool,
    /// Commands received.
    pub sent: usize,
}

impl<'a, 'k> ReplayLink<'a, 'k> {
    /// A card answering with the answers of `input` (see [`split`]), for which the
    /// texts `secrets` must never appear in a command that is not marked secret.
    pub fn new(input: &'a [u8], secrets: &[&str]) -> ReplayLink<'a, 'k> {
        ReplayLink {
            answers: Box::new(split(input)),
            identity: None,
            secrets: secrets.iter().map(|s| s.as_bytes().to_vec()).collect(),
            last: Last::default(),
            rounds: 0,
            fetches: 0,
            fetched: Vec::new(),
            collecting: false,
            sent: 0,
        }
    }

    /// Answers DcIdentity itself (see the module docs).
    pub fn with_identity(mut self, id: Identity<'k>) -> ReplayLink<'a, 'k> {
        self.identity = Some(id);
        self
    }

    /// The checks on a command before it is answered (module docs).
    fn check(&mut self, apdu: &[u8], secrecy: Secrecy) {
        for s in &self.secrets {
            if apdu.windows(s.len()).any(|w| w == s.as_slice()) {
                assert!(
                    secrecy.hides_command(),
                    "a secret was sent in a command not marked secret ({secrecy:?}): {}",
                    hex::encode_upper(&apdu[..apdu.len().min(5)])
                );
            }
        }
        let ins = apdu.get(1).copied();
        let repeat = match self.last.sw {
            Some(StatusWord::WrongLe(n)) if !self.last.repeat => {
                let mut again =
                    Command::parse(&self.last.command).expect("sm-cli sends commands that parse");
                again.le = Some(ne(n));
                assert_eq!(
                    hex::encode_upper(apdu),
                    hex::encode_upper(again.to_bytes().expect("a short command")),
                    "6Cxx is answered by the same command with Le = xx"
                );
                true
            }
            _ => false,
        };
        if ins == Some(INS_GET_RESPONSE) && !repeat {
            let Some(StatusWord::BytesAvailable(n)) = self.last.sw else {
                panic!(
                    "GET RESPONSE without 61xx before it (after {:?})",
                    self.last.sw
                );
            };
            let cla = Cla(self.last.command[0]).without_chaining();
            let want = Command::new(cla.0, INS_GET_RESPONSE, 0, 0).with_le(ne(n));
            assert_eq!(
                hex::encode_upper(apdu),
                hex::encode_upper(want.to_bytes().expect("a short command")),
                "GET RESPONSE has the command's class and Le = xx"
            );
            self.rounds += 1;
            assert!(
                self.rounds <= MAX_ROUNDS,
                "more than {MAX_ROUNDS} GET RESPONSEs"
            );
        } else if !repeat {
            self.rounds = 0;
        }
        self.terminal(apdu, ins, repeat);
        self.last.repeat = repeat;
        self.last.command = apdu.to_vec();
    }

    /// The CAT checks (module docs).
    fn terminal(&mut self, apdu: &[u8], ins: Option<u8>, repeat: bool) {
        if apdu.first() != Some(&sm_cli::terminal::CAT_CLA) && ins != Some(INS_STORE_DATA) {
            return;
        }
        match ins {
            Some(INS_STORE_DATA) => self.fetches = 0,
            Some(cat::INS_FETCH) if !repeat => {
                self.fetches += 1;
                assert!(
                    self.fetches <= sm_cli::terminal::MAX_QUESTIONS,
                    "more FETCHes than the terminal's question limit"
                );
                self.fetched.clear();
                self.collecting = true;
            }
            Some(cat::INS_TERMINAL_RESPONSE) => {
                let cmd = Command::parse(apdu).expect("a TERMINAL RESPONSE parses");
                let tr = TerminalResponse::decode(&cmd.data);
                let tr = tr.expect("the terminal's TERMINAL RESPONSE decodes");
                if let Ok(details) = cat::command_details(&self.fetched) {
                    assert_eq!(tr.details, details, "TERMINAL RESPONSE echoes the details");
                }
            }
            _ => {}
        }
    }

    /// Keeps the data of a FETCH answer and of its GET RESPONSEs.
    fn collect(&mut self, answer: &[u8]) {
        if !self.collecting {
            return;
        }
        if let Some(r) = Response::parse(answer) {
            // sm-cli drops the data of an answer it repeats the command for (6Cxx).
            if !matches!(r.sw, StatusWord::WrongLe(_)) {
                self.fetched.extend_from_slice(&r.data);
            }
            self.collecting =
                matches!(r.sw, StatusWord::BytesAvailable(_) | StatusWord::WrongLe(_));
        } else {
            self.collecting = false;
        }
    }
}

fn ne(n: u8) -> usize {
    if n == 0 {
        256
    } else {
        usize::from(n)
    }
}

impl CardLink for ReplayLink<'_, '_> {
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
        self.sent += 1;
        self.check(apdu, secrecy);
        let own = self.identity.as_ref().and_then(|id| {
            identity_challenge(apdu).map(|challenge| identity_answer(id, &challenge))
        });
        let answer = match own {
            Some(a) => a,
            None => self
                .answers
                .next()
                .ok_or_else(|| CliError::NoCard("the fuzz input has no more answers".into()))?
                .to_vec(),
        };
        self.last.sw = Response::parse(&answer).map(|r| r.sw);
        self.collect(&answer);
        Ok(answer)
    }
}

//! A small deterministic card for the script tests: logical channels, SELECT, a
//! counter, a long answer served through `61xx`, a `6Cxx` file, STORE DATA, resets and
//! power. A fresh `FakeCard` answers the same sequence the same way, so a recorded
//! session replays against a new one.

use crate::errors::CliError;
use crate::reader::{CardLink, Secrecy};
use crate::script::engine::ScriptCard;
use apdu::{Cla, Command};
use apdu_script::{ReaderRef, ResetKind};

/// The EID the fake card reports: card-sim's for --seed 1 --slot 0 (serial 1000).
pub fn eid() -> apdu::Eid {
    apdu::Eid::test_eid(1000)
}
/// The AID that SELECT finds.
pub const AID: [u8; 3] = [0xA0, 0x00, 0x01];

#[derive(Debug)]
pub struct FakeCard {
    pub channels: [bool; 4],
    pub powered: bool,
    pub counter: u8,
    pending: Vec<u8>,
    pub resets: Vec<ResetKind>,
    pub reader: String,
    /// Every APDU received, in hex, with its secrecy.
    pub log: Vec<(String, Secrecy)>,
}

impl Default for FakeCard {
    fn default() -> Self {
        FakeCard {
            channels: [true, false, false, false],
            powered: true,
            counter: 0,
            pending: Vec::new(),
            resets: Vec::new(),
            reader: "Fake Reader 0".into(),
            log: Vec::new(),
        }
    }
}

fn ok(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&[0x90, 0x00]);
    data
}

fn sw(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

/// 300 bytes: 00 01 02 ... (mod 256).
pub fn long_answer() -> Vec<u8> {
    (0..300u32).map(|i| i as u8).collect()
}

impl FakeCard {
    fn serve_pending(&mut self, le: usize) -> Vec<u8> {
        if self.pending.is_empty() {
            return sw(0x6985);
        }
        let n = le.min(self.pending.len());
        let mut out: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => out.extend_from_slice(&[0x90, 0x00]),
            left => out.extend_from_slice(&[0x61, left.min(255) as u8]),
        }
        out
    }

    fn answer(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Ok(cmd) = Command::parse(apdu) else {
            return sw(0x6700);
        };
        let Some(ch) = Cla(apdu[0]).channel() else {
            return sw(0x6E00);
        };
        if !self.channels.get(usize::from(ch)).copied().unwrap_or(false) {
            return sw(0x6881);
        }
        let le = cmd.le.unwrap_or(0);
        match (cmd.ins, cmd.p1, cmd.p2) {
            (0x70, 0x00, 0x00) => match (1..4).find(|&i| !self.channels[i]) {
                Some(i) => {
                    self.channels[i] = true;
                    ok(vec![i as u8])
                }
                None => sw(0x6A81),
            },
            (0x70, 0x80, n @ 1..=3) => {
                self.channels[usize::from(n)] = false;
                sw(0x9000)
            }
            (0xA4, 0x04, 0x00) if cmd.data == AID || cmd.data == apdu::sgp22::es10::ISDR_AID => {
                ok(vec![0x6F, 0x05, 0x84, 0x03, 0xA0, 0x00, 0x01])
            }
            (0xA4, _, _) => sw(0x6A82),
            (0xCA, 0x00, 0x01) => {
                self.counter = self.counter.wrapping_add(1);
                ok(vec![self.counter])
            }
            (0xCA, 0x00, 0x02) => {
                self.pending = long_answer();
                sw(0x6100)
            }
            (0xC0, 0x00, 0x00) => self.serve_pending(le),
            (0xB0, _, _) if le != 10 => sw(0x6C0A),
            (0xB0, _, _) => ok((0..10).collect()),
            (0xE2, _, _) if cmd.data.starts_with(&[0xBF, 0x3E]) => {
                let mut r = vec![0xBF, 0x3E, 0x12, 0x5A, 0x10];
                r.extend_from_slice(&eid().0);
                ok(r)
            }
            // Echoes the data length, and a digest that depends on the data.
            (0xE2, _, _) => {
                let sum = cmd.data.iter().fold(0u8, |a, b| a.wrapping_add(*b));
                ok(vec![cmd.data.len() as u8, sum])
            }
            _ => sw(0x6D00),
        }
    }
}

impl CardLink for FakeCard {
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
        self.log.push((hex::encode_upper(apdu), secrecy));
        if !self.powered {
            return Err(CliError::no_card(&self.reader));
        }
        Ok(self.answer(apdu))
    }
}

impl ScriptCard for FakeCard {
    fn reset(&mut self, kind: ResetKind) -> Result<(), CliError> {
        if !self.powered {
            return Err(CliError::no_card(&self.reader));
        }
        self.resets.push(kind);
        self.channels = [true, false, false, false];
        self.pending.clear();
        Ok(())
    }

    fn power_off(&mut self) -> Result<(), CliError> {
        self.powered = false;
        self.channels = [true, false, false, false];
        Ok(())
    }

    fn power_on(&mut self) -> Result<(), CliError> {
        self.powered = true;
        Ok(())
    }

    fn use_reader(&mut self, r: &ReaderRef) -> Result<String, CliError> {
        match r {
            ReaderRef::Index(i) if *i < 2 => {
                self.reader = format!("Fake Reader {i}");
                Ok(self.reader.clone())
            }
            _ => Err(CliError::ReaderNotFound {
                selector: r.to_string(),
                readers: vec!["Fake Reader 0".into(), "Fake Reader 1".into()],
            }),
        }
    }
}

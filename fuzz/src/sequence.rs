//! The `card_sequence` input format: one fuzz input is a sequence of steps.
//!
//! ```text
//! input := step*
//! step  := 0xFF                      power off (the next APDU powers the card on, as
//!                                    pcscd does when a client connects)
//!        | 0xFE                      warm reset (vpcd control code 02)
//!        | 0xFD                      power on (vpcd control code 01)
//!        | 0xFC hi lo byte{hi*256+lo} one APDU of up to 65535 bytes (extended APDUs)
//!        | n byte{n}                 one APDU of n bytes, n = 0x00..=0xFB
//! ```
//!
//! A length running past the end of the input takes what is left. [`encode`] writes
//! the shortest form, so seeds built from real sessions stay small.

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Apdu(Vec<u8>),
    PowerOff,
    PowerOn,
    Reset,
}

const POWER_OFF: u8 = 0xFF;
const RESET: u8 = 0xFE;
const POWER_ON: u8 = 0xFD;
const LONG: u8 = 0xFC;

/// Splits a fuzz input into steps.
pub fn decode(mut input: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    while let Some((&b, rest)) = input.split_first() {
        input = rest;
        let len = match b {
            POWER_OFF => {
                steps.push(Step::PowerOff);
                continue;
            }
            RESET => {
                steps.push(Step::Reset);
                continue;
            }
            POWER_ON => {
                steps.push(Step::PowerOn);
                continue;
            }
            LONG => match input {
                [hi, lo, rest @ ..] => {
                    input = rest;
                    usize::from(u16::from_be_bytes([*hi, *lo]))
                }
                _ => {
                    input = &[];
                    0
                }
            },
            n => usize::from(n),
        };
        let (apdu, rest) = input.split_at(len.min(input.len()));
        steps.push(Step::Apdu(apdu.to_vec()));
        input = rest;
    }
    steps
}

/// Writes steps in the input format (APDUs longer than 65535 bytes are cut).
pub fn encode(steps: &[Step]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            Step::PowerOff => out.push(POWER_OFF),
            Step::PowerOn => out.push(POWER_ON),
            Step::Reset => out.push(RESET),
            Step::Apdu(a) if a.len() < usize::from(LONG) => {
                out.push(a.len() as u8);
                out.extend_from_slice(a);
            }
            Step::Apdu(a) => {
                let a = &a[..a.len().min(0xFFFF)];
                out.push(LONG);
                out.extend_from_slice(&(a.len() as u16).to_be_bytes());
                out.extend_from_slice(a);
            }
        }
    }
    out
}

//! Parse before execute: a whole command APDU becomes a typed [`CardCommand`] or the SW
//! that rejects it (class `6E00`, instruction `6D00`, parameters `6A86`, lengths `6700`),
//! before any state is looked at but the one fact of which file system the card serves
//! ([`Served`]). INS codes: ISO/IEC 7816-4 §11 (SELECT A4, READ BINARY B0, READ RECORD
//! B2), ETSI TS 102 221 §10.1.2 (STATUS F2, TERMINAL CAPABILITY AA), GlobalPlatform 2.3
//! §11.11 (STORE DATA E2). While an enabled profile's package is served as a SIM
//! (`card/sim`), also TS 102 221 §11.1.3-§11.1.13 (UPDATE BINARY D6, UPDATE RECORD DC,
//! READ RECORD's next / previous / current modes, VERIFY 20, CHANGE PIN 24, DISABLE PIN
//! 26, ENABLE PIN 28, UNBLOCK PIN 2C) and TS 31.102 §7.1.2 (AUTHENTICATE 88); without a
//! package those answer `6D00` and READ RECORD only its absolute mode, as before.
//!
//! Long because it is the one decoder of every instruction the card takes, so that CLA,
//! INS, P1 and P2 are checked together in one place; its tests are at the bottom.

use crate::state::Secret;
use apdu::aka::{AkaError, AuthenticateCommand};
use apdu::iso7816::ins;
use apdu::{Command, StatusWord};

/// Which file system the card serves: the commands it decodes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The minimal file system of `card/files.rs` (no enabled profile with a package).
    Minimal,
    /// The enabled profile's package (`card/sim`).
    Profile,
}

/// The record a READ / UPDATE RECORD names (ETSI TS 102 221 §11.1.5, P2 b3-b1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordMode {
    /// `100` with P1 = record number, or P1 = 00: the current record.
    Absolute,
    /// `010`: the next record (P1 = 00).
    Next,
    /// `011`: the previous record (P1 = 00).
    Previous,
}

/// What SELECT names (P1, ISO/IEC 7816-4 Table 39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectTarget {
    /// `P1=00` without data, or `3F00`.
    Mf,
    /// `P1=00`/`02`: a file identifier.
    Fid(u16),
    /// `P1=01`: a DF under the current DF.
    ChildDf(u16),
    /// `P1=03`: the parent DF.
    Parent,
    /// `P1=04`: a DF name (AID), possibly partial; `next` for P2 occurrence "next".
    Aid { aid: Vec<u8>, next: bool },
    /// `P1=08` (from the MF, a leading `3F00` removed) or `09` (from the current DF):
    /// file identifiers.
    Path { from_mf: bool, fids: Vec<u16> },
}

/// What SELECT answers (P2 b4-b3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectReply {
    Fci,
    Fcp,
    Nothing,
}

/// What STATUS answers (P2, ETSI TS 102 221 §11.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusReply {
    Fcp,
    DfName,
    Nothing,
}

/// A decoded command for the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardCommand {
    Select {
        target: SelectTarget,
        reply: SelectReply,
    },
    /// `sfi`: short file identifier in P1 (b8 set), else the current EF.
    ReadBinary {
        sfi: Option<u8>,
        offset: usize,
        le: usize,
    },
    /// Without a package, mode "absolute" (`P2 b3-b1 = 100`) with P1 > 0 only.
    ReadRecord {
        sfi: Option<u8>,
        record: u8,
        mode: RecordMode,
        le: usize,
    },
    UpdateBinary {
        sfi: Option<u8>,
        offset: usize,
        data: Vec<u8>,
    },
    UpdateRecord {
        sfi: Option<u8>,
        record: u8,
        mode: RecordMode,
        data: Vec<u8>,
    },
    /// VERIFY PIN (TS 102 221 §11.1.9); no `pin`: the retry counter is asked for.
    Verify {
        key: u8,
        pin: Option<Secret>,
    },
    /// CHANGE PIN (§11.1.10).
    ChangePin {
        key: u8,
        old: Secret,
        new: Secret,
    },
    /// DISABLE PIN (§11.1.11), without a replacement PIN (P1 = 00).
    DisablePin {
        key: u8,
        pin: Secret,
    },
    /// ENABLE PIN (§11.1.12).
    EnablePin {
        key: u8,
        pin: Secret,
    },
    /// UNBLOCK PIN (§11.1.13); no `codes`: the PUK's retry counter is asked for.
    UnblockPin {
        key: u8,
        codes: Option<(Secret, Secret)>,
    },
    /// AUTHENTICATE in the USIM (TS 31.102 §7.1.2).
    Authenticate(AuthenticateCommand),
    StoreData {
        p1: u8,
        block: u8,
        data: Vec<u8>,
    },
    TerminalCapability,
    /// FETCH the pending proactive command.
    Fetch,
    /// TERMINAL RESPONSE to the last proactive command.
    TerminalResponse {
        data: Vec<u8>,
    },
    Status {
        reply: StatusReply,
    },
}

/// Ne, with "absent" read as T=0's `P3 = 00`: up to 256.
fn ne(cmd: &Command) -> usize {
    cmd.le.unwrap_or(256)
}

fn no_data(cmd: &Command) -> Result<(), StatusWord> {
    if cmd.data.is_empty() {
        Ok(())
    } else {
        Err(StatusWord::WrongLength)
    }
}

/// Decodes `cmd` (chains already joined by the transport) for the file system `served`.
pub fn decode(cmd: &Command, served: Served) -> Result<CardCommand, StatusWord> {
    if served == Served::Profile {
        if let Some(c) = decode_sim(cmd)? {
            return Ok(c);
        }
    }
    let proprietary = cmd.cla.is_proprietary();
    let interindustry_only = matches!(cmd.ins, ins::SELECT | ins::READ_BINARY | ins::READ_RECORD);
    let proprietary_only = matches!(
        cmd.ins,
        ins::STATUS
            | ins::TERMINAL_CAPABILITY
            | ins::STORE_DATA
            | ins::FETCH
            | ins::TERMINAL_RESPONSE
    );
    if !interindustry_only && !proprietary_only {
        return Err(StatusWord::InsNotSupported);
    }
    if interindustry_only == proprietary {
        return Err(StatusWord::ClaNotSupported);
    }
    match cmd.ins {
        ins::SELECT => decode_select(cmd),
        ins::READ_BINARY => {
            no_data(cmd)?;
            let (sfi, offset) = binary_address(cmd)?;
            Ok(CardCommand::ReadBinary {
                sfi,
                offset,
                le: ne(cmd),
            })
        }
        ins::READ_RECORD => {
            no_data(cmd)?;
            if cmd.p2 & 0x07 != 0x04 || cmd.p2 >> 3 == 0x1F || cmd.p1 == 0 || cmd.p1 == 0xFF {
                return Err(StatusWord::IncorrectP1P2);
            }
            let sfi = match cmd.p2 >> 3 {
                0 => None,
                s => Some(s),
            };
            Ok(CardCommand::ReadRecord {
                sfi,
                record: cmd.p1,
                mode: RecordMode::Absolute,
                le: ne(cmd),
            })
        }
        ins::STORE_DATA => Ok(CardCommand::StoreData {
            p1: cmd.p1,
            block: cmd.p2,
            data: cmd.data.clone(),
        }),
        ins::FETCH => {
            no_data(cmd)?;
            if cmd.p1 != 0 || cmd.p2 != 0 {
                return Err(StatusWord::IncorrectP1P2);
            }
            Ok(CardCommand::Fetch)
        }
        ins::TERMINAL_RESPONSE => {
            if cmd.p1 != 0 || cmd.p2 != 0 {
                return Err(StatusWord::IncorrectP1P2);
            }
            if cmd.data.is_empty() {
                return Err(StatusWord::WrongLength);
            }
            Ok(CardCommand::TerminalResponse {
                data: cmd.data.clone(),
            })
        }
        ins::TERMINAL_CAPABILITY => {
            if cmd.p1 != 0 || cmd.p2 != 0 {
                return Err(StatusWord::IncorrectP1P2);
            }
            if cmd.data.is_empty() {
                return Err(StatusWord::WrongLength);
            }
            Ok(CardCommand::TerminalCapability)
        }
        ins::STATUS => {
            no_data(cmd)?;
            if cmd.p1 > 2 {
                return Err(StatusWord::IncorrectP1P2);
            }
            let reply = match cmd.p2 {
                0x00 => StatusReply::Fcp,
                0x01 => StatusReply::DfName,
                0x0C => StatusReply::Nothing,
                _ => return Err(StatusWord::IncorrectP1P2),
            };
            Ok(CardCommand::Status { reply })
        }
        _ => Err(StatusWord::InsNotSupported),
    }
}

/// P1/P2 of READ / UPDATE BINARY (TS 102 221 §11.1.3): `P1 b8 = 1`: SFI in b5-b1 and
/// an offset of P2; else a 15-bit offset.
fn binary_address(cmd: &Command) -> Result<(Option<u8>, usize), StatusWord> {
    if cmd.p1 & 0x80 != 0 {
        if cmd.p1 & 0x60 != 0 {
            return Err(StatusWord::IncorrectP1P2);
        }
        Ok((Some(cmd.p1 & 0x1F), usize::from(cmd.p2)))
    } else {
        Ok((None, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]))))
    }
}

/// P1/P2 of READ / UPDATE RECORD (TS 102 221 §11.1.5): record, SFI (P2 b8-b4), mode.
fn record_address(cmd: &Command) -> Result<(u8, Option<u8>, RecordMode), StatusWord> {
    let sfi = match cmd.p2 >> 3 {
        0 => None,
        0x1F => return Err(StatusWord::IncorrectP1P2),
        s => Some(s),
    };
    let mode = match cmd.p2 & 0x07 {
        0x04 => RecordMode::Absolute,
        0x02 => RecordMode::Next,
        0x03 => RecordMode::Previous,
        _ => return Err(StatusWord::IncorrectP1P2),
    };
    if cmd.p1 == 0xFF || (mode != RecordMode::Absolute && cmd.p1 != 0) {
        return Err(StatusWord::IncorrectP1P2);
    }
    Ok((cmd.p1, sfi, mode))
}

/// The key references of TS 102 221 §9.5.1 Table 9.3: PIN Appl 1-8 `01`-`08`, ADM1-5
/// `0A`-`0E`, universal PIN `11`, second PIN Appl 1-8 `81`-`88`, ADM6-10 `8A`-`8E`.
fn key_reference(p2: u8) -> Result<u8, StatusWord> {
    match p2 {
        0x01..=0x08 | 0x0A..=0x0E | 0x11 | 0x81..=0x88 | 0x8A..=0x8E => Ok(p2),
        _ => Err(StatusWord::IncorrectP1P2),
    }
}

/// The data of a PIN command: `n` PIN blocks of 8 bytes (§11.1.9: PIN values are 8
/// bytes, `FF`-padded), or none when `empty_ok`.
fn pin_blocks(cmd: &Command, n: usize, empty_ok: bool) -> Result<Option<Vec<Secret>>, StatusWord> {
    if cmd.p1 != 0 {
        return Err(StatusWord::IncorrectP1P2);
    }
    // Le is not looked at: under T=0 the empty form arrives as `P3 = 00`, an Le.
    if cmd.data.is_empty() && empty_ok {
        return Ok(None);
    }
    if cmd.data.len() != 8 * n {
        return Err(StatusWord::WrongLength);
    }
    Ok(Some(
        cmd.data
            .chunks(8)
            .map(|c| Secret::new(c.to_vec()))
            .collect(),
    ))
}

/// The commands only a served profile has, and READ RECORD in all its modes; `None`:
/// decode as without a package.
fn decode_sim(cmd: &Command) -> Result<Option<CardCommand>, StatusWord> {
    let sim_ins = matches!(
        cmd.ins,
        ins::READ_RECORD
            | ins::UPDATE_BINARY
            | ins::UPDATE_RECORD
            | ins::VERIFY
            | ins::CHANGE_REFERENCE_DATA
            | ins::DISABLE_VERIFICATION
            | ins::ENABLE_VERIFICATION
            | ins::UNBLOCK_PIN
            | ins::AUTHENTICATE
    );
    if !sim_ins {
        return Ok(None);
    }
    // TS 102 221 Table 10.5: all of them are interindustry ('0X').
    if cmd.cla.is_proprietary() {
        return Err(StatusWord::ClaNotSupported);
    }
    let take = |v: Option<Vec<Secret>>| v.unwrap_or_default().into_iter();
    Ok(Some(match cmd.ins {
        ins::READ_RECORD => {
            no_data(cmd)?;
            let (record, sfi, mode) = record_address(cmd)?;
            CardCommand::ReadRecord {
                sfi,
                record,
                mode,
                le: ne(cmd),
            }
        }
        ins::UPDATE_BINARY | ins::UPDATE_RECORD => {
            if cmd.data.is_empty() || cmd.le.is_some() {
                return Err(StatusWord::WrongLength);
            }
            if cmd.ins == ins::UPDATE_BINARY {
                let (sfi, offset) = binary_address(cmd)?;
                CardCommand::UpdateBinary {
                    sfi,
                    offset,
                    data: cmd.data.clone(),
                }
            } else {
                let (record, sfi, mode) = record_address(cmd)?;
                CardCommand::UpdateRecord {
                    sfi,
                    record,
                    mode,
                    data: cmd.data.clone(),
                }
            }
        }
        ins::VERIFY => {
            let key = key_reference(cmd.p2)?;
            let pin = pin_blocks(cmd, 1, true)?;
            CardCommand::Verify {
                key,
                pin: take(pin).next(),
            }
        }
        ins::CHANGE_REFERENCE_DATA => {
            let key = key_reference(cmd.p2)?;
            let mut b = take(pin_blocks(cmd, 2, false)?);
            match (b.next(), b.next()) {
                (Some(old), Some(new)) => CardCommand::ChangePin { key, old, new },
                _ => return Err(StatusWord::WrongLength),
            }
        }
        ins::DISABLE_VERIFICATION | ins::ENABLE_VERIFICATION => {
            let key = key_reference(cmd.p2)?;
            let pin = take(pin_blocks(cmd, 1, false)?)
                .next()
                .ok_or(StatusWord::WrongLength)?;
            if cmd.ins == ins::DISABLE_VERIFICATION {
                CardCommand::DisablePin { key, pin }
            } else {
                CardCommand::EnablePin { key, pin }
            }
        }
        ins::UNBLOCK_PIN => {
            let key = key_reference(cmd.p2)?;
            let mut b = take(pin_blocks(cmd, 2, true)?);
            let codes = match (b.next(), b.next()) {
                (Some(puk), Some(new)) => Some((puk, new)),
                _ => None,
            };
            CardCommand::UnblockPin { key, codes }
        }
        ins::AUTHENTICATE => {
            let a =
                AuthenticateCommand::decode(cmd.p1, cmd.p2, &cmd.data).map_err(|e| match e {
                    AkaError::UnsupportedContext { .. } => StatusWord::IncorrectP1P2,
                    _ => StatusWord::IncorrectData,
                })?;
            CardCommand::Authenticate(a)
        }
        _ => return Ok(None),
    }))
}

fn fids(data: &[u8]) -> Vec<u16> {
    data.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect()
}

fn decode_select(cmd: &Command) -> Result<CardCommand, StatusWord> {
    if cmd.p2 & 0xF0 != 0 {
        return Err(StatusWord::IncorrectP1P2);
    }
    let reply = match cmd.p2 & 0x0C {
        0x00 => SelectReply::Fci,
        0x04 | 0x08 => SelectReply::Fcp,
        _ => SelectReply::Nothing,
    };
    let occurrence = cmd.p2 & 0x03;
    if cmd.p1 != 0x04 && occurrence != 0 {
        return Err(StatusWord::IncorrectP1P2);
    }
    let d = &cmd.data;
    let target = match cmd.p1 {
        0x00 => match d.len() {
            0 => SelectTarget::Mf,
            2 if d[..] == [0x3F, 0x00] => SelectTarget::Mf,
            2 => SelectTarget::Fid(u16::from_be_bytes([d[0], d[1]])),
            _ => return Err(StatusWord::WrongLength),
        },
        0x01 | 0x02 => match d.len() {
            2 if cmd.p1 == 0x01 => SelectTarget::ChildDf(u16::from_be_bytes([d[0], d[1]])),
            2 => SelectTarget::Fid(u16::from_be_bytes([d[0], d[1]])),
            _ => return Err(StatusWord::WrongLength),
        },
        0x03 => {
            no_data(cmd)?;
            SelectTarget::Parent
        }
        0x04 => match d.len() {
            0 => SelectTarget::Mf,
            1..=16 => match occurrence {
                0b00 => SelectTarget::Aid {
                    aid: d.clone(),
                    next: false,
                },
                0b10 => SelectTarget::Aid {
                    aid: d.clone(),
                    next: true,
                },
                // Last / previous occurrence: not supported.
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            _ => return Err(StatusWord::WrongLength),
        },
        0x08 | 0x09 => {
            if d.is_empty() || !d.len().is_multiple_of(2) || d.len() > 16 {
                return Err(StatusWord::WrongLength);
            }
            let mut path = fids(d);
            let from_mf = cmd.p1 == 0x08;
            if from_mf && path.first() == Some(&0x3F00) {
                path.remove(0);
            }
            SelectTarget::Path {
                from_mf,
                fids: path,
            }
        }
        _ => return Err(StatusWord::IncorrectP1P2),
    };
    Ok(CardCommand::Select { target, reply })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(h: &str) -> Result<CardCommand, StatusWord> {
        decode(
            &Command::parse(&hex::decode(h).unwrap()).unwrap(),
            Served::Minimal,
        )
    }

    fn dec_sim(h: &str) -> Result<CardCommand, StatusWord> {
        decode(
            &Command::parse(&hex::decode(h).unwrap()).unwrap(),
            Served::Profile,
        )
    }

    #[test]
    fn classes_and_instructions() {
        assert_eq!(dec("80A4000C023F00"), Err(StatusWord::ClaNotSupported));
        assert_eq!(dec("00E2910003BF2D00"), Err(StatusWord::ClaNotSupported));
        assert_eq!(dec("00DE000000"), Err(StatusWord::InsNotSupported));
        assert_eq!(dec("80CA005A00"), Err(StatusWord::InsNotSupported));
    }

    #[test]
    fn select_forms() {
        let sel = |t, r| {
            Ok(CardCommand::Select {
                target: t,
                reply: r,
            })
        };
        assert_eq!(
            dec("00A40004023F00"),
            sel(SelectTarget::Mf, SelectReply::Fcp)
        );
        assert_eq!(
            dec("00A4000C022FE2"),
            sel(SelectTarget::Fid(0x2FE2), SelectReply::Nothing)
        );
        assert_eq!(
            dec("00A40804043F002FE2"),
            sel(
                SelectTarget::Path {
                    from_mf: true,
                    fids: vec![0x2FE2]
                },
                SelectReply::Fcp
            )
        );
        assert_eq!(dec("00A4000403AABBCC"), Err(StatusWord::WrongLength));
        assert_eq!(dec("00A4050400"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(dec("00A40414023F00"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(dec("00A4000102"), Err(StatusWord::IncorrectP1P2));
    }

    #[test]
    fn reads() {
        assert_eq!(
            dec("00B000000A"),
            Ok(CardCommand::ReadBinary {
                sfi: None,
                offset: 0,
                le: 10
            })
        );
        assert_eq!(
            dec("00B0820000"),
            Ok(CardCommand::ReadBinary {
                sfi: Some(2),
                offset: 0,
                le: 256
            })
        );
        assert_eq!(
            dec("00B2010420"),
            Ok(CardCommand::ReadRecord {
                sfi: None,
                record: 1,
                mode: RecordMode::Absolute,
                le: 32
            })
        );
        assert_eq!(dec("00B2010220"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(dec("00B0000001AA"), Err(StatusWord::WrongLength));
    }

    #[test]
    fn sim_commands_only_with_a_package() {
        // Without a package, as before: unknown instructions, absolute records only.
        for h in [
            "002000010831323334FFFFFFFF",
            "0088008122",
            "00D6000001AA",
            "00B2000200",
        ] {
            assert!(dec(h).is_err(), "{h}");
        }
        assert_eq!(dec("0020000100"), Err(StatusWord::InsNotSupported));
        assert_eq!(
            dec_sim("00B2000A00"),
            Ok(CardCommand::ReadRecord {
                sfi: Some(1),
                record: 0,
                mode: RecordMode::Next,
                le: 256
            })
        );
        assert_eq!(dec_sim("00B2010200"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(
            dec_sim("00200001"),
            Ok(CardCommand::Verify { key: 1, pin: None })
        );
        assert_eq!(dec_sim("0020000104FFFFFFFF"), Err(StatusWord::WrongLength));
        assert_eq!(
            dec_sim("0020010108FFFFFFFFFFFFFFFF"),
            Err(StatusWord::IncorrectP1P2)
        );
        assert_eq!(dec_sim("8020000100"), Err(StatusWord::ClaNotSupported));
        assert_eq!(dec_sim("0088008200"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(dec_sim("00880081021000"), Err(StatusWord::IncorrectData));
        assert_eq!(dec_sim("00D6000000"), Err(StatusWord::WrongLength));
        assert!(matches!(
            dec_sim("002C0001"),
            Ok(CardCommand::UnblockPin {
                key: 1,
                codes: None
            })
        ));
    }
}

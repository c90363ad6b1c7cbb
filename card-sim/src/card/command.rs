//! Parse before execute: a whole command APDU becomes a typed [`CardCommand`] or the SW
//! that rejects it (class `6E00`, instruction `6D00`, parameters `6A86`, lengths `6700`),
//! before any state is looked at. INS codes: ISO/IEC 7816-4 §11 (SELECT A4, READ BINARY
//! B0, READ RECORD B2), ETSI TS 102 221 §10.1.2 (STATUS F2, TERMINAL CAPABILITY AA),
//! GlobalPlatform 2.3 §11.11 (STORE DATA E2).

use apdu::iso7816::ins;
use apdu::{Command, StatusWord};

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
    /// `P1=08` (from the MF) or `09` (from the current DF): file identifiers.
    Path(Vec<u16>),
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
    /// Mode "absolute" (`P2 b3-b1 = 100`) only.
    ReadRecord {
        sfi: Option<u8>,
        record: u8,
        le: usize,
    },
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

/// Decodes `cmd` (chains already joined by the transport).
pub fn decode(cmd: &Command) -> Result<CardCommand, StatusWord> {
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
            let (sfi, offset) = if cmd.p1 & 0x80 != 0 {
                if cmd.p1 & 0x60 != 0 {
                    return Err(StatusWord::IncorrectP1P2);
                }
                (Some(cmd.p1 & 0x1F), usize::from(cmd.p2))
            } else {
                (None, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2])))
            };
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
            if cmd.p1 == 0x08 && path.first() == Some(&0x3F00) {
                path.remove(0);
            }
            SelectTarget::Path(path)
        }
        _ => return Err(StatusWord::IncorrectP1P2),
    };
    Ok(CardCommand::Select { target, reply })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(h: &str) -> Result<CardCommand, StatusWord> {
        decode(&Command::parse(&hex::decode(h).unwrap()).unwrap())
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
            sel(SelectTarget::Path(vec![0x2FE2]), SelectReply::Fcp)
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
                le: 32
            })
        );
        assert_eq!(dec("00B2010220"), Err(StatusWord::IncorrectP1P2));
        assert_eq!(dec("00B0000001AA"), Err(StatusWord::WrongLength));
    }
}

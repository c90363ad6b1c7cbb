//! READ RECORD and UPDATE RECORD (ETSI TS 102 221 §11.1.5, §11.1.6) on linear fixed and
//! cyclic EFs of the enabled profile, with the record pointer of the current EF (reset
//! when another EF is selected).
//!
//! - Modes: absolute (P1 = record; P1 = 00 the current record) leaves the pointer;
//!   next / previous move it: from no current record to the first / last; on a linear
//!   fixed EF past the last / before the first is `6A83`; a cyclic EF wraps around.
//! - READ RECORD: Le `00` or the record length; another Le `6Cxx` (xx the record length).
//! - UPDATE RECORD: the data is one whole record (`6700` otherwise). On a cyclic EF only
//!   PREVIOUS is allowed (`6A86` else): the oldest record is overwritten and becomes
//!   record 1, which is then the current record (TS 102 221 §11.1.6).
//! - A transparent or BER-TLV EF `6981`; a record beyond the file `6A83`.

use super::super::command::RecordMode;
use super::super::Euicc;
use super::access::Op;
use apdu::saip::fs::{FileKind, NodeId};
use apdu::{Response, StatusWord};

/// Record length, count and whether the EF is cyclic.
fn shape(kind: Option<FileKind>) -> Result<(usize, usize, bool), StatusWord> {
    match kind {
        Some(FileKind::LinearFixed {
            record_len,
            records,
        }) => Ok((record_len, records, false)),
        Some(FileKind::Cyclic {
            record_len,
            records,
        }) => Ok((record_len, records, true)),
        _ => Err(StatusWord::IncompatibleFileStructure),
    }
}

/// The record a command names and whether it moves the record pointer there.
fn which(
    records: usize,
    cyclic: bool,
    current: Option<usize>,
    p1: u8,
    mode: RecordMode,
) -> Result<(usize, bool), StatusWord> {
    let none = StatusWord::RecordNotFound;
    if records == 0 {
        return Err(none);
    }
    let n = match (mode, current) {
        (RecordMode::Absolute, _) if p1 != 0 => return Ok((usize::from(p1), false)),
        (RecordMode::Absolute, Some(c)) => return Ok((c, false)),
        (RecordMode::Absolute, None) => return Err(none),
        (RecordMode::Next, None) => 1,
        (RecordMode::Next, Some(c)) if c < records => c + 1,
        (RecordMode::Next, Some(_)) if cyclic => 1,
        (RecordMode::Previous, None) => records,
        (RecordMode::Previous, Some(c)) if c > 1 => c - 1,
        (RecordMode::Previous, Some(_)) if cyclic => records,
        _ => return Err(none),
    };
    Ok((n, true))
}

impl Euicc {
    fn record_ef(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
    ) -> Result<(NodeId, usize, usize, bool), StatusWord> {
        let id = self.sim_target(ch, sfi)?;
        let fs = &self.served()?.fs;
        let (len, records, cyclic) = shape(fs.node(fs.resolve(id)).map(|n| n.kind))?;
        Ok((id, len, records, cyclic))
    }

    pub(in crate::card) fn sim_read_record(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        p1: u8,
        mode: RecordMode,
        le: usize,
    ) -> Result<Response, StatusWord> {
        let (id, len, records, cyclic) = self.record_ef(ch, sfi)?;
        self.sim_access(ch, id, Op::Read)?;
        let current = self.vol.channels[ch].sim.record;
        let (n, moves) = which(records, cyclic, current, p1, mode)?;
        let rec = self
            .served()?
            .fs
            .record(id, n)
            .ok_or(StatusWord::RecordNotFound)?
            .to_vec();
        if le < 256 && le != len {
            return Err(StatusWord::WrongLe((len % 256) as u8));
        }
        if moves {
            self.vol.channels[ch].sim.record = Some(n);
        }
        Ok(Response::ok(rec))
    }

    pub(in crate::card) fn sim_update_record(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        p1: u8,
        mode: RecordMode,
        data: &[u8],
    ) -> Result<Response, StatusWord> {
        let (id, len, records, cyclic) = self.record_ef(ch, sfi)?;
        if cyclic && (mode != RecordMode::Previous || p1 != 0) {
            return Err(StatusWord::IncorrectP1P2);
        }
        self.sim_access(ch, id, Op::Update)?;
        if data.len() != len {
            return Err(StatusWord::WrongLength);
        }
        let mut content = self.served()?.fs.content(id).unwrap_or_default().to_vec();
        if records == 0 || content.len() < len * records {
            return Err(StatusWord::RecordNotFound);
        }
        if cyclic {
            // The oldest record goes; the new one is record 1 (TS 102 221 §11.1.6).
            content.truncate(len * (records - 1));
            content.splice(0..0, data.iter().copied());
            self.vol.channels[ch].sim.record = Some(1);
        } else {
            let current = self.vol.channels[ch].sim.record;
            let (n, moves) = which(records, false, current, p1, mode)?;
            if n > records {
                return Err(StatusWord::RecordNotFound);
            }
            content[(n - 1) * len..n * len].copy_from_slice(data);
            if moves {
                self.vol.channels[ch].sim.record = Some(n);
            }
        }
        if self.served()?.fs.content(id) != Some(&content[..]) {
            self.sim_store(id, content);
        }
        Ok(Response::sw(StatusWord::Success))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_pointer_rules() {
        use RecordMode::*;
        assert_eq!(which(3, false, None, 0, Next), Ok((1, true)));
        assert_eq!(
            which(3, false, Some(3), 0, Next),
            Err(StatusWord::RecordNotFound)
        );
        assert_eq!(which(3, true, Some(3), 0, Next), Ok((1, true)));
        assert_eq!(which(3, false, None, 0, Previous), Ok((3, true)));
        assert_eq!(
            which(3, false, Some(1), 0, Previous),
            Err(StatusWord::RecordNotFound)
        );
        assert_eq!(which(3, true, Some(1), 0, Previous), Ok((3, true)));
        assert_eq!(which(3, false, Some(2), 0, Absolute), Ok((2, false)));
        assert_eq!(
            which(3, false, None, 0, Absolute),
            Err(StatusWord::RecordNotFound)
        );
        assert_eq!(which(3, false, None, 2, Absolute), Ok((2, false)));
        assert_eq!(
            which(0, true, None, 0, Next),
            Err(StatusWord::RecordNotFound)
        );
    }
}

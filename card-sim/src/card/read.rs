//! READ BINARY (ISO/IEC 7816-4 §11.3.3) and READ RECORD (§11.4.3, absolute mode) on the
//! EFs of [`super::files`]. A short file identifier in P1/P2 selects the EF first. Le
//! `00` (or none) reads what there is, up to 256 bytes; another Le that does not fit the
//! data gets `6Cxx` with the exact length, as a T=0 card answers.

use super::files::{self, Ef, EfContent};
use super::Euicc;
use crate::state::volatile::Selection;
use apdu::{Response, StatusWord};

impl Euicc {
    /// The EF a read addresses: by SFI (which selects it) or the current EF.
    fn target_ef(&mut self, ch: usize, sfi: Option<u8>) -> Result<Ef, StatusWord> {
        let iccid = self.state.enabled().map(|p| p.iccid);
        match sfi {
            Some(s) => {
                let ef = files::ef_by_sfi(s, iccid).ok_or(StatusWord::FileNotFound)?;
                self.vol.channels[ch].selection = Selection::Ef(ef.fid);
                Ok(ef)
            }
            None => match self.vol.channels[ch].selection {
                Selection::Ef(fid) => files::ef(fid, iccid).ok_or(StatusWord::CommandNotAllowed),
                _ => Err(StatusWord::CommandNotAllowed),
            },
        }
    }

    pub(super) fn read_binary(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        offset: usize,
        le: usize,
    ) -> Result<Response, StatusWord> {
        let ef = self.target_ef(ch, sfi)?;
        let EfContent::Transparent(data) = ef.content else {
            return Err(StatusWord::IncompatibleFileStructure);
        };
        if offset >= data.len() {
            return Err(StatusWord::WrongP1P2);
        }
        let avail = &data[offset..];
        Ok(Response::ok(fit(avail, le)?.to_vec()))
    }

    pub(super) fn read_record(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        record: u8,
        le: usize,
    ) -> Result<Response, StatusWord> {
        let ef = self.target_ef(ch, sfi)?;
        let EfContent::LinearFixed { records, .. } = ef.content else {
            return Err(StatusWord::IncompatibleFileStructure);
        };
        let rec = records
            .get(usize::from(record).wrapping_sub(1))
            .ok_or(StatusWord::RecordNotFound)?;
        Ok(Response::ok(fit(rec, le)?.to_vec()))
    }
}

/// The part of `data` a read with Ne `le` returns.
fn fit(data: &[u8], le: usize) -> Result<&[u8], StatusWord> {
    let n = data.len().min(256);
    if le >= 256 || le == n {
        Ok(&data[..n])
    } else {
        Err(StatusWord::WrongLe((n % 256) as u8))
    }
}

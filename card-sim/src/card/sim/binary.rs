//! READ BINARY and UPDATE BINARY (ETSI TS 102 221 §11.1.3, §11.1.4) on transparent EFs
//! of the enabled profile, and the EF addressing both they and the record commands use:
//! a short file identifier (P1 b8 = 1 here, P2 b8-b4 for records) among the EFs of the
//! current DF, which then becomes the current EF; else the current EF (`6986` without
//! one). The access rule is checked before anything is read or written (`6982`).
//!
//! - READ BINARY: offset beyond the file `6B00`; Le `00` (or none) reads up to 256 bytes;
//!   a longer Le than what is left returns what is left with `6282` (end of file reached
//!   before Le bytes, ISO/IEC 7816-4 §5.1.3).
//! - UPDATE BINARY: offset beyond the file `6B00`, data past its end `6700`; the new
//!   content is stored in the profile's persistent state (whole file, by node).

use super::super::Euicc;
use super::access::{self, Op};
use super::pins::pin_ok;
use crate::state::profile::HexContent;
use apdu::saip::fs::{FileKind, NodeId};
use apdu::{Response, StatusWord};

impl Euicc {
    /// The EF a file command addresses on channel `ch` (by SFI, which selects it).
    pub(super) fn sim_target(&mut self, ch: usize, sfi: Option<u8>) -> Result<NodeId, StatusWord> {
        let pos = self.vol.channels[ch].sim;
        match sfi {
            Some(s) => {
                let id = self
                    .served()?
                    .fs
                    .child_by_sfi(pos.df, s)
                    .ok_or(StatusWord::FileNotFound)?;
                let chan = &mut self.vol.channels[ch];
                if chan.sim.ef != Some(id) {
                    chan.sim.ef = Some(id);
                    chan.sim.record = None;
                }
                if chan.selection != crate::state::volatile::Selection::Profile {
                    chan.store_data.clear();
                    chan.selection = crate::state::volatile::Selection::Profile;
                }
                Ok(id)
            }
            None => pos.ef.ok_or(StatusWord::CommandNotAllowed),
        }
    }

    /// `6982` unless the access rules of `id` grant `op` now.
    pub(super) fn sim_access(&self, ch: usize, id: NodeId, op: Op) -> Result<(), StatusWord> {
        let served = self.served()?;
        let adf = self.vol.channels[ch].sim.adf;
        let state = self.sim_state();
        let ok = |k: u8| pin_ok(served, state, &self.vol.verified, adf, k);
        if access::allowed(&served.fs, id, op, &ok) {
            Ok(())
        } else {
            Err(StatusWord::SecurityStatusNotSatisfied)
        }
    }

    /// Stores the new whole content of EF `id` (after links) in the persistent state.
    pub(super) fn sim_store(&mut self, id: NodeId, content: Vec<u8>) {
        let Ok(served) = self.served() else {
            return;
        };
        let target = served.fs.resolve(id);
        self.change_sim(|s| {
            s.files.insert(target, HexContent(content));
        });
    }

    pub(in crate::card) fn sim_read_binary(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        offset: usize,
        le: usize,
    ) -> Result<Response, StatusWord> {
        let id = self.sim_target(ch, sfi)?;
        let fs = &self.served()?.fs;
        if fs.node(fs.resolve(id)).map(|n| n.kind) != Some(FileKind::Transparent) {
            return Err(StatusWord::IncompatibleFileStructure);
        }
        self.sim_access(ch, id, Op::Read)?;
        let fs = &self.served()?.fs;
        let data = fs.content(id).unwrap_or_default();
        if offset >= data.len() && !(offset == 0 && data.is_empty()) {
            return Err(StatusWord::WrongP1P2);
        }
        let avail = &data[offset..];
        if le >= 256 {
            // Le 00: as many as there are, up to 256 (or an extended Le).
            return Ok(Response::ok(avail[..avail.len().min(le)].to_vec()));
        }
        if le <= avail.len() {
            Ok(Response::ok(avail[..le].to_vec()))
        } else {
            Ok(Response {
                data: avail.to_vec(),
                sw: StatusWord::EndOfFile,
            })
        }
    }

    pub(in crate::card) fn sim_update_binary(
        &mut self,
        ch: usize,
        sfi: Option<u8>,
        offset: usize,
        data: &[u8],
    ) -> Result<Response, StatusWord> {
        let id = self.sim_target(ch, sfi)?;
        let fs = &self.served()?.fs;
        if fs.node(fs.resolve(id)).map(|n| n.kind) != Some(FileKind::Transparent) {
            return Err(StatusWord::IncompatibleFileStructure);
        }
        self.sim_access(ch, id, Op::Update)?;
        let mut content = self.served()?.fs.content(id).unwrap_or_default().to_vec();
        if offset >= content.len() {
            return Err(StatusWord::WrongP1P2);
        }
        let end = offset
            .checked_add(data.len())
            .filter(|&e| e <= content.len())
            .ok_or(StatusWord::WrongLength)?;
        if content[offset..end] != *data {
            content[offset..end].copy_from_slice(data);
            self.sim_store(id, content);
        }
        Ok(Response::sw(StatusWord::Success))
    }
}

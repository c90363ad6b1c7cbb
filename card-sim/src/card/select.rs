//! SELECT (ISO/IEC 7816-4 §11.2.2, ETSI TS 102 221 §11.1.1) and STATUS (§11.1.2) on the
//! minimal file system (an enabled profile's package is served by `sim::selection`).
//! Applications are found by AID, full or partial (a prefix of at least the 5-byte RID,
//! as pySim probes); the only application is the ISD-R, whose FCI is GlobalPlatform's
//! `6F { 84 AID, A5 { 9F65 max command data } }` (pySim decodes it as such). A failed
//! SELECT leaves the selection as it was and answers `6A82` at once.

use super::command::{SelectReply, SelectTarget, StatusReply};
use super::files::{self, FID_MF};
use super::Euicc;
use crate::state::volatile::Selection;
use apdu::iso7816::tlv::{self, cons, prim};
use apdu::sgp22::es10::ISDR_AID;
use apdu::{Response, StatusWord};

/// The ISD-R's FCI.
pub fn isdr_fci() -> Vec<u8> {
    tlv::encode(&cons::<0x6F>(vec![
        prim::<0x84>(ISDR_AID.to_vec()),
        cons::<0xA5>(vec![prim::<0x9F65>(vec![0xFF])]),
    ]))
}

/// Does `aid` (full or partial) name the ISD-R?
pub fn names_isdr(aid: &[u8]) -> bool {
    aid.len() >= 5 && ISDR_AID.starts_with(aid)
}

impl Euicc {
    fn enabled_iccid(&self) -> Option<apdu::sgp22::es10::Iccid> {
        self.state.enabled().map(|p| p.iccid)
    }

    /// The FCP/FCI of what `sel` names.
    fn describe(&self, sel: Selection) -> Vec<u8> {
        match sel {
            Selection::Mf => files::mf_fcp(),
            Selection::IsdR => isdr_fci(),
            Selection::Ef(fid) => files::ef(fid, self.enabled_iccid())
                .map(|e| files::ef_fcp(&e))
                .unwrap_or_default(),
            // Not reached: a profile's files are described by `sim::selection`.
            Selection::Profile => files::mf_fcp(),
        }
    }

    fn resolve(&self, target: &SelectTarget) -> Option<Selection> {
        let is_ef = |fid: u16| files::ef(fid, self.enabled_iccid()).is_some();
        match target {
            SelectTarget::Mf | SelectTarget::Parent => Some(Selection::Mf),
            SelectTarget::Fid(FID_MF) => Some(Selection::Mf),
            SelectTarget::Fid(fid) if is_ef(*fid) => Some(Selection::Ef(*fid)),
            SelectTarget::Fid(_) | SelectTarget::ChildDf(_) => None,
            // Only one application: there is never a "next" occurrence.
            SelectTarget::Aid { aid, next: false } if names_isdr(aid) => Some(Selection::IsdR),
            SelectTarget::Aid { .. } => None,
            // The MF is the only DF: from it and from the current DF are the same.
            SelectTarget::Path { fids, .. } => match fids.as_slice() {
                [] => Some(Selection::Mf),
                [fid] if is_ef(*fid) => Some(Selection::Ef(*fid)),
                _ => None,
            },
        }
    }

    pub(super) fn select(
        &mut self,
        ch: usize,
        target: SelectTarget,
        reply: SelectReply,
    ) -> Result<Response, StatusWord> {
        let sel = self.resolve(&target).ok_or(StatusWord::FileNotFound)?;
        let chan = &mut self.vol.channels[ch];
        if chan.selection != sel {
            // Leaving (or re-entering) an application ends a STORE DATA sequence.
            chan.store_data.clear();
        }
        chan.selection = sel;
        Ok(match reply {
            SelectReply::Nothing => Response::sw(StatusWord::Success),
            SelectReply::Fci | SelectReply::Fcp => Response::ok(self.describe(sel)),
        })
    }

    pub(super) fn status(&self, ch: usize, reply: StatusReply) -> Response {
        let sel = self.vol.channels[ch].selection;
        match (reply, sel) {
            (StatusReply::Nothing, _) => Response::sw(StatusWord::Success),
            (StatusReply::Fcp, Selection::IsdR) => Response::ok(isdr_fci()),
            (StatusReply::Fcp, _) => Response::ok(files::mf_fcp()),
            (StatusReply::DfName, Selection::IsdR) => {
                Response::ok(tlv::encode(&prim::<0x84>(ISDR_AID.to_vec())))
            }
            (StatusReply::DfName, _) => Response::sw(StatusWord::Success),
        }
    }
}

//! SELECT and STATUS in the enabled profile's file system (ETSI TS 102 221 §8.4,
//! §11.1.1, §11.1.2; ISO/IEC 7816-4 §7.1.1). Per channel a current DF (or ADF), a current
//! EF and a current application (the ADF `7FFF` names) are kept
//! ([`crate::state::volatile::SimPosition`]).
//!
//! - By FID (P1 00/01/02, §8.4.1): `3F00` the MF; `7FFF` the current ADF; the current DF
//!   itself; a child of the current DF; its parent; a DF child of the parent. ADFs are
//!   never found by their (package-internal) FID.
//! - By path (P1 08 from the MF, 09 from the current DF, §8.4.2): each element a child of
//!   the one before; `7FFF` may be the first element.
//! - By DF name (P1 04, §8.4.3, partial names allowed, first or next occurrence): the
//!   ISD-R (SGP.22) and the package's ADFs (USIM, ISIM, CSIM, ...), in that order.
//! - The answer (P2): the FCP `62` of `FileSystem::fcp` (P2 04, also given for 00), or
//!   nothing (0C); the ISD-R answers its FCI as without a package.
//! - STATUS: the current DF's / ADF's FCP (P2 00), the current application's DF name as
//!   `84` (P2 01; nothing when none), or nothing (P2 0C); Le is not checked (pySim sends
//!   `80F20000FF`, TS 102 221 allows fewer bytes than Le).
//!
//! A failed SELECT changes nothing and answers `6A82`.

use super::super::command::{SelectReply, SelectTarget, StatusReply};
use super::super::select::{isdr_fci, names_isdr};
use super::super::Euicc;
use crate::state::volatile::{Selection, SimPosition};
use apdu::iso7816::tlv::{self, prim};
use apdu::saip::fs::{FileKind, FileSystem, NodeId};
use apdu::sgp22::es10::ISDR_AID;
use apdu::{Response, StatusWord};

/// The current application's FID in paths and SELECT (TS 102 221 §8.4.1).
pub const FID_CURRENT_ADF: u16 = 0x7FFF;
const FID_MF: u16 = 0x3F00;

/// What a SELECT found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    IsdR,
    Node(NodeId),
}

/// A file by FID from `pos` (TS 102 221 §8.4.1).
fn by_fid(fs: &FileSystem, pos: &SimPosition, fid: u16) -> Option<NodeId> {
    if fid == FID_MF {
        return Some(FileSystem::MF);
    }
    if fid == FID_CURRENT_ADF {
        return pos.adf;
    }
    let cur = fs.node(pos.df)?;
    if cur.kind != FileKind::Adf && cur.fid == fid {
        return Some(pos.df);
    }
    if let Some(c) = fs.child_by_fid(pos.df, fid) {
        return Some(c);
    }
    let parent = cur.parent?;
    if fs
        .node(parent)
        .is_some_and(|p| p.fid == fid && p.kind != FileKind::Adf)
    {
        return Some(parent);
    }
    fs.child_by_fid(parent, fid)
        .filter(|&c| fs.node(c).is_some_and(|n| n.kind.is_dir()))
}

/// A path from `start` (TS 102 221 §8.4.2): `7FFF` first names the current ADF.
fn by_path(fs: &FileSystem, pos: &SimPosition, start: NodeId, fids: &[u16]) -> Option<NodeId> {
    let (mut cur, rest) = match fids.split_first() {
        Some((&FID_CURRENT_ADF, rest)) => (pos.adf?, rest),
        _ => (start, fids),
    };
    for &fid in rest {
        if !fs.node(cur)?.kind.is_dir() {
            return None;
        }
        cur = fs.child_by_fid(cur, fid)?;
    }
    Some(cur)
}

impl Euicc {
    /// What `target` names from channel `ch`'s position.
    fn find(&self, ch: usize, target: &SelectTarget) -> Result<Found, StatusWord> {
        let fs = &self.served()?.fs;
        let chan = &self.vol.channels[ch];
        let pos = &chan.sim;
        let found = match target {
            SelectTarget::Mf => Some(FileSystem::MF),
            SelectTarget::Fid(fid) => by_fid(fs, pos, *fid),
            SelectTarget::ChildDf(fid) => fs
                .child_by_fid(pos.df, *fid)
                .filter(|&c| fs.node(c).is_some_and(|n| n.kind.is_dir())),
            SelectTarget::Parent => fs.node(pos.df).and_then(|n| n.parent),
            SelectTarget::Path { from_mf, fids } => {
                let start = if *from_mf { FileSystem::MF } else { pos.df };
                by_path(fs, pos, start, fids)
            }
            SelectTarget::Aid { aid, next } => {
                let mut all: Vec<Found> = Vec::new();
                if names_isdr(aid) {
                    all.push(Found::IsdR);
                }
                all.extend(
                    fs.adfs()
                        .filter(|&a| {
                            fs.node(a)
                                .and_then(|n| n.aid.as_deref())
                                .is_some_and(|x| !aid.is_empty() && x.starts_with(aid))
                        })
                        .map(Found::Node),
                );
                let current = match chan.selection {
                    Selection::IsdR => Some(Found::IsdR),
                    _ => pos.adf.map(Found::Node),
                };
                let at = match (next, current) {
                    (true, Some(c)) => all.iter().position(|f| *f == c).map_or(0, |i| i + 1),
                    _ => 0,
                };
                return all.get(at).copied().ok_or(StatusWord::FileNotFound);
            }
        };
        found.map(Found::Node).ok_or(StatusWord::FileNotFound)
    }

    pub(in crate::card) fn sim_select(
        &mut self,
        ch: usize,
        target: SelectTarget,
        reply: SelectReply,
    ) -> Result<Response, StatusWord> {
        let found = self.find(ch, &target)?;
        let (selection, pos, answer) = match found {
            Found::IsdR => (Selection::IsdR, self.vol.channels[ch].sim, isdr_fci()),
            Found::Node(id) => {
                let fs = &self.served()?.fs;
                let node = fs.node(id).ok_or(StatusWord::FileNotFound)?;
                let mut pos = self.vol.channels[ch].sim;
                if node.kind.is_dir() {
                    pos.df = id;
                    pos.ef = None;
                    if node.kind == FileKind::Adf {
                        pos.adf = Some(id);
                    }
                } else {
                    pos.df = node.parent.unwrap_or(FileSystem::MF);
                    pos.ef = Some(id);
                }
                pos.record = None;
                let fcp = fs.fcp(id).unwrap_or_default();
                (Selection::Profile, pos, fcp)
            }
        };
        let chan = &mut self.vol.channels[ch];
        if chan.selection != selection {
            // Leaving (or entering) the ISD-R ends a STORE DATA sequence.
            chan.store_data.clear();
        }
        chan.selection = selection;
        chan.sim = pos;
        Ok(match reply {
            SelectReply::Nothing => Response::sw(StatusWord::Success),
            SelectReply::Fci | SelectReply::Fcp => Response::ok(answer),
        })
    }

    pub(in crate::card) fn sim_status(
        &self,
        ch: usize,
        reply: StatusReply,
    ) -> Result<Response, StatusWord> {
        let chan = &self.vol.channels[ch];
        let fs = &self.served()?.fs;
        Ok(match (reply, chan.selection) {
            (StatusReply::Nothing, _) => Response::sw(StatusWord::Success),
            (StatusReply::Fcp, Selection::IsdR) => Response::ok(isdr_fci()),
            (StatusReply::Fcp, _) => Response::ok(fs.fcp(chan.sim.df).unwrap_or_default()),
            (StatusReply::DfName, Selection::IsdR) => {
                Response::ok(tlv::encode(&prim::<0x84>(ISDR_AID.to_vec())))
            }
            (StatusReply::DfName, _) => match chan.sim.adf.and_then(|a| fs.node(a)?.aid.clone()) {
                Some(aid) => Response::ok(tlv::encode(&prim::<0x84>(aid))),
                None => Response::sw(StatusWord::Success),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::saip::build::{build, Subscription};
    use apdu::saip::{Algorithm, Secret};

    fn fs() -> FileSystem {
        let s = Subscription {
            iccid: apdu::sgp22::es10::Iccid::from_digits("89490000000000000042").unwrap(),
            imsi: "001010000000042".into(),
            msisdn: Some("+4917000".into()),
            ki: Secret::new(vec![1; 16]),
            opc: Secret::new(vec![2; 16]),
            algorithm: Algorithm::Milenage,
            spn: "t".into(),
            profile_type: "test".into(),
            pin1: "1234".into(),
            puk1: "12345678".into(),
            adm1: "88888888".into(),
        };
        apdu::saip::fs::install(&build(&s).unwrap()).unwrap().fs
    }

    #[test]
    fn fid_rules_of_8_4_1() {
        let fs = fs();
        let usim = fs.adfs().next().unwrap();
        let imsi = fs.child_by_fid(usim, 0x6F07).unwrap();
        let at_mf = SimPosition::default();
        assert_eq!(by_fid(&fs, &at_mf, 0x2FE2), fs.child_by_fid(0, 0x2FE2));
        assert_eq!(by_fid(&fs, &at_mf, 0x7FFF), None, "no current application");
        assert_eq!(by_fid(&fs, &at_mf, 0x6F07), None, "not a child of the MF");
        let in_usim = SimPosition {
            df: usim,
            adf: Some(usim),
            ..Default::default()
        };
        assert_eq!(by_fid(&fs, &in_usim, 0x6F07), Some(imsi));
        assert_eq!(by_fid(&fs, &in_usim, 0x3F00), Some(0));
        assert_eq!(by_fid(&fs, &in_usim, 0x7FFF), Some(usim));
        // The MF's EFs are not children of the ADF, and the parent's EFs are not found.
        assert_eq!(by_fid(&fs, &in_usim, 0x2FE2), None);
        assert_eq!(by_path(&fs, &in_usim, 0, &[0x7FFF, 0x6F07]), Some(imsi));
        assert_eq!(
            by_path(&fs, &at_mf, 0, &[0x2FE2, 0x6F07]),
            None,
            "EF in a path"
        );
    }
}

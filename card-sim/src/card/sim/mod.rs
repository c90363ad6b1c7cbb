//! The enabled profile served as a SIM (issue 9, "A profile that works as a SIM"): while
//! the enabled profile holds a SAIP package, its file system (`apdu::saip::fs::install`)
//! is what the card serves instead of the minimal one of `card/files.rs`; the ISD-R stays
//! selectable by AID. Without an enabled profile, or when it has no package, nothing here
//! runs and the card answers as before.
//!
//! What each file owns:
//! - [`image`]: the in-memory image of the enabled profile (decoded once per package),
//!   with the profile's persistent file changes laid over it.
//! - [`selection`]: SELECT by FID, path, DF name / AID and STATUS (ETSI TS 102 221 §8.4,
//!   §11.1.1, §11.1.2; ISO/IEC 7816-4 §7.1).
//! - [`binary`]: READ / UPDATE BINARY (TS 102 221 §11.1.3, §11.1.4); [`records`]: READ /
//!   UPDATE RECORD on linear fixed and cyclic EFs (§11.1.5, §11.1.6), both with SFIs.
//! - [`access`]: the access rules of EF.ARR (TS 102 221 §9.2.7, ISO/IEC 7816-4 §9.3).
//! - [`pins`]: PINs and PUKs, their counters and the verification state (TS 102 221
//!   §9.5, §11.1.9-§11.1.13).
//! - [`authenticate`]: AUTHENTICATE in ADF.USIM (3GPP TS 31.102 §7.1.2).
//!
//! Persistent changes (file contents, PIN counters and values, SQN state) live in the
//! enabled profile's `sim` ([`crate::state::profile::SimState`]) and go through
//! `Euicc::change`, so a command saves once, before its answer.

pub mod access;
pub mod authenticate;
pub mod binary;
pub mod image;
pub mod pins;
pub mod records;
pub mod selection;

use super::command::Served as ServedKind;
use super::Euicc;
use crate::state::profile::SimState;
use crate::state::volatile::{Selection, SimPosition};
use crate::state::PersistentState;
use apdu::StatusWord;
use image::{Cache, Served};

impl Euicc {
    /// Brings the image cache in line with the enabled profile and says which file system
    /// the card serves for the coming command. A new image (another profile or package)
    /// puts every channel back at the MF and forgets the verified PINs.
    pub(super) fn refresh_sim(&mut self) -> ServedKind {
        let Some(p) = self.state.enabled() else {
            self.sim = Cache::Empty;
            return self.settle(ServedKind::Minimal);
        };
        let Some(pkg) = &p.package else {
            self.sim = Cache::Empty;
            return self.settle(ServedKind::Minimal);
        };
        match &mut self.sim {
            Cache::Ready(s) if s.is_for(pkg) => {
                s.sync_files(&p.sim.files);
                return ServedKind::Profile;
            }
            Cache::Failed(f) if f == pkg => return ServedKind::Minimal,
            _ => {}
        }
        let kind = match Served::build(pkg, &p.sim.files) {
            Ok(s) => {
                self.sim = Cache::Ready(Box::new(s));
                ServedKind::Profile
            }
            Err(e) => {
                eprintln!(
                    "card-sim: the enabled profile's package does not install ({e}); \
                     serving the minimal file system"
                );
                self.sim = Cache::Failed(pkg.clone());
                ServedKind::Minimal
            }
        };
        for c in self.vol.channels.iter_mut() {
            c.sim = SimPosition::default();
            if c.selection == Selection::Profile {
                c.selection = Selection::Mf;
            }
        }
        self.vol.verified.clear();
        self.settle(kind)
    }

    /// Channels whose selection belongs to the other file system start at its MF.
    fn settle(&mut self, kind: ServedKind) -> ServedKind {
        for c in self.vol.channels.iter_mut() {
            match (kind, c.selection) {
                (ServedKind::Profile, Selection::Mf | Selection::Ef(_)) => {
                    c.selection = Selection::Profile;
                    c.sim = SimPosition::default();
                }
                (ServedKind::Minimal, Selection::Profile) => {
                    c.selection = Selection::Mf;
                    c.sim = SimPosition::default();
                }
                _ => {}
            }
        }
        kind
    }

    /// The served image (only called while [`Self::refresh_sim`] said `Profile`).
    pub(super) fn served(&self) -> Result<&Served, StatusWord> {
        match &self.sim {
            Cache::Ready(s) => Ok(s),
            _ => Err(StatusWord::NoPreciseDiagnosis),
        }
    }

    /// The enabled profile's SIM state.
    pub(super) fn sim_state(&self) -> Option<&SimState> {
        self.state.enabled().map(|p| &p.sim)
    }

    /// Changes the enabled profile's SIM state, as part of the running command.
    pub(super) fn change_sim(&mut self, f: impl FnOnce(&mut SimState)) {
        self.change(|s: &mut PersistentState| {
            if let Some(p) = s.profiles.iter_mut().find(|p| p.is_enabled()) {
                f(&mut p.sim);
            }
        });
    }
}

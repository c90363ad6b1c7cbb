//! The card: an eUICC with its ISD-R (GSMA SGP.22) on a minimal UICC file system
//! (ETSI TS 102 221), or, while the enabled profile holds a SAIP package, on that
//! profile's file system with its PINs and USIM ([`sim`]). Every command is first
//! decoded into a typed [`CardCommand`] ([`command`]) or rejected with a SW, then
//! checked against the channel's state ([`Euicc::check`]), then executed. Changes to persistent state go through
//! `Euicc::change`; a command that changed it is saved once, when it has run and before
//! its answer leaves the card; when saving fails the card answers `6581` and keeps the
//! state as last saved. A command that changes nothing writes nothing.
//!
//! - [`atr`]: the answer to reset.
//! - [`files`]: MF, EF.DIR, EF.ICCID and their FCPs; [`select`]: SELECT and STATUS;
//!   [`read`]: READ BINARY / READ RECORD.
//! - [`sim`]: the enabled profile served as a SIM (SELECT, STATUS, READ / UPDATE
//!   BINARY and RECORD, access rules, PINs, AUTHENTICATE).
//! - [`isdr`]: STORE DATA into the ISD-R; [`es10`]: the ES10 functions;
//!   [`devchange`]: the device-change functions and their proactive sessions.

pub mod atr;
pub mod command;
pub mod devchange;
pub mod es10;
pub mod es10b;
pub mod files;
pub mod isdr;
pub mod read;
pub mod select;
pub mod sim;

use crate::state::volatile::{CardChannel, CardVolatile, Selection};
use crate::state::{PersistentState, Storage, StorageError};
use crate::transport::Applet;
use apdu::{Command, Response, StatusWord};
use command::{CardCommand, Served};
use rand_chacha::ChaCha20Rng;

/// `6581`: memory failure (ETSI TS 102 221 §10.2.1.5): the state could not be saved.
pub const SW_MEMORY_FAILURE: StatusWord = StatusWord::Other(0x6581);

/// The eUICC.
pub struct Euicc {
    state: PersistentState,
    /// The state as last saved, while the running command has changed `state` and not
    /// yet saved it; `None`: `state` is what the storage holds.
    unsaved: Option<PersistentState>,
    storage: Box<dyn Storage + Send>,
    vol: CardVolatile,
    rng: ChaCha20Rng,
    atr: Vec<u8>,
    /// The device-change session (volatile: dropped on power off and reset).
    method: crate::method::MethodSession,
    /// The identity key parsed from the state, once needed.
    identity: Option<apdu::crypto::IdentityKey>,
    /// The identity encryption key parsed from the state, once needed.
    identity_enc: Option<apdu::crypto::IdentityKey>,
    /// The enabled profile's installed image (volatile, rebuilt when it changes).
    sim: sim::image::Cache,
    /// The cheapest KDF parameters the device-change method derives with (an option
    /// of each start, not state: `crate::method::KdfFloor`).
    kdf_floor: crate::method::KdfFloor,
}

impl Euicc {
    /// A card with `state` (already loaded or newly made, and saved), saving to `storage`.
    /// Its KDF floor is the test profile: cards made in process are test cards (the
    /// tests, the fuzzer); card-sim's binary sets the floor of `--kdf-floor`, production
    /// by default, with [`Euicc::with_kdf_floor`].
    pub fn new(
        state: PersistentState,
        storage: Box<dyn Storage + Send>,
        rng: ChaCha20Rng,
        atr: Vec<u8>,
    ) -> Self {
        Euicc {
            state,
            unsaved: None,
            storage,
            vol: CardVolatile::default(),
            rng,
            atr,
            method: Default::default(),
            identity: None,
            identity_enc: None,
            sim: Default::default(),
            kdf_floor: crate::method::KdfFloor::Test,
        }
    }

    /// This card with the KDF floor `floor` (issue 10, finding 7).
    pub fn with_kdf_floor(mut self, floor: crate::method::KdfFloor) -> Self {
        self.kdf_floor = floor;
        self
    }

    /// The persistent state.
    pub fn state(&self) -> &PersistentState {
        &self.state
    }

    /// What is selected on channel `ch`.
    pub fn selection(&self, ch: u8) -> Option<Selection> {
        self.vol.channels.get(usize::from(ch)).map(|c| c.selection)
    }

    /// Applies `f` to the persistent state, as part of the running command: if the
    /// state is then different, the command saves it before it answers
    /// ([`Euicc::save_changes`]).
    pub(crate) fn change<R>(&mut self, f: impl FnOnce(&mut PersistentState) -> R) -> R {
        if self.unsaved.is_some() {
            return f(&mut self.state);
        }
        let before = self.state.clone();
        let r = f(&mut self.state);
        if self.state != before {
            self.unsaved = Some(before);
        }
        r
    }

    /// After a command: saves what it changed, once. A failed save puts the state back
    /// as last saved (with it the identity key made by this command, if any) and the
    /// card answers `6581` instead.
    fn save_changes(&mut self) -> Result<(), StorageError> {
        let Some(saved) = self.unsaved.take() else {
            return Ok(());
        };
        self.storage.save(&self.state).inspect_err(|_| {
            self.state = saved;
            if self.state.identity_key.is_none() {
                self.identity = None;
            }
            if self.state.identity_encryption_key.is_none() {
                self.identity_enc = None;
            }
        })
    }

    /// The lifecycle check between decoding and executing: is the command allowed in
    /// the channel's current state?
    fn check(&self, ch: usize, cmd: &CardCommand, served: Served) -> Result<(), StatusWord> {
        let sel = self.vol.channels[ch].selection;
        match cmd {
            // STORE DATA goes to the selected security domain only (GP 2.3 §11.11).
            CardCommand::StoreData { .. } if sel != Selection::IsdR => {
                Err(StatusWord::ConditionsNotSatisfied)
            }
            // The ISD-R has no current EF (TS 102 221 §8.4: no EF selected).
            CardCommand::ReadBinary { sfi: None, .. }
            | CardCommand::ReadRecord { sfi: None, .. }
            | CardCommand::UpdateBinary { sfi: None, .. }
            | CardCommand::UpdateRecord { sfi: None, .. }
                if served == Served::Profile && sel == Selection::IsdR =>
            {
                Err(StatusWord::CommandNotAllowed)
            }
            // AUTHENTICATE runs in a selected USIM (TS 31.102 §7.1.2).
            CardCommand::Authenticate(_) if !self.sim_can_authenticate(ch) => {
                Err(StatusWord::ConditionsNotSatisfied)
            }
            _ => Ok(()),
        }
    }

    fn execute(
        &mut self,
        ch: usize,
        cmd: CardCommand,
        served: Served,
    ) -> Result<Response, StatusWord> {
        if served == Served::Profile {
            return self.execute_sim(ch, cmd);
        }
        self.execute_common(ch, cmd)
    }

    /// The commands served the same with and without a package (and, without one,
    /// SELECT, STATUS and the reads of the minimal file system).
    fn execute_common(&mut self, ch: usize, cmd: CardCommand) -> Result<Response, StatusWord> {
        match cmd {
            CardCommand::Select { target, reply } => self.select(ch, target, reply),
            CardCommand::Status { reply } => Ok(self.status(ch, reply)),
            CardCommand::ReadBinary { sfi, offset, le } => self.read_binary(ch, sfi, offset, le),
            CardCommand::ReadRecord {
                sfi, record, le, ..
            } => self.read_record(ch, sfi, record, le),
            CardCommand::StoreData { p1, block, data } => self.store_data(ch, p1, block, &data),
            // TS 102 221 §11.1.19: the terminal's capabilities are noted, not needed here.
            CardCommand::TerminalCapability => Ok(Response::sw(StatusWord::Success)),
            CardCommand::Fetch => self.fetch(),
            CardCommand::TerminalResponse { data } => self.terminal_response(&data),
            // Decoded only while a package is served.
            CardCommand::UpdateBinary { .. }
            | CardCommand::UpdateRecord { .. }
            | CardCommand::Verify { .. }
            | CardCommand::ChangePin { .. }
            | CardCommand::DisablePin { .. }
            | CardCommand::EnablePin { .. }
            | CardCommand::UnblockPin { .. }
            | CardCommand::Authenticate(_) => Err(StatusWord::InsNotSupported),
        }
    }

    /// While the enabled profile's package is served ([`sim`]).
    fn execute_sim(&mut self, ch: usize, cmd: CardCommand) -> Result<Response, StatusWord> {
        match cmd {
            CardCommand::Select { target, reply } => self.sim_select(ch, target, reply),
            CardCommand::Status { reply } => self.sim_status(ch, reply),
            CardCommand::ReadBinary { sfi, offset, le } => {
                self.sim_read_binary(ch, sfi, offset, le)
            }
            CardCommand::UpdateBinary { sfi, offset, data } => {
                self.sim_update_binary(ch, sfi, offset, &data)
            }
            CardCommand::ReadRecord {
                sfi,
                record,
                mode,
                le,
            } => self.sim_read_record(ch, sfi, record, mode, le),
            CardCommand::UpdateRecord {
                sfi,
                record,
                mode,
                data,
            } => self.sim_update_record(ch, sfi, record, mode, &data),
            c @ (CardCommand::Verify { .. }
            | CardCommand::ChangePin { .. }
            | CardCommand::DisablePin { .. }
            | CardCommand::EnablePin { .. }
            | CardCommand::UnblockPin { .. }) => self.pin_command(ch, c),
            CardCommand::Authenticate(a) => self.sim_authenticate(ch, &a),
            c => self.execute_common(ch, c),
        }
    }
}

impl Applet for Euicc {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn power_cycle(&mut self) {
        self.vol = CardVolatile::default();
        self.method = Default::default();
    }

    fn channel_opened(&mut self, channel: u8, origin: u8) {
        // ISO/IEC 7816-4 §7.1.2: opened from the basic channel, the MF is selected;
        // from another channel, that channel's selection is inherited.
        let (selection, sim) = match origin {
            0 => (Selection::Mf, Default::default()),
            o => self
                .vol
                .channels
                .get(usize::from(o))
                .map(|c| (c.selection, c.sim))
                .unwrap_or_default(),
        };
        if let Some(c) = self.vol.channels.get_mut(usize::from(channel)) {
            *c = CardChannel {
                selection,
                sim,
                ..CardChannel::default()
            };
        }
    }

    fn channel_closed(&mut self, channel: u8) {
        if let Some(c) = self.vol.channels.get_mut(usize::from(channel)) {
            *c = CardChannel::default();
        }
    }

    fn process(&mut self, channel: u8, cmd: &Command) -> Response {
        let ch = usize::from(channel);
        if ch >= self.vol.channels.len() {
            return StatusWord::LogicalChannelNotSupported.into();
        }
        let served = self.refresh_sim();
        let parsed = match command::decode(cmd, served) {
            Ok(c) => c,
            Err(sw) => return sw.into(),
        };
        if let Err(sw) = self.check(ch, &parsed, served) {
            return sw.into();
        }
        let answer = self
            .execute(ch, parsed, served)
            .unwrap_or_else(Response::sw);
        match self.save_changes() {
            Ok(()) => answer,
            Err(e) => {
                eprintln!("card-sim: saving the state failed, change refused: {e}");
                SW_MEMORY_FAILURE.into()
            }
        }
    }
}

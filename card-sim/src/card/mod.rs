//! The card: an eUICC with its ISD-R (GSMA SGP.22) on a minimal UICC file system
//! (ETSI TS 102 221). Every command is first decoded into a typed [`CardCommand`]
//! ([`command`]) or rejected with a SW, then checked against the channel's state
//! ([`Euicc::check`]), then executed. Changes to persistent state go through
//! [`Euicc::commit`], which saves before the answer leaves the card and leaves the state
//! unchanged (`6581`) when saving fails.
//!
//! - [`atr`]: the answer to reset.
//! - [`files`]: MF, EF.DIR, EF.ICCID and their FCPs; [`select`]: SELECT and STATUS;
//!   [`read`]: READ BINARY / READ RECORD.
//! - [`isdr`]: STORE DATA into the ISD-R; [`es10`]: the ES10 functions;
//!   [`devchange`]: the device-change functions and their proactive sessions.

pub mod atr;
pub mod command;
pub mod devchange;
pub mod es10;
pub mod files;
pub mod isdr;
pub mod read;
pub mod select;

use crate::state::volatile::{CardChannel, CardVolatile, Selection};
use crate::state::{PersistentState, Storage};
use crate::transport::Applet;
use apdu::{Command, Response, StatusWord};
use command::CardCommand;
use rand_chacha::ChaCha20Rng;

/// `6581`: memory failure (ETSI TS 102 221 §10.2.1.5): the state could not be saved.
pub const SW_MEMORY_FAILURE: StatusWord = StatusWord::Other(0x6581);

/// The eUICC.
pub struct Euicc {
    state: PersistentState,
    storage: Box<dyn Storage + Send>,
    vol: CardVolatile,
    rng: ChaCha20Rng,
    atr: Vec<u8>,
    /// The device-change session (volatile: dropped on power off and reset).
    method: crate::method::MethodSession,
    /// The identity key parsed from the state, once needed.
    identity: Option<apdu::crypto::IdentityKey>,
}

impl Euicc {
    /// A card with `state` (already loaded or newly made, and saved), saving to `storage`.
    pub fn new(
        state: PersistentState,
        storage: Box<dyn Storage + Send>,
        rng: ChaCha20Rng,
        atr: Vec<u8>,
    ) -> Self {
        Euicc {
            state,
            storage,
            vol: CardVolatile::default(),
            rng,
            atr,
            method: Default::default(),
            identity: None,
        }
    }

    /// The persistent state.
    pub fn state(&self) -> &PersistentState {
        &self.state
    }

    /// What is selected on channel `ch`.
    pub fn selection(&self, ch: u8) -> Option<Selection> {
        self.vol.channels.get(usize::from(ch)).map(|c| c.selection)
    }

    /// Applies `f` to a copy of the persistent state; if it changed, saves the copy and
    /// only then makes it current. A failed save answers `6581` and changes nothing.
    pub fn commit<R>(
        &mut self,
        f: impl FnOnce(&mut PersistentState) -> R,
    ) -> Result<R, StatusWord> {
        let mut next = self.state.clone();
        let r = f(&mut next);
        if next != self.state {
            if let Err(e) = self.storage.save(&next) {
                eprintln!("card-sim: saving the state failed, change refused: {e:#}");
                return Err(SW_MEMORY_FAILURE);
            }
            self.state = next;
        }
        Ok(r)
    }

    /// The lifecycle check between decoding and executing: is the command allowed in
    /// the channel's current state?
    fn check(&self, ch: usize, cmd: &CardCommand) -> Result<(), StatusWord> {
        let sel = self.vol.channels[ch].selection;
        match cmd {
            // STORE DATA goes to the selected security domain only (GP 2.3 §11.11).
            CardCommand::StoreData { .. } if sel != Selection::IsdR => {
                Err(StatusWord::ConditionsNotSatisfied)
            }
            _ => Ok(()),
        }
    }

    fn execute(&mut self, ch: usize, cmd: CardCommand) -> Result<Response, StatusWord> {
        match cmd {
            CardCommand::Select { target, reply } => self.select(ch, target, reply),
            CardCommand::Status { reply } => Ok(self.status(ch, reply)),
            CardCommand::ReadBinary { sfi, offset, le } => self.read_binary(ch, sfi, offset, le),
            CardCommand::ReadRecord { sfi, record, le } => self.read_record(ch, sfi, record, le),
            CardCommand::StoreData { p1, block, data } => self.store_data(ch, p1, block, &data),
            // TS 102 221 §11.1.19: the terminal's capabilities are noted, not needed here.
            CardCommand::TerminalCapability => Ok(Response::sw(StatusWord::Success)),
            CardCommand::Fetch => self.fetch(),
            CardCommand::TerminalResponse { data } => self.terminal_response(&data),
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
        let selection = match origin {
            0 => Selection::Mf,
            o => self.selection(o).unwrap_or_default(),
        };
        if let Some(c) = self.vol.channels.get_mut(usize::from(channel)) {
            *c = CardChannel {
                selection,
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
        let parsed = match command::decode(cmd) {
            Ok(c) => c,
            Err(sw) => return sw.into(),
        };
        if let Err(sw) = self.check(ch, &parsed) {
            return sw.into();
        }
        self.execute(ch, parsed).unwrap_or_else(Response::sw)
    }
}

//! The transport (ISO/IEC 7816-4 §5 and ETSI TS 102 221 §7 as seen through vpcd): class
//! byte and logical channel checks, MANAGE CHANNEL, command chaining, and the `61xx` /
//! GET RESPONSE buffering that keeps every response APDU at 256 data bytes or fewer.
//! The [`Applet`] behind it only ever sees whole, well-formed commands.
//!
//! - [`channels`]: MANAGE CHANNEL open/close.
//! - [`chaining`]: joining chained commands (CLA b5).
//! - [`get_response`]: response delivery and GET RESPONSE.
//! - [`record`]: `--record FILE`, the link's traffic as a replayable script (a wrapper
//!   around the transport at the vpcd edge; nothing here changes for it).

pub mod chaining;
pub mod channels;
pub mod get_response;
pub mod record;

use crate::state::volatile::TransportVolatile;
use crate::vpcd::Card;
use apdu::iso7816::ins;
use apdu::{Cla, Command, Response, StatusWord};

/// What sits behind the transport: the card's applications and files.
pub trait Applet {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// Power off/on or reset: drop all volatile state (never persistent state).
    fn power_cycle(&mut self);
    /// Channel `channel` was opened from channel `origin` (ISO/IEC 7816-4 §7.1.2).
    fn channel_opened(&mut self, channel: u8, origin: u8);
    /// Channel `channel` was closed.
    fn channel_closed(&mut self, channel: u8);
    /// A whole command (chains joined) on an open channel. May answer any amount of data.
    fn process(&mut self, channel: u8, cmd: &Command) -> Response;
}

/// The transport: implements the vpcd [`Card`] on top of an [`Applet`].
pub struct Transport<A: Applet> {
    applet: A,
    vol: TransportVolatile,
}

impl<A: Applet> Transport<A> {
    /// A powered-off card.
    pub fn new(applet: A) -> Self {
        Transport {
            applet,
            vol: TransportVolatile::default(),
        }
    }

    /// The applet (for tests and inspection).
    pub fn applet(&self) -> &A {
        &self.applet
    }

    /// True if logical channel `ch` is open.
    pub fn is_open(&self, ch: u8) -> bool {
        self.vol
            .channels
            .get(usize::from(ch))
            .is_some_and(|c| c.open)
    }

    fn clear(&mut self) {
        self.vol = TransportVolatile::default();
        self.applet.power_cycle();
    }

    /// Handles one raw command APDU.
    pub fn handle(&mut self, raw: &[u8]) -> Response {
        if raw.len() < 4 {
            return StatusWord::WrongLength.into();
        }
        let cla = Cla(raw[0]);
        let Some(ch) = cla.channel() else {
            // `A0` (GSM 11.11), `FF` (PPS) and the reserved `001x xxxx` classes.
            return StatusWord::ClaNotSupported.into();
        };
        let cmd = match Command::parse(raw) {
            Ok(c) => c,
            Err(sw) => return sw.into(),
        };
        if !self.is_open(ch) {
            return StatusWord::LogicalChannelNotSupported.into();
        }
        let idx = usize::from(ch);
        if cmd.ins == ins::GET_RESPONSE {
            if cla.is_chained() {
                return StatusWord::ChainingNotSupported.into();
            }
            return self.get_response(idx, &cmd);
        }
        // Any other command ends what GET RESPONSE could still fetch (ISO/IEC 7816-4 §5.3.4).
        self.vol.channels[idx].pending.clear();
        if cla.has_secure_messaging() {
            self.vol.channels[idx].chain = None;
            return StatusWord::SecureMessagingNotSupported.into();
        }
        if ins::is_invalid(cmd.ins) {
            self.vol.channels[idx].chain = None;
            return StatusWord::InsNotSupported.into();
        }
        let cmd = match self.chain(idx, cmd) {
            Ok(Some(c)) => c,
            Ok(None) => return Response::sw(StatusWord::Success),
            Err(sw) => return sw.into(),
        };
        if cmd.ins == ins::MANAGE_CHANNEL && !cmd.cla.is_proprietary() {
            return self.manage_channel(ch, &cmd);
        }
        let resp = self.applet.process(ch, &cmd);
        self.deliver(idx, resp, cmd.le)
    }
}

impl<A: Applet> Card for Transport<A> {
    fn power_on(&mut self) {
        self.clear();
    }

    fn power_off(&mut self) {
        self.clear();
    }

    fn reset(&mut self) {
        self.clear();
    }

    fn atr(&self) -> Vec<u8> {
        self.applet.atr()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.handle(apdu).to_bytes()
    }
}

#[cfg(test)]
mod tests;

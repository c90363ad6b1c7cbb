//! What a [`Session`](crate::reader::Session) reports about its traffic to an observer
//! installed when it is opened: each connect, exchange (as it went over the wire, GET
//! RESPONSE rounds and `6Cxx` resends included), failed transmit, reset and power-off.
//!
//! `--record FILE` installs the script recorder (`script::recorder::Recorder`) here;
//! the reader layer knows only this trait.

use crate::errors::CliError;
use crate::reader::trace::Secrecy;

/// An observer of one session's traffic (see the module docs).
pub trait Tap: Send + Sync {
    /// Connected to `reader`; `atr` when pcscd gave it.
    fn connected(&self, reader: &str, atr: Option<&[u8]>);
    /// One command and its raw answer (data and SW), with what the sender marked secret.
    fn exchanged(&self, apdu: &[u8], answer: &[u8], secrecy: Secrecy);
    /// A command that got no answer.
    fn failed(&self, apdu: &[u8], secrecy: Secrecy, error: &CliError);
    /// The card was reset (warm, or cold with `cold`).
    fn reset(&self, cold: bool);
    /// Disconnected unpowering the card.
    fn powered_off(&self);
}

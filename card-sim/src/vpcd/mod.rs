//! The vpcd link (vsmartcard's virtual PC/SC reader driver, see interop.md "vpcd <->
//! virtual card"): TCP framing, control codes, socket options and reconnection.
//! It knows nothing about eUICCs: it drives any [`Card`].
//!
//! - [`frame`]: the 2-byte length framing, as a pure decoder/encoder.
//! - [`socket`]: TCP_NODELAY / TCP_QUICKACK.
//! - [`link`]: connect, serve, reconnect with capped exponential backoff.
//! - [`stale`]: when a fresh link that pcscd ignores (a missed restart) is dropped once.
//! - [`slot_lock`]: one card-sim per slot; who holds a taken one.
//! - [`clients`]: which other vpcd client holds a port (for a link vpcd never polls).

pub mod clients;
pub mod frame;
pub mod link;
pub mod slot_lock;
pub mod socket;
pub mod stale;

pub use link::{run, LinkConfig};

/// What vpcd can ask of a card.
pub trait Card {
    /// Control code `01`.
    fn power_on(&mut self);
    /// Control code `00`; also called when the link drops (the card is "removed").
    fn power_off(&mut self);
    /// Control code `02` (warm reset).
    fn reset(&mut self);
    /// Control code `04`; must not change any state (pcscd polls it every ~400 ms).
    fn atr(&self) -> Vec<u8>;
    /// A command APDU; returns the response APDU (data + SW1 SW2, at least 2 bytes).
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
}

impl<C: Card + ?Sized> Card for Box<C> {
    fn power_on(&mut self) {
        (**self).power_on()
    }
    fn power_off(&mut self) {
        (**self).power_off()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).transmit(apdu)
    }
}

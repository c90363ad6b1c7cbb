//! The PC/SC side of sm-cli: the context and its re-establishment after a pcscd
//! restart ([`context`]), reader choice ([`select`]), the connected card ([`session`]),
//! whole-answer APDU exchange with T=0 rules ([`transport`]), the trace ([`trace`]), an
//! observer of a session's traffic ([`tap`], for `--record`) and a deadline for calls a silent card would block for ever ([`watchdog`]).
//!
//! Nothing above this module touches `pcsc` directly.

pub mod context;
pub mod select;
pub mod session;
pub mod tap;
pub mod trace;
pub mod transport;
pub mod watchdog;

pub use context::Pcsc;
pub use select::ReaderInfo;
pub use session::Session;
pub use tap::Tap;
pub use trace::{Secrecy, Tracer};
pub use transport::{CardLink, Handling};
pub use watchdog::Watchdog;

//! card-sim: a virtual eUICC (GSMA SGP.22 ISD-R on a minimal ETSI TS 102 221 UICC) that
//! plugs into pcscd through vsmartcard's vpcd driver.
//!
//! The layers, outside in (arrows point one way only):
//!
//! ```text
//! vpcd (TCP framing, reconnect) -> transport (channels, chaining, 61xx) -> card (ISD-R, files) -> state
//! ```
//!
//! - [`vpcd`]: the vpcd link; it drives any [`vpcd::Card`] and knows nothing about eUICCs.
//! - [`transport`]: ISO/IEC 7816-4 transport rules; handlers behind it see whole commands.
//! - [`card`]: the eUICC: parse a command into a typed value, check, execute.
//! - [`state`]: persistent state (what survives power loss) and volatile state, with
//!   injected storage.
//! - [`method`]: the device-change method's card side (sessions, keys, CAT questions).
//! - [`log`]: the `-v` APDU log, with secrets redacted.

pub mod card;
pub mod log;
pub mod method;
pub mod pki;
pub mod state;
pub mod transport;
pub mod vpcd;

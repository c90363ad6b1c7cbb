//! The bytes both sides of the virtual eUICC speak, defined once.
//!
//! - [`iso7816`]: command and response APDUs, status words, capped BER-TLV.
//! - [`sgp22`]: the eUICC identifier, STORE DATA segmentation and the ES10 functions.
//! - [`devchange`]: the device-change method's card functions (our protocol).
//! - [`cat`]: the Card Application Toolkit subset the card uses to ask its terminal.
//! - [`crypto`]: the device-change cryptography (KDF, seeded RSA, signatures, sealing).
//! - [`luhn`]: the Luhn check digit of ICCIDs and IMEIs.
//!
//! The APDU script format, which only the client side uses, is its own crate
//! (`apdu-script`).
//!
//! No I/O happens here.

pub mod aka;
pub mod cat;
pub mod crypto;
pub mod devchange;
pub mod error;
pub mod iso7816;
pub mod luhn;
pub mod saip;
pub mod sgp22;

pub use error::{Error, Result};
pub use iso7816::command::{Cla, Command};
pub use iso7816::response::Response;
pub use iso7816::sw::StatusWord;
pub use sgp22::eid::Eid;

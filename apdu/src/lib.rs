//! The bytes both sides of the virtual eUICC speak, defined once.
//!
//! - [`command`], [`response`], [`sw`]: ISO/IEC 7816-4 APDUs and status words.
//! - [`tlv`]: BER-TLV with size and depth caps checked before parsing.
//! - [`store_data`]: STORE DATA segmentation and reassembly (SGP.22 §5.7.2).
//! - [`eid`]: the eUICC identifier and its check digits.
//! - [`es10`]: the SGP.22 ES10 functions, encoders and decoders for card and client.
//!
//! No I/O happens here.

pub mod cat;
pub mod command;
pub mod crypto;
pub mod devchange;
pub mod eid;
pub mod error;
pub mod es10;
pub mod response;
pub mod script;
pub mod store_data;
pub mod sw;
pub mod tlv;

pub use command::{Cla, Command};
pub use eid::Eid;
pub use error::{Error, Result};
pub use response::Response;
pub use sw::StatusWord;

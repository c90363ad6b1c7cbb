//! The LPA side of ES10 (SGP.22 §5.7): a session with the ISD-R over a logical channel
//! ([`session`]) and the typed functions sm-cli uses ([`functions`]). It speaks through
//! the `reader::CardLink` trait, so it is tested with a scripted fake card.

pub mod functions;
pub mod session;

pub use session::{Es10Session, DEFAULT_BLOCK_SIZE};

#[cfg(test)]
mod tests;

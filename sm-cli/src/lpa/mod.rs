//! The LPA side of ES10 (SGP.22 §5.7): a session with the ISD-R over a logical channel
//! ([`session`]) and the typed functions sm-cli uses ([`functions`]). It speaks through
//! the `reader::CardLink` trait, so it is tested with a scripted fake card.
//!
//! The LPA proper (SGP.22 §3.1.3, §3.5): activation codes ([`activation_code`]), the
//! ES10b functions of a download and of notifications ([`es10b`]), ES9+ to an SM-DP+
//! over any `es9p::Es9Transport` ([`es9`]), the download that drives both
//! ([`download`]) and notification processing ([`notifications`]).

pub mod activation_code;
pub mod download;
pub mod es10b;
pub mod es9;
pub mod functions;
pub mod notifications;
pub mod session;

pub use session::{Es10Session, DEFAULT_BLOCK_SIZE};

#[cfg(test)]
mod download_tests;
#[cfg(test)]
mod tests;

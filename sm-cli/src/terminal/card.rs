//! What the terminal needs from the card connection: STORE DATA with the whole status
//! word (the device-change functions answer `91xx`), and single commands (FETCH,
//! TERMINAL RESPONSE). The ES10 session provides both; tests use fakes.

use crate::errors::CliError;
use crate::lpa::Es10Session;
use crate::reader::{CardLink, Secrecy};
use apdu::{Command, Response};

/// A card the terminal runs device-change functions on.
pub trait DcCard {
    /// Sends an encoded device-change message as STORE DATA to the ISD-R (named `what`
    /// in errors); returns the last block's answer and status word.
    fn store_data(
        &mut self,
        what: &str,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Response, CliError>;

    /// Sends one command APDU (following `61xx`); the caller judges the status word.
    fn command(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError>;
}

impl<L: CardLink> DcCard for Es10Session<'_, L> {
    fn store_data(
        &mut self,
        what: &str,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Response, CliError> {
        self.call_status(what, msg, secrecy)
    }

    fn command(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError> {
        self.exchange(cmd, secrecy)
    }
}

//! MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2, ETSI TS 102 221 §11.1.17): open and close
//! logical channels 1-19 (4-19 addressed with the further interindustry class).
//!
//! - `00 70 00 00 01`: the card picks the channel; answer 1 byte + `9000` (lpac).
//! - `00 70 00 0N`: open channel N; answer `9000`, no data (pySim).
//! - `0X 70 80 0N`: close channel N (`P2 = 00`: the channel in CLA).
//!
//! Errors: `6881` a named channel that is not open, `6A86` bad P1/P2 (including channel
//! numbers over 19 and closing the basic channel), `6985` opening a channel already
//! open, `6A81` no free channel, `6700` a data field.

use super::{Applet, Transport};
use crate::state::volatile::{LinkChannel, CHANNELS};
use apdu::{Command, Response, StatusWord};

const P1_OPEN: u8 = 0x00;
const P1_CLOSE: u8 = 0x80;

impl<A: Applet> Transport<A> {
    pub(super) fn manage_channel(&mut self, origin: u8, cmd: &Command) -> Response {
        if !cmd.data.is_empty() {
            return StatusWord::WrongLength.into();
        }
        match (cmd.p1, cmd.p2) {
            (P1_OPEN, 0) => match (1..CHANNELS).find(|&c| !self.vol.channels[c].open) {
                Some(c) => {
                    self.open(c, origin);
                    Response::ok(vec![c as u8])
                }
                None => StatusWord::FunctionNotSupported.into(),
            },
            (P1_OPEN, n) if usize::from(n) < CHANNELS => {
                if self.vol.channels[usize::from(n)].open {
                    StatusWord::ConditionsNotSatisfied.into()
                } else {
                    self.open(usize::from(n), origin);
                    StatusWord::Success.into()
                }
            }
            (P1_CLOSE, 0) if origin == 0 => StatusWord::IncorrectP1P2.into(),
            (P1_CLOSE, 0) => self.close(usize::from(origin)),
            (P1_CLOSE, n) if usize::from(n) < CHANNELS => {
                if self.vol.channels[usize::from(n)].open {
                    self.close(usize::from(n))
                } else {
                    StatusWord::LogicalChannelNotSupported.into()
                }
            }
            _ => StatusWord::IncorrectP1P2.into(),
        }
    }

    fn open(&mut self, ch: usize, origin: u8) {
        self.vol.channels[ch] = LinkChannel {
            open: true,
            ..LinkChannel::default()
        };
        self.applet.channel_opened(ch as u8, origin);
    }

    fn close(&mut self, ch: usize) -> Response {
        self.vol.channels[ch] = LinkChannel::default();
        self.applet.channel_closed(ch as u8);
        StatusWord::Success.into()
    }
}

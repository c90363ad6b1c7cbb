//! An ES10 session with the ISD-R, as lpac opens one (interop.md, "ES10 transport"):
//! TERMINAL CAPABILITY, MANAGE CHANNEL open, SELECT ISD-R on that channel, then each ES10
//! message as STORE DATA blocks (SGP.22 §5.7.2) with the answer reassembled from `61xx`,
//! and MANAGE CHANNEL close at the end (also when dropped).

use crate::errors::{es10_function, CliError};
use crate::reader::transport::{exchange, CardLink, Handling};
use crate::reader::Secrecy;
use apdu::iso7816::ins;
use apdu::sgp22::es10::{Es10Request, ISDR_AID};
use apdu::sgp22::store_data::segment;
use apdu::{Cla, Command, Response, StatusWord};

/// lpac's default STORE DATA block size.
pub const DEFAULT_BLOCK_SIZE: u16 = 120;

/// The data of TERMINAL CAPABILITY as lpac sends it (ETSI TS 102 221 §11.1.19): a
/// terminal capability template `A9` with local LPA supported (`83 01 07`). The answer
/// is ignored, as lpac does.
const TERMINAL_CAPABILITY_DATA: [u8; 10] =
    [0xA9, 0x08, 0x81, 0x00, 0x82, 0x01, 0x01, 0x83, 0x01, 0x07];

/// An open ES10 session on a logical channel with the ISD-R selected.
pub struct Es10Session<'a, L: CardLink> {
    link: &'a mut L,
    channel: u8,
    /// True when we opened the channel (and so must close it).
    owns_channel: bool,
    block_size: usize,
}

fn is_ok(sw: StatusWord) -> bool {
    // lpac takes any SW1 9x as success; 91xx only announces a proactive command.
    matches!(
        sw,
        StatusWord::Success | StatusWord::ProactiveCommandPending(_)
    )
}

impl<'a, L: CardLink> Es10Session<'a, L> {
    /// Opens a channel and selects the ISD-R. Cards without logical channels
    /// (`6881`, `6D00`, `6E00`) are used on the basic channel.
    pub fn open(link: &'a mut L, block_size: usize) -> Result<Self, CliError> {
        let tc = Command::new(0x80, ins::TERMINAL_CAPABILITY, 0x00, 0x00)
            .with_data(TERMINAL_CAPABILITY_DATA.to_vec());
        exchange(link, &tc, Secrecy::Public, Handling::Auto)?;

        let open = Command::new(0x00, ins::MANAGE_CHANNEL, 0x00, 0x00).with_le(1);
        let r = exchange(link, &open, Secrecy::Public, Handling::Auto)?;
        let (channel, owns_channel) = match r.sw {
            StatusWord::Success => match r.data.as_slice() {
                [ch @ 1..=19] => (*ch, true),
                _ => {
                    return Err(CliError::malformed(
                        "MANAGE CHANNEL",
                        "not one channel number 1-19",
                    ))
                }
            },
            StatusWord::LogicalChannelNotSupported
            | StatusWord::InsNotSupported
            | StatusWord::ClaNotSupported => (0, false),
            sw => {
                return Err(CliError::Status {
                    what: "opening a logical channel (MANAGE CHANNEL)".into(),
                    sw,
                })
            }
        };
        let mut session = Es10Session {
            link,
            channel,
            owns_channel,
            block_size,
        };
        session.select_isdr()?;
        Ok(session)
    }

    fn select_isdr(&mut self) -> Result<(), CliError> {
        let cla = Cla::for_channel(false, self.channel).unwrap_or(Cla(0));
        let select = Command::new(cla.0, ins::SELECT, 0x04, 0x00).with_data(ISDR_AID.to_vec());
        let r = exchange(self.link, &select, Secrecy::Public, Handling::Auto)?;
        match r.sw {
            sw if is_ok(sw) => Ok(()),
            sw @ (StatusWord::FileNotFound | StatusWord::FunctionNotSupported) => {
                Err(CliError::NotEuicc(sw))
            }
            sw => Err(CliError::Status {
                what: "selecting the ISD-R".into(),
                sw,
            }),
        }
    }

    /// Sends an ES10 request and returns the whole answer.
    pub fn request(&mut self, req: &Es10Request) -> Result<Vec<u8>, CliError> {
        self.call_with(req.tag(), &req.encode(), Secrecy::Public)
    }

    /// Sends an already encoded ES10 message (function tag `tag`) with the given secrecy:
    /// the hook for functions that carry secrets.
    pub fn call_with(
        &mut self,
        tag: u32,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Vec<u8>, CliError> {
        self.call_status(es10_function(tag), msg, secrecy)
            .map(|r| r.data)
    }

    /// Sends an encoded message (named `what` in errors) and returns the answer of its
    /// last block with the status word, which may be `91xx`: the device-change
    /// functions open a proactive session that way (docs/device-change-protocol.md).
    pub fn call_status(
        &mut self,
        what: &str,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Response, CliError> {
        let blocks = segment(self.channel, msg, self.block_size, false);
        let n = blocks.len();
        let mut answer = Response {
            data: Vec::new(),
            sw: StatusWord::Success,
        };
        for (i, cmd) in blocks.iter().enumerate() {
            let r = exchange(self.link, cmd, secrecy, Handling::Auto)?;
            if !is_ok(r.sw) {
                let what = if n == 1 {
                    what.to_string()
                } else {
                    format!("{what} (STORE DATA block {} of {n})", i + 1)
                };
                return Err(CliError::Status { what, sw: r.sw });
            }
            answer = r;
        }
        Ok(answer)
    }

    /// Sends one more command on the same card (FETCH, TERMINAL RESPONSE), following
    /// `61xx` and `6Cxx`; the caller judges the status word.
    pub fn exchange(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError> {
        exchange(self.link, cmd, secrecy, Handling::Auto)
    }

    /// Closes the channel we opened.
    pub fn close(mut self) -> Result<(), CliError> {
        self.close_channel()
    }

    fn close_channel(&mut self) -> Result<(), CliError> {
        if !self.owns_channel {
            return Ok(());
        }
        self.owns_channel = false;
        let close = Command::new(0x00, ins::MANAGE_CHANNEL, 0x80, self.channel);
        let r = exchange(self.link, &close, Secrecy::Public, Handling::Auto)?;
        if r.sw.is_success() {
            Ok(())
        } else {
            Err(CliError::Status {
                what: "closing the logical channel (MANAGE CHANNEL)".into(),
                sw: r.sw,
            })
        }
    }
}

impl<L: CardLink> Drop for Es10Session<'_, L> {
    fn drop(&mut self) {
        // Best effort on an error path; `close` reports failures.
        let _ = self.close_channel();
    }
}

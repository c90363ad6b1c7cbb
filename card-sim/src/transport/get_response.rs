//! Response delivery and GET RESPONSE (ISO/IEC 7816-4 §5.3.4 / §11.7.1, ETSI TS 102 221
//! §7.3.1.1.4). An answer that fits in 256 bytes (and in Le) goes back at once with its
//! SW: pySim on T=1 never sends GET RESPONSE. A longer one is kept per channel and
//! announced with `61xx`; the client fetches it with `(CLA) C0 00 00 xx`, at most 256
//! bytes per response APDU (lpac's receive buffer is 264 bytes). A GET RESPONSE whose Le
//! is neither `00` nor enough for what is left gets `6Cxx` with the exact length.

use super::{Applet, Transport};
use apdu::{Command, Response, StatusWord};

/// Most data bytes in one response APDU.
pub const MAX_RESPONSE_DATA: usize = 256;

/// `61xx`/`6Cxx` encode 256 as `00`.
fn len_byte(n: usize) -> u8 {
    (n.min(MAX_RESPONSE_DATA) % 256) as u8
}

impl<A: Applet> Transport<A> {
    /// Sends `resp` to a command with Ne `le`, buffering what does not fit.
    pub(super) fn deliver(
        &mut self,
        idx: usize,
        mut resp: Response,
        le: Option<usize>,
    ) -> Response {
        let limit = le.unwrap_or(MAX_RESPONSE_DATA).min(MAX_RESPONSE_DATA);
        if resp.data.len() <= limit {
            return resp;
        }
        if resp.sw != StatusWord::Success {
            // Only normal answers are buffered; anything else is cut to what fits.
            resp.data.truncate(limit);
            return resp;
        }
        let n = resp.data.len();
        self.vol.channels[idx].pending = resp.data;
        StatusWord::BytesAvailable(len_byte(n)).into()
    }

    /// GET RESPONSE on channel `idx`.
    pub(super) fn get_response(&mut self, idx: usize, cmd: &Command) -> Response {
        let pending = &mut self.vol.channels[idx].pending;
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return StatusWord::IncorrectP1P2.into();
        }
        if !cmd.data.is_empty() {
            return StatusWord::WrongLength.into();
        }
        if pending.is_empty() {
            return StatusWord::ConditionsNotSatisfied.into();
        }
        let avail = pending.len();
        // No Le is P3 = 00 under T=0: "up to 256".
        let le = cmd.le.unwrap_or(MAX_RESPONSE_DATA);
        let n = if le >= MAX_RESPONSE_DATA {
            avail.min(MAX_RESPONSE_DATA)
        } else if le > avail {
            return StatusWord::WrongLe(len_byte(avail)).into();
        } else {
            le
        };
        let data: Vec<u8> = pending.drain(..n).collect();
        let sw = match pending.len() {
            0 => StatusWord::Success,
            left => StatusWord::BytesAvailable(len_byte(left)),
        };
        Response { data, sw }
    }
}

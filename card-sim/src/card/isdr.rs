//! STORE DATA into the ISD-R (SGP.22 §5.7.2, GlobalPlatform 2.3 §11.11): blocks are
//! joined per channel by `apdu::sgp22::store_data::Reassembler` (any block size; out-of-order
//! blocks `6A86`), intermediate blocks answer `9000`, the last one runs the ES10
//! function and answers its response with `9000` (never `91xx`: lpac does not FETCH).
//! Messages with our device-change tags (`BF66`-`BF6C`) go to [`super::devchange`].

use super::Euicc;
use apdu::{Response, StatusWord};

impl Euicc {
    pub(super) fn store_data(
        &mut self,
        ch: usize,
        p1: u8,
        block: u8,
        data: &[u8],
    ) -> Result<Response, StatusWord> {
        let reassembler = &mut self.vol.channels[ch].store_data;
        match reassembler.push(p1, block, data)? {
            None => Ok(Response::sw(StatusWord::Success)),
            Some(message) if super::devchange::is_devchange(&message) => self.devchange(&message),
            Some(message) => self.es10(&message).map(Response::ok),
        }
    }
}

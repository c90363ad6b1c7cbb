//! Response APDUs (ISO/IEC 7816-4 §5.1): a data field and a status word.

use crate::iso7816::sw::StatusWord;
use std::fmt;

/// A response APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response {{ {} data bytes, {} }}",
            self.data.len(),
            self.sw
        )
    }
}

impl Response {
    /// Data and `9000`.
    pub fn ok(data: impl Into<Vec<u8>>) -> Self {
        Response {
            data: data.into(),
            sw: StatusWord::Success,
        }
    }

    /// A bare status word.
    pub fn sw(sw: StatusWord) -> Self {
        Response {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits a received response APDU; `None` when shorter than the two SW bytes.
    pub fn parse(b: &[u8]) -> Option<Response> {
        let n = b.len().checked_sub(2)?;
        Some(Response {
            data: b[..n].to_vec(),
            sw: StatusWord::from_bytes(b[n], b[n + 1]),
        })
    }

    /// Data followed by SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

impl From<StatusWord> for Response {
    fn from(sw: StatusWord) -> Self {
        Response::sw(sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_encode() {
        let r = Response::parse(&[0x01, 0x90, 0x00]).unwrap();
        assert_eq!(r, Response::ok(vec![0x01]));
        assert_eq!(r.to_bytes(), vec![0x01, 0x90, 0x00]);
        assert_eq!(Response::parse(&[0x90]), None);
        assert_eq!(
            Response::parse(&[0x6A, 0x82]).unwrap().sw,
            StatusWord::FileNotFound
        );
    }
}

//! vpcd framing: every message is a 2-byte big-endian length and a payload. A 1-byte
//! payload is a control code (`00` off, `01` on, `02` reset, `04` get ATR); anything
//! else is a command APDU. [`Decoder`] is pure (no I/O) so it can be fed partial reads.

/// Largest payload we accept; larger frames are skipped and answered `6700`.
/// (A short APDU is at most 261 bytes; the cap leaves room for extended ones.)
pub const MAX_FRAME: usize = 32 * 1024 + 16;

/// Control codes (vsmartcard vpcd).
pub const POWER_OFF: u8 = 0x00;
pub const POWER_ON: u8 = 0x01;
pub const RESET: u8 = 0x02;
pub const GET_ATR: u8 = 0x04;

/// One message from vpcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A 1-byte control code.
    Control(u8),
    /// A command APDU (possibly empty or garbage: the transport judges it).
    Apdu(Vec<u8>),
    /// A frame over [`MAX_FRAME`], skipped; holds its announced length.
    Oversized(usize),
}

/// Splits a byte stream into messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of an oversized frame still to throw away.
    skip: usize,
}

impl Decoder {
    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if one has arrived.
    pub fn next_message(&mut self) -> Option<Message> {
        if self.skip > 0 || self.buf.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
        if len > MAX_FRAME {
            let have = self.buf.len() - 2;
            let drop = have.min(len);
            self.skip = len - drop;
            self.buf.drain(..2 + drop);
            return Some(Message::Oversized(len));
        }
        if self.buf.len() < 2 + len {
            return None;
        }
        let payload: Vec<u8> = self.buf.drain(..2 + len).skip(2).collect();
        Some(match payload.as_slice() {
            [code] => Message::Control(*code),
            _ => Message::Apdu(payload),
        })
    }
}

/// Frames a payload (a response APDU or an ATR). Payloads over 65535 bytes are cut,
/// which never happens: responses are at most 258 bytes and ATRs 33.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let n = payload.len().min(usize::from(u16::MAX));
    let mut out = Vec::with_capacity(n + 2);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&payload[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_and_control_codes() {
        let mut d = Decoder::default();
        let stream = [0x00, 0x01, 0x04, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00];
        for b in stream {
            d.push(&[b]);
        }
        assert_eq!(d.next_message(), Some(Message::Control(GET_ATR)));
        assert_eq!(
            d.next_message(),
            Some(Message::Apdu(vec![0x00, 0xA4, 0x04, 0x00, 0x00]))
        );
        assert_eq!(d.next_message(), None);
    }

    #[test]
    fn empty_frame_is_an_empty_apdu() {
        let mut d = Decoder::default();
        d.push(&[0, 0, 0, 1, 1]);
        assert_eq!(d.next_message(), Some(Message::Apdu(vec![])));
        assert_eq!(d.next_message(), Some(Message::Control(POWER_ON)));
    }

    #[test]
    fn oversized_frames_are_skipped_and_the_stream_resyncs() {
        let mut d = Decoder::default();
        let big = MAX_FRAME + 10;
        d.push(&(big as u16).to_be_bytes());
        d.push(&[0xEE; 100]);
        assert_eq!(d.next_message(), Some(Message::Oversized(big)));
        d.push(&vec![0xEE; big - 100]);
        assert_eq!(d.next_message(), None);
        d.push(&[0, 1, 0]);
        assert_eq!(d.next_message(), Some(Message::Control(POWER_OFF)));
    }

    #[test]
    fn encode_prefixes_length() {
        assert_eq!(encode(&[0x90, 0x00]), vec![0, 2, 0x90, 0x00]);
        assert_eq!(encode(&[]), vec![0, 0]);
    }
}

//! GlobalPlatform STORE DATA as SGP.22 §5.7.2 uses it to carry ES10 messages:
//! CLA `80|channel`, INS `E2`, P1 `11` (more blocks) or `91` (last block), P2 the block
//! number from 0. [`segment`] splits a message for the client side (block size 6..=255,
//! as lpac's option); [`Reassembler`] joins the blocks on the card side.

use crate::iso7816::command::{Cla, Command};
use crate::iso7816::sw::StatusWord;

/// INS of STORE DATA, from the one table.
pub use crate::iso7816::ins::STORE_DATA as INS_STORE_DATA;
/// P1 of a block that is followed by more.
pub const P1_MORE: u8 = 0x11;
/// P1 of the last block.
pub const P1_LAST: u8 = 0x91;
/// Smallest and largest block sizes a client may choose.
pub const BLOCK_SIZES: std::ops::RangeInclusive<usize> = 6..=255;
/// Largest message the card accepts in one STORE DATA sequence.
pub const MAX_MESSAGE: usize = 32 * 1024;

/// Splits `message` into STORE DATA commands for `channel`. `block` is clamped to
/// [`BLOCK_SIZES`] and raised when the message would need more than 256 blocks. With `le` set, each command carries `Le = 00` (as pySim sends).
pub fn segment(channel: u8, message: &[u8], block: usize, le: bool) -> Vec<Command> {
    // P2 numbers blocks in one byte: a message that would need more than 256 blocks
    // gets blocks just large enough to fit in 256.
    let block = block
        .clamp(*BLOCK_SIZES.start(), *BLOCK_SIZES.end())
        .max(message.len().div_ceil(256));
    let cla = Cla::for_channel(true, channel).unwrap_or(Cla(0x80));
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![&[][..]]
    } else {
        message.chunks(block).collect()
    };
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let p1 = if i + 1 == n { P1_LAST } else { P1_MORE };
            let mut cmd = Command {
                cla,
                ins: INS_STORE_DATA,
                p1,
                p2: (i % 256) as u8,
                data: c.to_vec(),
                le: None,
            };
            if le {
                cmd.le = Some(256);
            }
            cmd
        })
        .collect()
}

/// Joins STORE DATA blocks. One per logical channel on the card.
#[derive(Debug, Default, Clone)]
pub struct Reassembler {
    buf: Vec<u8>,
    next_block: u16,
}

impl Reassembler {
    /// Adds a block. Returns the whole message after the last block, `None` while more
    /// blocks are expected, or the SW to answer: `6A86` for a bad P1 or a block out of
    /// sequence, `6A84` for a message over [`MAX_MESSAGE`]. On error the sequence restarts.
    pub fn push(&mut self, p1: u8, p2: u8, data: &[u8]) -> Result<Option<Vec<u8>>, StatusWord> {
        // P1 b5-b4 = 01: BER-TLV data structure; b8: last block; other bits as lpac and
        // pySim send them (b1 set).
        if p1 & 0x7F != P1_MORE & 0x7F && p1 & 0x7F != 0x10 {
            self.clear();
            return Err(StatusWord::IncorrectP1P2);
        }
        if u16::from(p2) != self.next_block {
            // A new sequence may start at block 0 at any time (a client gave up midway).
            if p2 != 0 {
                self.clear();
                return Err(StatusWord::IncorrectP1P2);
            }
            self.clear();
        }
        if self.buf.len() + data.len() > MAX_MESSAGE {
            self.clear();
            return Err(StatusWord::NotEnoughMemory);
        }
        self.buf.extend_from_slice(data);
        if p1 & 0x80 != 0 {
            self.next_block = 0;
            return Ok(Some(std::mem::take(&mut self.buf)));
        }
        if self.next_block == 255 {
            self.clear();
            return Err(StatusWord::IncorrectP1P2);
        }
        self.next_block += 1;
        Ok(None)
    }

    /// True while a sequence is in progress.
    pub fn in_progress(&self) -> bool {
        self.next_block != 0
    }

    /// Drops a partial sequence.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.next_block = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lpac_framing() {
        let msg = hex::decode("BF3E035C015A").unwrap();
        let cmds = segment(1, &msg, 120, false);
        assert_eq!(cmds.len(), 1);
        assert_eq!(
            hex::encode_upper(cmds[0].to_bytes().unwrap()),
            "81E2910006BF3E035C015A"
        );
        let cmds = segment(0, &msg, 120, true);
        assert_eq!(
            hex::encode_upper(cmds[0].to_bytes().unwrap()),
            "80E2910006BF3E035C015A00"
        );
    }

    #[test]
    fn segments_reassemble_for_every_block_size() {
        let msg: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
        for bs in BLOCK_SIZES {
            let cmds = segment(2, &msg, bs, false);
            assert_eq!(cmds.len(), msg.len().div_ceil(bs));
            let mut r = Reassembler::default();
            let mut out = None;
            for (i, c) in cmds.iter().enumerate() {
                assert_eq!(c.p2 as usize, i);
                assert_eq!(c.cla, Cla(0x82));
                out = r.push(c.p1, c.p2, &c.data).unwrap();
                assert_eq!(out.is_some(), i + 1 == cmds.len());
            }
            assert_eq!(out.unwrap(), msg);
            assert!(!r.in_progress());
        }
    }

    #[test]
    fn never_more_than_256_blocks() {
        let msg = vec![0x5A; 4000];
        let cmds = segment(0, &msg, 6, false);
        assert!(cmds.len() <= 256);
        let mut r = Reassembler::default();
        let mut out = None;
        for c in &cmds {
            out = r.push(c.p1, c.p2, &c.data).unwrap();
        }
        assert_eq!(out.unwrap(), msg);
    }

    #[test]
    fn out_of_sequence_and_bad_p1() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(0x11, 0, b"ab"), Ok(None));
        assert_eq!(r.push(0x11, 2, b"cd"), Err(StatusWord::IncorrectP1P2));
        assert!(!r.in_progress());
        assert_eq!(r.push(0x01, 0, b"ab"), Err(StatusWord::IncorrectP1P2));
        // Restart at block 0 drops the partial message.
        assert_eq!(r.push(0x11, 0, b"xx"), Ok(None));
        assert_eq!(r.push(0x91, 0, b"ab"), Ok(Some(b"ab".to_vec())));
    }

    #[test]
    fn size_cap() {
        let mut r = Reassembler::default();
        let block = vec![0u8; 255];
        let mut err = None;
        for i in 0..=255u8 {
            if let Err(e) = r.push(0x11, i, &block) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(StatusWord::NotEnoughMemory));
    }
}

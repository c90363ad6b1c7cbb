//! `#! channel N`: how the replay puts the current logical channel into CLA.
//!
//! ISO/IEC 7816-4 §5.4.1 (and GlobalPlatform for the proprietary `8x`/`Cx` classes):
//! the first interindustry coding (`000x xxxx`, proprietary `100x xxxx`) carries
//! channels 0-3 in b2-b1, chaining in b5 and secure messaging in b4-b3; the further
//! coding (`01xx xxxx`, proprietary `11xx xxxx`) carries channels 4-19 as N-4 in b4-b1,
//! chaining in b5 and SM in b6 (only "SM, header not authenticated").
//!
//! Rule: a command whose CLA, as written, addresses channel 0 (first coding, b2-b1 = 0)
//! is sent on the current channel; the proprietary, chaining and SM bits are kept. Any
//! other CLA (already naming a channel, or without channel coding such as `A0`) is sent
//! as written. So `#! channel 0` restores "as written".

use apdu::iso7816::command::{Cla, ClaKind};
use thiserror::Error;

/// Why a command cannot be moved to the current channel.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChannelError {
    #[error("logical channel {0} does not exist (0-19)")]
    NoSuchChannel(u8),
    #[error("CLA {cla:02X} uses secure messaging that the class coding of channel {channel} cannot express")]
    SecureMessaging { cla: u8, channel: u8 },
}

/// Puts `channel` into the CLA of `command` (its first byte) following the rule above.
/// Returns whether the byte changed. An empty command is left alone.
pub fn apply_channel(command: &mut [u8], channel: u8) -> Result<bool, ChannelError> {
    if channel > crate::limits::MAX_CHANNEL {
        return Err(ChannelError::NoSuchChannel(channel));
    }
    let Some(cla) = command.first_mut() else {
        return Ok(false);
    };
    let c = Cla(*cla);
    if c.kind() != ClaKind::First || c.channel() != Some(0) || channel == 0 {
        return Ok(false);
    }
    let proprietary = *cla & 0x80;
    let chaining = *cla & 0x10;
    let sm = (*cla >> 2) & 0x03;
    let new = if channel <= 3 {
        *cla | channel
    } else {
        // Further coding has one SM bit, meaning what b4-b3 = 10 means in the first.
        let sm_bit = match sm {
            0b00 => 0x00,
            0b10 => 0x20,
            _ => return Err(ChannelError::SecureMessaging { cla: *cla, channel }),
        };
        proprietary | 0x40 | sm_bit | chaining | (channel - 4)
    };
    *cla = new;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(cla: u8, ch: u8) -> Result<u8, ChannelError> {
        let mut b = [cla, 0xA4, 0x04, 0x00];
        apply_channel(&mut b, ch).map(|_| b[0])
    }

    #[test]
    fn channel_zero_commands_move() {
        assert_eq!(on(0x00, 1), Ok(0x01));
        assert_eq!(on(0x80, 3), Ok(0x83));
        assert_eq!(on(0x90, 2), Ok(0x92)); // chaining kept
        assert_eq!(on(0x00, 4), Ok(0x40));
        assert_eq!(on(0x80, 19), Ok(0xCF));
        assert_eq!(on(0x90, 5), Ok(0xD1));
        assert_eq!(on(0x08, 4), Ok(0x60)); // SM "10" becomes b6
        assert_eq!(on(0x0C, 2), Ok(0x0E));
        for ch in 0..=19 {
            assert_eq!(Cla(on(0x80, ch).unwrap()).channel(), Some(ch));
        }
    }

    #[test]
    fn other_classes_stay() {
        assert_eq!(on(0x81, 2), Ok(0x81)); // already names channel 1
        assert_eq!(on(0xA0, 2), Ok(0xA0)); // GSM class has no channel
        assert_eq!(on(0x40, 2), Ok(0x40)); // further coding names channel 4
        assert_eq!(on(0xFF, 1), Ok(0xFF));
        assert_eq!(on(0x80, 0), Ok(0x80));
        let mut empty: [u8; 0] = [];
        assert_eq!(apply_channel(&mut empty, 1), Ok(false));
    }

    #[test]
    fn impossible_moves_fail() {
        assert_eq!(on(0x00, 20), Err(ChannelError::NoSuchChannel(20)));
        assert!(matches!(
            on(0x04, 4),
            Err(ChannelError::SecureMessaging { .. })
        ));
        assert!(matches!(
            on(0x0C, 7),
            Err(ChannelError::SecureMessaging { .. })
        ));
    }
}

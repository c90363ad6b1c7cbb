//! What of an exchange a card-side recording hides ([`Masker`]), decided from the
//! command bytes alone, per logical channel (ISO/IEC 7816-4 §5.4.1 channel in CLA):
//!
//! - PIN commands (ETSI TS 102 221 §11.1.9-11.1.13: VERIFY PIN `20`, CHANGE PIN `24`,
//!   DISABLE PIN `26`, ENABLE PIN `28`, UNBLOCK PIN `2C`): the command data (PIN, PUK).
//! - AUTHENTICATE (`88`/`89`, TS 102 221 §11.1.16, TS 31.102 §7.1.2): the answer data
//!   (RES, CK, IK, Kc, or AUTS), also when GET RESPONSE fetches it.
//! - TERMINAL RESPONSE (`14`, TS 102 223 §6.8): the typed text (the hidden key-generation
//!   parameter of the device-change flows); the TLVs around it stay.
//! - STORE DATA (`E2`, proprietary class, GlobalPlatform §11.11 / SGP.22 §5.7.2): a
//!   message is public when its first tag (in the block with P2 = 00) is an ES10
//!   request (`apdu::sgp22::es10::tags`), an ES10b request (`apdu::sgp22::es10b::tags`,
//!   whose fields are signed or ES8+-encrypted data every LPA relays in the clear), or a
//!   LoadBoundProfilePackage segment after a `BF36` on the same channel (lpac's cut:
//!   `A0`, `A1`, `88`, `A2`, `A3`, `86`, SGP.22 §5.7.6). Any other message (the
//!   device-change functions `BF66`-`BF6C`, unknown tags), which the card's `-v` log
//!   redacts too (`crate::log`), has its command data and its answer data hidden.
//!
//! The BPP is kept so that a download replays; it is SCP03t ciphertext under session
//! keys from the card's one-time key, so a recording of a card run with `--seed` is as
//! secret as that seed (the header says so).

use crate::state::volatile::CHANNELS;
use apdu::iso7816::{ins, tlv};
use apdu::sgp22::{es10, es10b};
use apdu::{Cla, Command};

/// What of one exchange the recording hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Secrecy {
    /// The command's data field (or, for a TERMINAL RESPONSE, its typed text).
    pub command: bool,
    /// The answer's data (the SW stays).
    pub answer: bool,
}

impl Secrecy {
    const PUBLIC: Secrecy = Secrecy {
        command: false,
        answer: false,
    };
    const COMMAND: Secrecy = Secrecy {
        command: true,
        answer: false,
    };
    const ANSWER: Secrecy = Secrecy {
        command: false,
        answer: true,
    };
    const BOTH: Secrecy = Secrecy {
        command: true,
        answer: true,
    };
}

/// VERIFY PIN, CHANGE PIN, DISABLE PIN, ENABLE PIN, UNBLOCK PIN (TS 102 221 §11.1.9-13).
const PIN_INS: [u8; 5] = [
    ins::VERIFY,
    ins::CHANGE_REFERENCE_DATA,
    ins::DISABLE_VERIFICATION,
    ins::ENABLE_VERIFICATION,
    ins::UNBLOCK_PIN,
];
/// AUTHENTICATE with the even and the odd instruction byte (TS 102 221 §11.1.16).
const AUTHENTICATE_INS: [u8; 2] = [ins::AUTHENTICATE, ins::AUTHENTICATE | 1];
/// The children of a BoundProfilePackage lpac sends as messages of their own after the
/// `BF36` header (SGP.22 §5.7.6; docs/interop-results.md, "BF36 as lpac sends it").
const BPP_SEGMENT_TAGS: [u32; 6] = [0xA0, 0xA1, 0x88, 0xA2, 0xA3, 0x86];

/// Per-channel state of the decision (module docs).
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// The STORE DATA message in progress is secret (`None`: no message start seen).
    message_secret: [Option<bool>; CHANNELS],
    /// A LoadBoundProfilePackage is in progress (a `BF36` message came last).
    in_bpp: [bool; CHANNELS],
    /// The answer GET RESPONSE still fetches belongs to a command with a secret answer.
    answer_secret: [bool; CHANNELS],
}

impl Masker {
    /// Power off/on or reset: every channel's state is gone (as the card's).
    pub fn forget(&mut self) {
        *self = Masker::default();
    }

    /// What of `apdu` and its answer to hide.
    pub fn secrecy(&mut self, apdu: &[u8]) -> Secrecy {
        let (Some(&cla), Some(&ins)) = (apdu.first(), apdu.get(1)) else {
            return Secrecy::PUBLIC;
        };
        let Some(ch) = Cla(cla).channel().map(usize::from) else {
            return Secrecy::PUBLIC;
        };
        if ins == ins::GET_RESPONSE {
            return Secrecy {
                command: false,
                answer: self.answer_secret[ch],
            };
        }
        let s = if ins == ins::TERMINAL_RESPONSE || PIN_INS.contains(&ins) {
            Secrecy::COMMAND
        } else if AUTHENTICATE_INS.contains(&ins) {
            Secrecy::ANSWER
        } else if ins == ins::STORE_DATA && cla & 0x80 != 0 {
            self.store_data(ch, apdu)
        } else {
            Secrecy::PUBLIC
        };
        self.answer_secret[ch] = s.answer;
        s
    }

    /// A STORE DATA block on channel `ch` (module docs).
    fn store_data(&mut self, ch: usize, apdu: &[u8]) -> Secrecy {
        if apdu.get(3) == Some(&0) {
            let data = Command::parse(apdu).map(|c| c.data).unwrap_or_default();
            let tag = tlv::read_tag(&data, 0).ok().map(|(t, _, _)| t);
            let public = match tag {
                Some(es10b::tags::BOUND_PROFILE_PACKAGE) => {
                    self.in_bpp[ch] = true;
                    true
                }
                Some(t) if self.in_bpp[ch] && BPP_SEGMENT_TAGS.contains(&t) => true,
                Some(t) => {
                    self.in_bpp[ch] = false;
                    es10::tags::ALL.contains(&t) || es10b::tags::name(t).is_some()
                }
                None => {
                    self.in_bpp[ch] = false;
                    false
                }
            };
            self.message_secret[ch] = Some(!public);
        }
        match self.message_secret[ch] {
            Some(false) => Secrecy::PUBLIC,
            // A later block of a secret message, or of one whose start was not seen.
            _ => Secrecy::BOTH,
        }
    }
}

//! The card side of LoadBoundProfilePackage (SGP.22 v2.x §5.7.6, §2.5.4): a streaming
//! parser fed one ES10b message at a time, in lpac's cut (see [`super::structure`]), that
//! checks the order and framing of every segment, verifies and decrypts it with SCP03t,
//! and yields a typed [`BppEvent`]. Parse-then-execute: the loader only reads; the caller
//! acts on the events. Any refusal is final: the loader then refuses every later segment.

use super::keys::SessionKeys;
use super::scp03t::{Scp03t, MAX_RECEIVE_SEGMENT};
use super::structure::{header, raw_children, InitialiseSecureChannel};
use super::{BppCommandId, BppError, ErrorReason};
use crate::iso7816::tlv;
use zeroize::Zeroizing;

/// Largest A0 / A2 message (several 87 segments in one STORE DATA message).
pub const MAX_SEQUENCE_MESSAGE: usize = 8 * MAX_RECEIVE_SEGMENT;
/// Largest first message (BF36 header and BF23).
pub const MAX_ISC_MESSAGE: usize = 1024;

/// What one segment carried, verified and decrypted. `Debug` leaves out the profile
/// element data (it holds keys such as Ki).
pub enum BppEvent {
    /// The BF23 (the BF36 header came with it). The caller checks transactionId and
    /// smdpSign ([`InitialiseSecureChannel::signed_data`]) and then calls
    /// [`BppLoader::establish`] before the next segment.
    InitialiseSecureChannel(InitialiseSecureChannel),
    /// ConfigureISDPRequest (BF24), decrypted (all 87 segments of A0 joined).
    ConfigureIsdp(Zeroizing<Vec<u8>>),
    /// The A1 header: the 88 segments follow.
    StoreMetadataStart,
    /// One 88 segment's data, MAC verified; joined, the 88s give StoreMetadataRequest
    /// (BF25). `last` marks the final one.
    StoreMetadata { data: Vec<u8>, last: bool },
    /// ReplaceSessionKeys (A2) verified, decrypted and applied: the 86 segments now use
    /// the profile protection keys, counter from 1.
    ReplaceSessionKeys,
    /// The A3 header: the 86 segments follow.
    ProfileElementsStart,
    /// One 86 segment decrypted (a piece of the profile package). `last` ends the BPP.
    ProfileElementSegment {
        data: Zeroizing<Vec<u8>>,
        last: bool,
    },
}

impl std::fmt::Debug for BppEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BppEvent::InitialiseSecureChannel(i) => write!(f, "InitialiseSecureChannel({i:?})"),
            BppEvent::ConfigureIsdp(c) => write!(f, "ConfigureIsdp({})", hex::encode(&c[..])),
            BppEvent::StoreMetadataStart => f.write_str("StoreMetadataStart"),
            BppEvent::StoreMetadata { data, last } => {
                write!(f, "StoreMetadata({}, last: {last})", hex::encode(data))
            }
            BppEvent::ReplaceSessionKeys => f.write_str("ReplaceSessionKeys"),
            BppEvent::ProfileElementsStart => f.write_str("ProfileElementsStart"),
            BppEvent::ProfileElementSegment { data, last } => write!(
                f,
                "ProfileElementSegment(<{} bytes redacted>, last: {last})",
                data.len()
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    AwaitKeys,
    ExpectA0,
    ExpectA1,
    In88 { left: usize },
    ExpectA2OrA3,
    ExpectA3,
    In86 { left: usize },
    Done,
    Dead,
}

/// The card's BPP reader for one LoadBoundProfilePackage.
#[derive(Debug)]
pub struct BppLoader {
    stage: Stage,
    /// BF36 value bytes not yet received.
    bpp_left: usize,
    scp: Option<Scp03t>,
}

impl Default for BppLoader {
    fn default() -> Self {
        Self::new()
    }
}

/// The step a segment starting with `first` belongs to, for error reports.
fn command_of(first: Option<&u8>, stage: Stage) -> BppCommandId {
    match (first, stage) {
        (Some(0xBF), _) => BppCommandId::InitialiseSecureChannel,
        (Some(0xA0), _) => BppCommandId::ConfigureIsdp,
        (Some(0xA1 | 0x88), _) => BppCommandId::StoreMetadata,
        (Some(0xA2), _) => BppCommandId::ReplaceSessionKeys,
        (Some(0xA3 | 0x86), _) => BppCommandId::LoadProfileElements,
        (_, Stage::Start | Stage::AwaitKeys) => BppCommandId::InitialiseSecureChannel,
        (_, Stage::ExpectA0) => BppCommandId::ConfigureIsdp,
        (_, Stage::ExpectA1 | Stage::In88 { .. }) => BppCommandId::StoreMetadata,
        _ => BppCommandId::LoadProfileElements,
    }
}

impl BppLoader {
    pub fn new() -> Self {
        BppLoader {
            stage: Stage::Start,
            bpp_left: 0,
            scp: None,
        }
    }

    /// Whether the last 86 segment has been accepted.
    pub fn is_complete(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Installs the session keys derived for the BF23 just yielded.
    pub fn establish(&mut self, keys: &SessionKeys) -> Result<(), BppError> {
        if self.stage != Stage::AwaitKeys {
            return Err(self.fail(
                BppCommandId::InitialiseSecureChannel,
                ErrorReason::IncorrectInputValues,
            ));
        }
        self.scp = Some(Scp03t::new(keys));
        self.stage = Stage::ExpectA0;
        Ok(())
    }

    fn fail(&mut self, command: BppCommandId, reason: ErrorReason) -> BppError {
        self.stage = Stage::Dead;
        self.scp = None;
        BppError::new(command, reason)
    }

    /// Takes the next message. Errors are final (see the module doc).
    pub fn feed(&mut self, seg: &[u8]) -> Result<BppEvent, BppError> {
        let stage = self.stage;
        let r = self.step(seg);
        r.map_err(|reason| self.fail(command_of(seg.first(), stage), reason))
    }

    /// Counts `n` bytes of the BF36 value as received.
    fn consume(&mut self, n: usize) -> Result<(), ErrorReason> {
        self.bpp_left = self
            .bpp_left
            .checked_sub(n)
            .ok_or(ErrorReason::Scp03tStructureError)?;
        Ok(())
    }

    fn scp(&mut self) -> Result<&mut Scp03t, ErrorReason> {
        self.scp.as_mut().ok_or(ErrorReason::IncorrectInputValues)
    }

    fn step(&mut self, seg: &[u8]) -> Result<BppEvent, ErrorReason> {
        use ErrorReason::{IncorrectInputValues as Input, Scp03tStructureError as Structure};
        let (tag, h, len) = header(seg).map_err(|_| match self.stage {
            Stage::Start => Input,
            _ => Structure,
        })?;
        match (self.stage, tag) {
            (Stage::Start, 0xBF36) => {
                if seg.len() > MAX_ISC_MESSAGE {
                    return Err(Input);
                }
                let isc_bytes = &seg[h..];
                let isc = InitialiseSecureChannel::decode(isc_bytes).map_err(|e| e.reason)?;
                self.bpp_left = len;
                self.consume(isc_bytes.len()).map_err(|_| Input)?;
                self.stage = Stage::AwaitKeys;
                Ok(BppEvent::InitialiseSecureChannel(isc))
            }
            (Stage::ExpectA0, 0xA0) => {
                let segs = self.sequence(seg, h, len, 0x87)?;
                let mut plain = Zeroizing::new(Vec::new());
                for s in segs {
                    let p = self
                        .scp()?
                        .unwrap(s, 0x87, true, BppCommandId::ConfigureIsdp);
                    plain.extend_from_slice(&p.map_err(|e| e.reason)?);
                }
                if tlv::parse_expect(&plain, 0xBF24).is_err() {
                    return Err(Input);
                }
                self.stage = Stage::ExpectA1;
                Ok(BppEvent::ConfigureIsdp(plain))
            }
            (Stage::ExpectA1, 0xA1) => {
                self.sequence_header(seg, h, len)?;
                self.stage = Stage::In88 { left: len };
                Ok(BppEvent::StoreMetadataStart)
            }
            (Stage::In88 { left }, 0x88) => {
                let left = left.checked_sub(seg.len()).ok_or(Structure)?;
                self.consume(seg.len())?;
                let p = self
                    .scp()?
                    .unwrap(seg, 0x88, false, BppCommandId::StoreMetadata);
                let data = p.map_err(|e| e.reason)?.to_vec();
                self.stage = if left == 0 {
                    Stage::ExpectA2OrA3
                } else {
                    Stage::In88 { left }
                };
                Ok(BppEvent::StoreMetadata {
                    data,
                    last: left == 0,
                })
            }
            (Stage::ExpectA2OrA3, 0xA2) => {
                let segs = self.sequence(seg, h, len, 0x87)?;
                let mut plain = Zeroizing::new(Vec::new());
                for s in segs {
                    let p = self
                        .scp()?
                        .unwrap(s, 0x87, true, BppCommandId::ReplaceSessionKeys);
                    plain.extend_from_slice(&p.map_err(|e| e.reason)?);
                }
                let ppk = decode_replace_session_keys(&plain).ok_or(Input)?;
                self.scp = Some(Scp03t::new(&ppk));
                // A second A2 is refused: the next message must be A3.
                self.stage = Stage::ExpectA3;
                Ok(BppEvent::ReplaceSessionKeys)
            }
            (Stage::ExpectA2OrA3 | Stage::ExpectA3, 0xA3) => {
                self.sequence_header(seg, h, len)?;
                if self.bpp_left != len || len == 0 {
                    return Err(Structure);
                }
                self.stage = Stage::In86 { left: len };
                Ok(BppEvent::ProfileElementsStart)
            }
            (Stage::In86 { left }, 0x86) => {
                let left = left.checked_sub(seg.len()).ok_or(Structure)?;
                self.consume(seg.len())?;
                let p = self
                    .scp()?
                    .unwrap(seg, 0x86, true, BppCommandId::LoadProfileElements);
                let data = p.map_err(|e| e.reason)?;
                self.stage = if left == 0 {
                    self.scp = None;
                    Stage::Done
                } else {
                    Stage::In86 { left }
                };
                Ok(BppEvent::ProfileElementSegment {
                    data,
                    last: left == 0,
                })
            }
            (Stage::Start | Stage::AwaitKeys, _) => Err(Input),
            _ => Err(Structure),
        }
    }

    /// A header-only message (A1, A3): exactly the tag and length, children to follow.
    fn sequence_header(&mut self, seg: &[u8], h: usize, len: usize) -> Result<(), ErrorReason> {
        if seg.len() != h || len == 0 {
            return Err(ErrorReason::Scp03tStructureError);
        }
        self.consume(h)?;
        if self.bpp_left < len {
            return Err(ErrorReason::Scp03tStructureError);
        }
        Ok(())
    }

    /// A whole A0 / A2 message: its children, all with tag `child`, at least one.
    fn sequence<'a>(
        &mut self,
        seg: &'a [u8],
        h: usize,
        len: usize,
        child: u32,
    ) -> Result<Vec<&'a [u8]>, ErrorReason> {
        let structure = ErrorReason::Scp03tStructureError;
        if seg.len() > MAX_SEQUENCE_MESSAGE || h + len != seg.len() {
            return Err(structure);
        }
        self.consume(seg.len())?;
        let kids = raw_children(&seg[h..]).map_err(|_| structure)?;
        if kids.is_empty()
            || kids
                .iter()
                .any(|k| k.first().map(|&t| t as u32) != Some(child))
        {
            return Err(structure);
        }
        Ok(kids)
    }
}

/// ReplaceSessionKeysRequest (BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac },
/// SGP.22 §5.5.4), each 16 bytes.
pub fn decode_replace_session_keys(b: &[u8]) -> Option<SessionKeys> {
    let t = tlv::parse_expect(b, 0xBF26).ok()?;
    let k = |tag| -> Option<[u8; 16]> { tlv::child_bytes(&t, tag)?.try_into().ok() };
    Some(SessionKeys::from_parts(k(0x80)?, k(0x81)?, k(0x82)?))
}

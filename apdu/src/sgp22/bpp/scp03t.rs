//! SCP03t, the BPP's segment protection (SGP.22 v2.x §2.6.4.3-§2.6.4.4, based on
//! GlobalPlatform SCP03 with AES-128), both directions.
//!
//! A protected segment is `tag || L || data || C-MAC`, L counting data and the 8-byte
//! C-MAC. The C-MAC is the 8 leftmost bytes of AES-CMAC(S-MAC, MCV || tag || L || data);
//! the full 16-byte CMAC becomes the MAC chaining value (MCV) of the next segment, the
//! first MCV being the key set's initial MCV. With C-ENC, data is AES-CBC(S-ENC, ICV) of
//! the plaintext padded with `80` then `00`s to a multiple of 16 (always at least one
//! byte), ICV = AES(S-ENC, block counter as a 16-byte big-endian number). The counter
//! starts at 1 for a key set and grows by one per segment, MAC-only segments
//! (StoreMetadata) included. The card verifies before it decrypts.

use super::keys::SessionKeys;
use super::{BppCommandId, BppError, ErrorReason};
use crate::iso7816::tlv;
use aes::cipher::{
    block_padding::Iso7816, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit,
    KeyIvInit,
};
use cmac::{Cmac, Mac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of the truncated C-MAC (SGP.22 §2.6.4.3: the 8 most significant bytes).
pub const MAC_LEN: usize = 8;
/// Largest segment SGP.22 §2.5.3 allows (tag, length and MAC included).
pub const MAX_SEGMENT_SIZE: usize = 1020;
/// Largest segment the card accepts: osmo-smdpp fills 1008 plaintext bytes, which pad to
/// 1024 and make 1036-byte segments, so the card is lenient up to this cap.
pub const MAX_RECEIVE_SEGMENT: usize = 2048;
/// Largest plaintext per encrypted segment so that the segment stays within 1020 bytes:
/// 1020 - 1 (tag) - 3 (`82 xx xx`) - 8 (MAC) = 1008 ciphertext bytes = 1007 plaintext.
pub const MAX_ENC_PLAINTEXT: usize = 1007;
/// Largest data per MAC-only segment within 1020 bytes.
pub const MAX_MAC_PLAINTEXT: usize = 1008;

/// One SCP03t key set in use: keys, MAC chaining value and block counter.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Scp03t {
    enc: [u8; 16],
    mac: [u8; 16],
    mcv: [u8; 16],
    counter: u64,
}

impl std::fmt::Debug for Scp03t {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scp03t")
            .field("keys", &"<redacted>")
            .field("counter", &self.counter)
            .finish()
    }
}

fn cmac_full(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = <Cmac<aes::Aes128> as KeyInit>::new(key.into());
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl Scp03t {
    /// A fresh key set: MCV = its initial MCV, counter = 1.
    pub fn new(keys: &SessionKeys) -> Self {
        Scp03t {
            enc: keys.enc,
            mac: keys.mac,
            mcv: keys.initial_mcv,
            counter: 1,
        }
    }

    /// The current MAC chaining value (tests, diagnostics).
    pub fn mcv(&self) -> [u8; 16] {
        self.mcv
    }

    /// The block counter of the next segment.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    fn icv(&self) -> [u8; 16] {
        let mut block = aes::Block::from((self.counter as u128).to_be_bytes());
        aes::Aes128::new((&self.enc).into()).encrypt_block(&mut block);
        block.into()
    }

    /// SM side: protects one segment (`encrypt` false: C-MAC only). The caller keeps
    /// `plaintext` within [`MAX_ENC_PLAINTEXT`] / [`MAX_MAC_PLAINTEXT`] to respect §2.5.3.
    pub fn wrap(&mut self, tag: u8, plaintext: &[u8], encrypt: bool) -> Vec<u8> {
        let data = if encrypt {
            cbc::Encryptor::<aes::Aes128>::new((&self.enc).into(), (&self.icv()).into())
                .encrypt_padded_vec::<Iso7816>(plaintext)
        } else {
            plaintext.to_vec()
        };
        let mut out = vec![tag];
        tlv::push_len(data.len() + MAC_LEN, &mut out);
        let full = cmac_full(&self.mac, &[&self.mcv, &out, &data]);
        out.extend_from_slice(&data);
        out.extend_from_slice(&full[..MAC_LEN]);
        self.mcv = full;
        self.counter += 1;
        out
    }

    /// Card side: checks one protected segment `seg` (exactly one TLV with tag `tag`),
    /// verifies its C-MAC (scp03tSecurityError), then, with `decrypt`, decrypts and
    /// unpads it (scp03tStructureError on a bad length or padding). Errors name `cmd`.
    pub fn unwrap(
        &mut self,
        seg: &[u8],
        tag: u8,
        decrypt: bool,
        cmd: BppCommandId,
    ) -> Result<Zeroizing<Vec<u8>>, BppError> {
        let structure = BppError::new(cmd, ErrorReason::Scp03tStructureError);
        if seg.len() > MAX_RECEIVE_SEGMENT || seg.first() != Some(&tag) {
            return Err(structure);
        }
        let (len, start) = tlv::scan_len(seg, 1).map_err(|_| structure)?;
        if start + len != seg.len() || len < MAC_LEN {
            return Err(structure);
        }
        let (body, mac) = seg.split_at(seg.len() - MAC_LEN);
        let data = &body[start..];
        if decrypt && (data.is_empty() || data.len() % 16 != 0) {
            return Err(structure);
        }
        let mut m = <Cmac<aes::Aes128> as KeyInit>::new((&self.mac).into());
        m.update(&self.mcv);
        m.update(body);
        let full: [u8; 16] = m.clone().finalize().into_bytes().into();
        m.verify_truncated_left(mac)
            .map_err(|_| BppError::new(cmd, ErrorReason::Scp03tSecurityError))?;
        let out = if decrypt {
            let plain =
                cbc::Decryptor::<aes::Aes128>::new((&self.enc).into(), (&self.icv()).into())
                    .decrypt_padded_vec::<Iso7816>(data)
                    .map_err(|_| structure)?;
            Zeroizing::new(plain)
        } else {
            Zeroizing::new(data.to_vec())
        };
        self.mcv = full;
        self.counter += 1;
        Ok(out)
    }
}

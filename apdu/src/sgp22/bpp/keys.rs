//! BPP session keys (SGP.22 v2.x §2.6.4.2, Annex G; GlobalPlatform Amendment F §6.5.2.3).
//!
//! ShS = ECDH (BSI TR-03111 ECKA-DH, the x-coordinate) between otSK.EUICC.ECKA and
//! otPK.DP.ECKA (or, on the SM side, otSK.DP.ECKA and otPK.EUICC.ECKA), on NIST P-256.
//! The KDF is ANSI X9.63 with SHA-256: `K_i = SHA-256(ShS || i (4 bytes, from 1) ||
//! SharedInfo)`, with SharedInfo = keyType || keyLength || LV(hostId) || LV(EID)
//! (lengths one byte), output 3 x keyLength bytes: the initial MAC chaining value, then
//! S-ENC, then S-MAC (in that order; facts read from osmocom pySim's bsp.py, which
//! interoperates with commercial eUICCs). Every secret here is zeroized on drop and
//! redacted in `Debug`.

use super::{BppCommandId, BppError, ErrorReason};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The only key type and length SGP.22 v2.x allows in the CRT: AES ('88'), 16 bytes.
pub const KEY_TYPE_AES: u8 = 0x88;
pub const KEY_LEN: u8 = 16;

/// controlRefTemplate (A6): key type ('88' AES), key length (16), host ID (1..16 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRefTemplate {
    pub key_type: u8,
    pub key_len: u8,
    pub host_id: Vec<u8>,
}

impl ControlRefTemplate {
    /// The CRT SGP.22 v2.x requires: AES-128 with this host ID.
    pub fn aes128(host_id: &[u8]) -> Self {
        ControlRefTemplate {
            key_type: KEY_TYPE_AES,
            key_len: 16,
            host_id: host_id.to_vec(),
        }
    }
}

/// Three AES-128 keys of one SCP03t key set: the initial MAC chaining value, S-ENC and
/// S-MAC (or, after ReplaceSessionKeys, PPK-ENC and PPK-CMAC with their initial MCV).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    pub initial_mcv: [u8; 16],
    pub enc: [u8; 16],
    pub mac: [u8; 16],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

fn isc_err(reason: ErrorReason) -> BppError {
    BppError::new(BppCommandId::InitialiseSecureChannel, reason)
}

/// A SEC1 P-256 public key (`04 || X || Y`), refused as incorrectInputValues if it is no
/// point on the curve.
pub fn parse_public_key(sec1: &[u8]) -> Result<p256::PublicKey, BppError> {
    p256::PublicKey::from_sec1_bytes(sec1).map_err(|_| isc_err(ErrorReason::IncorrectInputValues))
}

/// ShS: the ECKA-DH shared secret (x-coordinate, 32 bytes).
pub fn shared_secret(
    own: &p256::SecretKey,
    peer_sec1: &[u8],
) -> Result<Zeroizing<[u8; 32]>, BppError> {
    let peer = parse_public_key(peer_sec1)?;
    let shs = p256::ecdh::diffie_hellman(own.to_nonzero_scalar(), peer.as_affine());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(shs.raw_secret_bytes().as_slice());
    Ok(out)
}

impl SessionKeys {
    /// The three keys from their values (ReplaceSessionKeys, tests).
    pub fn from_parts(initial_mcv: [u8; 16], enc: [u8; 16], mac: [u8; 16]) -> Self {
        SessionKeys {
            initial_mcv,
            enc,
            mac,
        }
    }

    /// The KDF of SGP.22 §2.6.4.2 over a shared secret. The CRT must say AES / 16 bytes
    /// (else unsupportedCrtValues); the host ID and EID are at most 127 bytes (LV).
    pub fn kdf(shs: &[u8], crt: &ControlRefTemplate, eid: &[u8]) -> Result<Self, BppError> {
        if crt.key_type != KEY_TYPE_AES || crt.key_len != KEY_LEN {
            return Err(isc_err(ErrorReason::UnsupportedCrtValues));
        }
        if crt.host_id.is_empty() || crt.host_id.len() > 16 || eid.len() > 127 {
            return Err(isc_err(ErrorReason::IncorrectInputValues));
        }
        let mut info = vec![crt.key_type, crt.key_len, crt.host_id.len() as u8];
        info.extend_from_slice(&crt.host_id);
        info.push(eid.len() as u8);
        info.extend_from_slice(eid);
        let mut out = Zeroizing::new([0u8; 64]);
        for (i, chunk) in out.chunks_mut(32).enumerate() {
            let mut h = Sha256::new();
            h.update(shs);
            h.update((i as u32 + 1).to_be_bytes());
            h.update(&info);
            chunk.copy_from_slice(&h.finalize());
        }
        let mut k = SessionKeys::from_parts([0; 16], [0; 16], [0; 16]);
        k.initial_mcv.copy_from_slice(&out[0..16]);
        k.enc.copy_from_slice(&out[16..32]);
        k.mac.copy_from_slice(&out[32..48]);
        Ok(k)
    }

    /// Card side: ShS from otSK.EUICC.ECKA and the SM-DP+'s smdpOtpk, then the KDF.
    pub fn derive(
        own_otsk: &p256::SecretKey,
        peer_otpk: &[u8],
        crt: &ControlRefTemplate,
        eid: &[u8],
    ) -> Result<Self, BppError> {
        let shs = shared_secret(own_otsk, peer_otpk)?;
        Self::kdf(shs.as_slice(), crt, eid)
    }
}

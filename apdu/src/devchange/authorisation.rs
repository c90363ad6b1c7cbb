//! The SM's authorisation of the functions that change what the card holds: BF69
//! (install) and BF6B (removal) (issue 10, findings 1 and 2; docs/device-change-protocol.md
//! "Threat model"). The SM proves itself as an SM-DP+ does in SGP.22 §5.7.13-§5.7.14:
//! with a certificate chained to a CI the card trusts, here CERT.DPpb (role
//! id-rspRole-dp-pb, SGP.22 §4.5.2.1.0.2), and an ECDSA signature (SHA-256, `r || s`,
//! SGP.22 §2.6.7.1 style) over a fresh challenge the card drew for this one command
//! (BF6D). The card accepts each challenge once, so a recorded BF69 or BF6B is worthless
//! in any later session.
//!
//! Signed bytes ([`AuthMessage::to_bytes`]), every variable field length-prefixed:
//!
//! ```text
//! AUTH_LABEL ("vEUICC SM authorisation v1\0", 27 bytes)
//! function tag      2 bytes (BF69 or BF6B)
//! card challenge    16 bytes (BF6D's answer)
//! eid               16 bytes
//! len(op_id) 1 byte | op_id
//! len(sm_challenge) 1 byte | sm_challenge (16..=64, the challenge the card's signed result covers)
//! SHA-256(payload)  32 bytes (BF69: key source byte || sealed box; BF6B: the ICCID's 10 bytes)
//! ```

use super::Function;
use crate::sgp22::es10::Iccid;
use crate::sgp22::pki::{verify_chain, Cert, PkiError, PrivateKey, Role};
use crate::Eid;
use sha2::{Digest, Sha256};

/// Domain-separation label of the SM's authorisation.
pub const AUTH_LABEL: &[u8] = b"vEUICC SM authorisation v1\0";
/// Length of the card's challenge (BF6D).
pub const CARD_CHALLENGE_LEN: usize = 16;
/// Length of the SM's signature (`r || s`, P-256 or brainpoolP256r1).
pub const AUTH_SIGNATURE_LEN: usize = 64;
/// Largest certificate accepted in `90`.
pub const MAX_CERT_LEN: usize = 2048;

/// The SM's proof in BF69 and BF6B: `89` its challenge for the card's signed result,
/// `90` its certificate (CERT.DPpb, DER), `91` its signature over [`AuthMessage`].
#[derive(Clone, PartialEq, Eq)]
pub struct SmAuth {
    pub sm_challenge: Vec<u8>,
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for SmAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmAuth {{ certificate: <{} bytes>, signature: <{} bytes> }}",
            self.certificate.len(),
            self.signature.len()
        )
    }
}

/// What the SM authorises, as signed.
#[derive(Debug, Clone, Copy)]
pub struct AuthMessage<'a> {
    pub function: Function,
    pub card_challenge: &'a [u8; CARD_CHALLENGE_LEN],
    pub eid: Eid,
    pub op_id: &'a str,
    pub sm_challenge: &'a [u8],
    /// SHA-256 of the function's payload ([`install_payload_hash`], [`removal_payload_hash`]).
    pub payload_hash: [u8; 32],
}

/// The hash of BF69's payload: the key source byte, then the sealed box.
pub fn install_payload_hash(key_source: u8, sealed: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([key_source]);
    h.update(sealed);
    h.finalize().into()
}

/// The hash of BF6B's payload: the ICCID's 10 bytes.
pub fn removal_payload_hash(iccid: &Iccid) -> [u8; 32] {
    Sha256::digest(iccid.0).into()
}

/// Why the card refuses an authorisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the SM's certificate does not chain to a CI the card trusts with role DPpb: {0}")]
    Certificate(String),
    #[error("the SM's signature does not verify")]
    Signature,
    #[error("a field of the authorisation has the wrong length")]
    Length,
}

impl AuthMessage<'_> {
    /// The signed bytes (module docs).
    pub fn to_bytes(&self) -> Result<Vec<u8>, AuthError> {
        let op = self.op_id.as_bytes();
        if op.is_empty()
            || op.len() > crate::crypto::signature::MAX_OP_ID_LEN
            || !(16..=64).contains(&self.sm_challenge.len())
        {
            return Err(AuthError::Length);
        }
        let mut out = Vec::with_capacity(AUTH_LABEL.len() + 2 + 16 + 16 + 2 + 64 + 64 + 32);
        out.extend_from_slice(AUTH_LABEL);
        out.extend_from_slice(&(self.function.tag() as u16).to_be_bytes());
        out.extend_from_slice(self.card_challenge);
        out.extend_from_slice(&self.eid.0);
        out.push(op.len() as u8);
        out.extend_from_slice(op);
        out.push(self.sm_challenge.len() as u8);
        out.extend_from_slice(self.sm_challenge);
        out.extend_from_slice(&self.payload_hash);
        Ok(out)
    }

    /// SM side: signs with the private key of CERT.DPpb.
    pub fn sign(&self, key: &PrivateKey) -> Result<[u8; AUTH_SIGNATURE_LEN], AuthError> {
        Ok(key.sign(&self.to_bytes()?))
    }

    /// Card side: `certificate` chains to one of `trusted` with the DPpb role and its key
    /// verifies `signature` over this message.
    pub fn verify(
        &self,
        certificate: &[u8],
        signature: &[u8],
        trusted: &[Cert],
    ) -> Result<(), AuthError> {
        if certificate.len() > MAX_CERT_LEN {
            return Err(AuthError::Length);
        }
        let cert_err = |e: PkiError| AuthError::Certificate(e.to_string());
        let cert = Cert::from_der(certificate).map_err(cert_err)?;
        verify_chain(&cert, &[], trusted, Role::DpPb, None).map_err(cert_err)?;
        let key = cert.public_key().map_err(cert_err)?;
        let sig: &[u8; AUTH_SIGNATURE_LEN] =
            signature.try_into().map_err(|_| AuthError::Signature)?;
        key.verify(&self.to_bytes()?, sig)
            .map_err(|_| AuthError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sgp22::pki::gen::test_pki;
    use crate::sgp22::pki::Curve;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn signed_by_dppb_of_the_trusted_ci_only_and_bound_to_every_field() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let eid = Eid::test_eid(3);
        let pki = test_pki(Curve::NistP256, eid, "sm.example", &mut rng).unwrap();
        let other = test_pki(Curve::NistP256, eid, "sm.example", &mut rng).unwrap();
        let trusted = vec![pki.ci.cert.clone()];
        let ch = [9u8; CARD_CHALLENGE_LEN];
        let sm_ch = [4u8; 32];
        let sealed = b"sealed box";
        let msg = AuthMessage {
            function: Function::InstallProfile,
            card_challenge: &ch,
            eid,
            op_id: "+8613800000001",
            sm_challenge: &sm_ch,
            payload_hash: install_payload_hash(0, sealed),
        };
        let sig = msg.sign(&pki.dp_pb.key).unwrap();
        msg.verify(pki.dp_pb.cert.der(), &sig, &trusted).unwrap();

        // Another CI's DPpb, or the right CI's DPauth (wrong role): refused.
        let sig_other = msg.sign(&other.dp_pb.key).unwrap();
        assert!(matches!(
            msg.verify(other.dp_pb.cert.der(), &sig_other, &trusted),
            Err(AuthError::Certificate(_))
        ));
        let sig_auth = msg.sign(&pki.dp_auth.key).unwrap();
        assert!(matches!(
            msg.verify(pki.dp_auth.cert.der(), &sig_auth, &trusted),
            Err(AuthError::Certificate(_))
        ));
        // The right certificate with another key's signature: refused.
        assert_eq!(
            msg.verify(pki.dp_pb.cert.der(), &sig_other, &trusted),
            Err(AuthError::Signature)
        );
        // Any changed field: refused.
        let ch2 = [8u8; CARD_CHALLENGE_LEN];
        let changed = [
            AuthMessage {
                card_challenge: &ch2,
                ..msg
            },
            AuthMessage {
                eid: Eid::test_eid(4),
                ..msg
            },
            AuthMessage {
                op_id: "+8613800000002",
                ..msg
            },
            AuthMessage {
                payload_hash: install_payload_hash(1, sealed),
                ..msg
            },
            AuthMessage {
                function: Function::RemoveProfile,
                ..msg
            },
            AuthMessage {
                sm_challenge: &[5u8; 32],
                ..msg
            },
        ];
        for m in changed {
            assert_eq!(
                m.verify(pki.dp_pb.cert.der(), &sig, &trusted),
                Err(AuthError::Signature),
                "{m:?}"
            );
        }
        // Garbage: refused, no panic.
        assert!(msg.verify(&[0x30, 0x03, 1, 2, 3], &sig, &trusted).is_err());
        assert!(msg
            .verify(pki.dp_pb.cert.der(), &sig[..10], &trusted)
            .is_err());
        assert!(msg.verify(&[0u8; 5000], &sig, &trusted).is_err());
    }
}

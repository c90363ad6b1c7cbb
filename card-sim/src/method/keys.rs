//! The work of the key functions BF67 and BF68 once the terminal has answered: the SM's
//! values a [`KeyJob`] carries (checked when the request arrives), the key pair derived
//! from the parameter, and the signatures the card answers with
//! (docs/device-change-protocol.md §Signed messages; device-change.md A.6-A.7, B.8, C.5).

use super::CardView;
use apdu::crypto::{
    self, key_pair_from_parameter, KdfParams, Parameter, PrivateKey, Purpose, Salt, SignedMessage,
};
use apdu::devchange::{DcResponse, DcResult, Flow};

/// Shortest and longest SM challenge the card signs (docs/device-change-protocol.md
/// §Signed messages).
const CHALLENGE_LEN: std::ops::RangeInclusive<usize> = 16..=64;

/// What the SM sent with BF67 or BF68, checked: the key derivation to do once the
/// terminal has given the parameter.
#[derive(Debug)]
pub(super) struct KeyJob {
    pub flow: Flow,
    pub op_id: String,
    challenge: Vec<u8>,
    salt: Salt,
    kdf: KdfParams,
}

/// A derived key with the answer that proves it.
pub(super) struct Derived {
    pub key: PrivateKey,
    pub answer: DcResponse,
}

impl KeyJob {
    /// Checks the SM's challenge, salt and KDF parameters (`BadRequest` otherwise); the
    /// KDF parameters also against the card's floor and ceiling (`kdf_floor`, issue 10
    /// finding 7), before the user is asked anything or anything is derived.
    pub fn new(
        flow: Flow,
        op_id: String,
        challenge: Vec<u8>,
        salt: &[u8],
        kdf: &[u8],
        card: &dyn CardView,
    ) -> Result<KeyJob, DcResult> {
        if !CHALLENGE_LEN.contains(&challenge.len()) {
            return Err(DcResult::BadRequest);
        }
        let kdf = KdfParams::from_bytes(kdf).map_err(|_| DcResult::BadRequest)?;
        if !card.kdf_floor().admits(&kdf) {
            return Err(DcResult::BadRequest);
        }
        Ok(KeyJob {
            flow,
            op_id,
            challenge,
            salt: Salt::from_bytes(salt).map_err(|_| DcResult::BadRequest)?,
            kdf,
        })
    }

    /// BF67 done: the two entries of the new parameter must agree; the answer carries
    /// the new public key, its proof of possession and the identity signature.
    pub fn new_key(
        &self,
        entries: Vec<Parameter>,
        card: &dyn CardView,
        imei: &str,
    ) -> Result<Derived, DcResult> {
        let [first, second] =
            <[Parameter; 2]>::try_from(entries).map_err(|_| DcResult::Undefined)?;
        if first.expose_bytes() != second.expose_bytes() {
            return Err(DcResult::ParameterMismatch);
        }
        drop(second);
        let key = self.derive(first)?;
        let public_key = key.public_key().to_der();
        // Both signatures vouch for the new key, the salt and the KDF parameters, so a
        // relay cannot swap in a key of its own (issue 10, finding 3).
        let bound = crypto::key_binding(&public_key, &self.salt.0, &self.kdf.to_bytes());
        let possession = self.sign(&key, Purpose::NewKey, card, imei, &bound)?;
        let answer = DcResponse::KeyGenerated {
            public_key,
            possession_signature: possession,
            identity_signature: self.identity_bound(card, imei, &bound)?,
        };
        Ok(Derived { key, answer })
    }

    /// BF68 done: the answer carries the signature with the key derived from the
    /// current parameter and the identity signature.
    pub fn authenticate(
        &self,
        entries: Vec<Parameter>,
        card: &dyn CardView,
        imei: &str,
    ) -> Result<Derived, DcResult> {
        let parameter = entries.into_iter().next().ok_or(DcResult::Undefined)?;
        let key = self.derive(parameter)?;
        let purpose = if self.flow == Flow::KeyChange {
            Purpose::KeyChange
        } else {
            Purpose::DeviceChange
        };
        let bound = self.kdf_binding();
        let signature = self.sign(&key, purpose, card, imei, &bound)?;
        let answer = DcResponse::Authenticated {
            parameter_signature: Some(signature),
            identity_signature: self.identity_bound(card, imei, &bound)?,
            encryption_key: None,
        };
        Ok(Derived { key, answer })
    }

    /// The identity-only proof (BF68 without a parameter, flow B): it also vouches for
    /// the identity encryption key `encryption_key_der` the SM is to seal to.
    pub fn identity_with_encryption_key(
        &self,
        card: &dyn CardView,
        imei: &str,
        encryption_key_der: &[u8],
    ) -> Result<Vec<u8>, DcResult> {
        let bound = crypto::encryption_key_binding(&self.kdf_binding(), encryption_key_der);
        self.identity_bound(card, imei, &bound)
    }

    fn identity_bound(
        &self,
        card: &dyn CardView,
        imei: &str,
        bound: &[u8],
    ) -> Result<Vec<u8>, DcResult> {
        identity_signature(card, &self.challenge, &self.op_id, imei, bound)
    }

    /// BF68's bound data: the SM's salt and KDF parameters.
    fn kdf_binding(&self) -> Vec<u8> {
        crypto::kdf_binding(&self.salt.0, &self.kdf.to_bytes())
    }

    /// Argon2id and the seeded RSA key generation; the parameter is dropped here.
    fn derive(&self, parameter: Parameter) -> Result<PrivateKey, DcResult> {
        key_pair_from_parameter(&parameter, &self.salt, &self.kdf).map_err(|_| DcResult::Undefined)
    }

    /// Signs the message of `purpose` over this job's challenge with `key`.
    fn sign(
        &self,
        key: &PrivateKey,
        purpose: Purpose,
        card: &dyn CardView,
        imei: &str,
        bound: &[u8],
    ) -> Result<Vec<u8>, DcResult> {
        let msg = SignedMessage::new(purpose, &self.challenge, &self.op_id, card.eid(), imei)
            .and_then(|m| m.bound(bound))
            .map_err(|_| DcResult::BadRequest)?;
        crypto::sign(key, &msg).map_err(|_| DcResult::Undefined)
    }
}

/// The card's identity signature over `challenge` for `op_id` and `imei`, vouching for
/// `bound` too.
pub(super) fn identity_signature(
    card: &dyn CardView,
    challenge: &[u8],
    op_id: &str,
    imei: &str,
    bound: &[u8],
) -> Result<Vec<u8>, DcResult> {
    let msg = SignedMessage::new(Purpose::IdentityProof, challenge, op_id, card.eid(), imei)
        .and_then(|m| m.bound(bound))
        .map_err(|_| DcResult::BadRequest)?;
    card.identity().prove(&msg).map_err(|_| DcResult::Undefined)
}

//! The request and response bodies of the five ES9+ functions (SGP.22 v2.x §6.5.2,
//! function by function: §6.5.2.6 initiateAuthentication, §6.5.2.7
//! getBoundProfilePackage, §6.5.2.8 authenticateClient, §6.5.2.9 handleNotification,
//! §6.5.2.10 cancelSession). Field names are the JSON ones (camelCase), as lpac
//! (`euicc/es9p.c`) and osmocom pySim (`pySim/esim/es9p.py`, `osmo-smdpp.py`) spell them.
//!
//! Every binary field carries a whole ASN.1 TLV, exactly as lpac moves it between the
//! SM-DP+ and the card: `serverSigned1` (`30 ..`), `serverSignature1` and
//! `smdpSignature2` (`5F37 40 r||s`), `euiccCiPKIdToBeUsed` (`04 14 keyid`),
//! `serverCertificate` / `smdpCertificate` (the certificate `30 ..`), `profileMetadata`
//! (StoreMetadataRequest `BF25 ..`), `smdpSigned2` (`30 ..`), and from the card
//! `authenticateServerResponse` (`BF38`), `prepareDownloadResponse` (`BF21`),
//! `pendingNotification` (`BF37` or `30`), `cancelSessionResponse` (`BF41`).
//! The helpers at the end turn the SM-DP+'s answers into the ES10b requests of
//! [`crate::sgp22::es10b`] (the LPA's side) and build them from the SM-DP+'s parts.
//!
//! Body structs hold only the function's own output data; the `header` is added and read
//! by [`super::encode_ok`] / [`super::parse_response`].

use super::codec::{self, TransactionId};
use super::status::RequestHeader;
use crate::error::{Error, Result};
use crate::iso7816::tlv;
use crate::sgp22::es10b::{
    signed_data, AuthenticateServerRequest, CtxParams1, Encoded, Es10bRequest,
    PrepareDownloadRequest, ServerSigned1, ToDer,
};
use serde::{Deserialize, Serialize};

/// initiateAuthentication request (§6.5.2.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RequestHeader>,
    #[serde(with = "codec::challenge")]
    pub euicc_challenge: [u8; 16],
    /// EUICCInfo1 (`BF20 ..`).
    #[serde(with = "codec::field")]
    pub euicc_info1: Vec<u8>,
    /// The SM-DP+ address the LPA uses (FQDN, with `:port` when not 443).
    pub smdp_address: String,
}

/// initiateAuthentication output data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateAuthenticationOk {
    pub transaction_id: TransactionId,
    #[serde(with = "codec::field")]
    pub server_signed1: Vec<u8>,
    #[serde(with = "codec::field")]
    pub server_signature1: Vec<u8>,
    #[serde(rename = "euiccCiPKIdToBeUsed", with = "codec::field")]
    pub euicc_ci_pkid_to_be_used: Vec<u8>,
    #[serde(with = "codec::field")]
    pub server_certificate: Vec<u8>,
}

/// authenticateClient request (§6.5.2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RequestHeader>,
    pub transaction_id: TransactionId,
    #[serde(with = "codec::field")]
    pub authenticate_server_response: Vec<u8>,
}

/// authenticateClient output data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateClientOk {
    pub transaction_id: TransactionId,
    #[serde(with = "codec::field")]
    pub profile_metadata: Vec<u8>,
    #[serde(with = "codec::field")]
    pub smdp_signed2: Vec<u8>,
    #[serde(with = "codec::field")]
    pub smdp_signature2: Vec<u8>,
    #[serde(with = "codec::field")]
    pub smdp_certificate: Vec<u8>,
}

/// getBoundProfilePackage request (§6.5.2.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RequestHeader>,
    pub transaction_id: TransactionId,
    #[serde(with = "codec::field")]
    pub prepare_download_response: Vec<u8>,
}

/// getBoundProfilePackage output data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBoundProfilePackageOk {
    pub transaction_id: TransactionId,
    /// The whole BF36 (protected: its profile elements are SCP03t-encrypted).
    #[serde(with = "codec::bpp")]
    pub bound_profile_package: Vec<u8>,
}

impl std::fmt::Debug for GetBoundProfilePackageOk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetBoundProfilePackageOk")
            .field("transaction_id", &self.transaction_id)
            .field(
                "bound_profile_package",
                &format_args!("<{} bytes>", self.bound_profile_package.len()),
            )
            .finish()
    }
}

/// handleNotification request (§6.5.2.9); the answer is HTTP 204 without a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandleNotificationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RequestHeader>,
    #[serde(with = "codec::field")]
    pub pending_notification: Vec<u8>,
}

/// cancelSession request (§6.5.2.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelSessionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<RequestHeader>,
    pub transaction_id: TransactionId,
    #[serde(with = "codec::field")]
    pub cancel_session_response: Vec<u8>,
}

/// cancelSession output data: none in SGP.22 v2.x (osmo-smdpp echoes the transactionId;
/// it is read when present).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelSessionOk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<TransactionId>,
}

// --- between the JSON fields and the ES10b messages -------------------------------------

/// `tag || length || parts...` for a constructed tag given as bytes.
fn wrap_raw(tag: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = tag.to_vec();
    tlv::push_len(len, &mut out);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// `euiccCiPKIdToBeUsed` as ES9+ carries it: the SubjectKeyIdentifier OCTET STRING TLV.
pub fn ci_pkid_tlv(key_id: &[u8]) -> Vec<u8> {
    tlv::encode(&tlv::prim::<0x04>(key_id.to_vec()))
}

impl InitiateAuthenticationOk {
    /// The SM-DP+'s answer from its parts: serverSigned1 (its DER is what was signed),
    /// serverSignature1 (r||s), the CI key identifier and CERT.DPauth (DER).
    pub fn new(
        transaction_id: TransactionId,
        server_signed1: &Encoded<ServerSigned1>,
        server_signature1: &[u8],
        ci_pkid: &[u8],
        dp_auth_certificate: &[u8],
    ) -> Self {
        InitiateAuthenticationOk {
            transaction_id,
            server_signed1: server_signed1.der().to_vec(),
            server_signature1: signed_data::signature_tlv(server_signature1),
            euicc_ci_pkid_to_be_used: ci_pkid_tlv(ci_pkid),
            server_certificate: dp_auth_certificate.to_vec(),
        }
    }

    /// ES10b.AuthenticateServer (`BF38`) as lpac assembles it from this answer and the
    /// LPA's `ctxParams1`; every part is decoded (and so checked) on the way.
    pub fn authenticate_server_request(
        &self,
        ctx_params1: &CtxParams1,
    ) -> Result<AuthenticateServerRequest> {
        let ctx = ctx_params1.to_der();
        let msg = wrap_raw(
            &[0xBF, 0x38],
            &[
                &self.server_signed1,
                &self.server_signature1,
                &self.euicc_ci_pkid_to_be_used,
                &self.server_certificate,
                &ctx,
            ],
        );
        match Es10bRequest::decode(&msg) {
            Ok(Some(Es10bRequest::AuthenticateServer(r))) => Ok(*r),
            Ok(_) => Err(Error::Malformed("not an AuthenticateServer request")),
            Err((_, e)) => Err(e),
        }
    }
}

impl AuthenticateClientOk {
    /// ES10b.PrepareDownload (`BF21`) as lpac assembles it from this answer and, when the
    /// order needs one, hashCc (see [`hash_cc`]).
    pub fn prepare_download_request(
        &self,
        hash_cc: Option<[u8; 32]>,
    ) -> Result<PrepareDownloadRequest> {
        let hash = hash_cc
            .map(|h| tlv::encode(&tlv::prim::<0x04>(h.to_vec())))
            .unwrap_or_default();
        let msg = wrap_raw(
            &[0xBF, 0x21],
            &[
                &self.smdp_signed2,
                &self.smdp_signature2,
                &hash,
                &self.smdp_certificate,
            ],
        );
        match Es10bRequest::decode(&msg) {
            Ok(Some(Es10bRequest::PrepareDownload(r))) => Ok(*r),
            Ok(_) => Err(Error::Malformed("not a PrepareDownload request")),
            Err((_, e)) => Err(e),
        }
    }
}

/// `hashCc = SHA-256(SHA-256(confirmation code) || transactionId)` (SGP.22 §3.1.3.2,
/// §5.7.14): what the eUICC signs in euiccSigned2 and the SM-DP+ compares with the hash
/// of the code it stores. `code_hash` is `SHA-256(confirmation code)`.
pub fn hash_cc(code_hash: &[u8; 32], transaction_id: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(code_hash);
    h.update(transaction_id);
    h.finalize().into()
}

/// `SHA-256(confirmation code)`: the LPA computes it from what the user typed, the
/// SM-DP+ stores only it.
pub fn confirmation_code_hash(code: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(code).into()
}

//! ES9+.InitiateAuthentication (SGP.22 §5.6.1) and ES9+.AuthenticateClient (§5.6.3):
//! mutual authentication of SM-DP+ and eUICC, and finding the order.
//!
//! InitiateAuthentication: the smdpAddress must be ours (case-insensitive); the CI is one
//! of ours that the eUICC both signs with (euiccCiPKIdListForSigning) and verifies
//! (...ForVerification) and that issued our CERT.DPauth; then a new transactionId and
//! serverChallenge, serverSigned1 signed with SK.DPauth, the session stored.
//!
//! AuthenticateClient, in the order of §5.6.3: a live session still `initiated` (else
//! 8.10.1 / 3.9, which also refuses a replay); CERT.EUM from the agreed CI (8.11.1 /
//! 3.9) and valid (8.1.2 / 6.1, 6.3); CERT.EUICC through it (8.1.3 / 6.1, 6.3);
//! euiccSignature1 over euiccSigned1 and the echo of transactionId, serverChallenge and
//! serverAddress (8.1 / 6.1); the order by matchingId (8.2.6 / 3.8), its EID (8.1.1 /
//! 3.8), `released` (8.2 / 1.2); then profileMetadata and smdpSigned2 (ccRequiredFlag
//! when the order has a confirmation code) signed with SK.DPpb over `smdpSigned2 ||
//! euiccSignature1`. A refusal after the session was found ends the session.

use super::common::{parse, refuse, Outcome, Refusal};
use super::order;
use super::service::Smdp;
use crate::sm::store::{Actor, Authenticated, Order, OrderSource, OrderState, Store, StoreError};
use apdu::crypto::{random_array, SysRng};
use apdu::iso7816::tlv;
use apdu::sgp22::es10::EuiccInfo1;
use apdu::sgp22::es10b::{
    signed_data, AuthenticateServerResponse, Encoded, ServerSigned1, SmdpSigned2,
};
use apdu::sgp22::es9p::{
    self as json, AuthenticateClientOk, AuthenticateClientRequest, InitiateAuthenticationOk,
    InitiateAuthenticationRequest, StatusCode, TransactionId,
};
use apdu::sgp22::pki::{verify_chain, Cert, PkiError, Role};

/// ES9+.InitiateAuthentication.
pub(crate) fn initiate_authentication(smdp: &Smdp, body: &[u8]) -> Outcome {
    let req: InitiateAuthenticationRequest = parse(body)?;
    if !req.smdp_address.eq_ignore_ascii_case(&smdp.address) {
        return Err(refuse(
            StatusCode::SmdpAddressRefused,
            format!("this SM-DP+ is {}", smdp.address),
        ));
    }
    let info1 = EuiccInfo1::decode(&req.euicc_info1)
        .map_err(|e| Refusal::BadRequest(format!("euiccInfo1: {e}")))?;
    let dp_auth_aki = smdp
        .creds
        .dp_auth
        .cert
        .authority_key_id()
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut known = false;
    let mut chosen = None;
    for ci in &smdp.creds.cis {
        let Ok(ski) = ci.subject_key_id() else {
            continue;
        };
        if !info1.signing_keys.contains(&ski) {
            continue;
        }
        known = true;
        if info1.verification_keys.contains(&ski) && ski == dp_auth_aki {
            chosen = Some(ski);
            break;
        }
    }
    let ci_pkid = match (chosen, known) {
        (Some(k), _) => k,
        (None, false) => {
            return Err(refuse(
                StatusCode::CiPkIdUnsupported,
                "no CI key of euiccCiPKIdListForSigning is ours",
            ))
        }
        (None, true) => {
            return Err(refuse(
                StatusCode::DpAuthCertUnavailable,
                "our CERT.DPauth chains to no CI the eUICC verifies",
            ))
        }
    };
    let tid: [u8; 16] = random_array(&mut SysRng).map_err(|e| Refusal::Internal(e.to_string()))?;
    let server_challenge: [u8; 16] =
        random_array(&mut SysRng).map_err(|e| Refusal::Internal(e.to_string()))?;
    let signed1 = Encoded::new(ServerSigned1 {
        transaction_id: tid.to_vec(),
        euicc_challenge: req.euicc_challenge,
        server_address: smdp.address.clone(),
        server_challenge,
    });
    let signature1 = smdp.creds.dp_auth.key.sign(signed1.der());
    smdp.store()
        .create_session(&tid, &server_challenge, &ci_pkid, smdp.ttl)?;
    let transaction_id = TransactionId::new(&tid).map_err(Refusal::Internal)?;
    Ok(json::encode_ok(&InitiateAuthenticationOk::new(
        transaction_id,
        &signed1,
        &signature1,
        &ci_pkid,
        smdp.creds.dp_auth.cert.der(),
    )))
}

fn cert_refusal(e: &PkiError, invalid: StatusCode, expired: StatusCode, what: &str) -> Refusal {
    match e {
        PkiError::Expired => refuse(expired, format!("{what}: {e}")),
        _ => refuse(invalid, format!("{what}: {e}")),
    }
}

/// The matchingId of ctxParams1 (`A0 { 80 matchingId OPTIONAL, A1 deviceInfo }`).
/// Whether `o` is a record's order and the record is now bound to a card other than `eid`.
fn record_moved(store: &Store, o: &Order, eid: &str) -> Result<bool, StoreError> {
    match &o.source {
        OrderSource::Subscription(op) => Ok(store.get(op)?.is_some_and(|s| s.device.eid != eid)),
        OrderSource::Package(_) => Ok(false),
    }
}

fn matching_id(ctx_params1: &[u8]) -> Option<String> {
    let t = tlv::parse_expect(ctx_params1, 0xA0).ok()?;
    let v = tlv::child_bytes(&t, 0x80)?;
    let s = std::str::from_utf8(v).ok()?;
    (!s.is_empty() && s.len() <= 255).then(|| s.to_string())
}

/// ES9+.AuthenticateClient.
pub(crate) fn authenticate_client(smdp: &Smdp, body: &[u8]) -> Outcome {
    let req: AuthenticateClientRequest = parse(body)?;
    let tid = req.transaction_id.as_bytes().to_vec();
    let session = smdp.store().live_session(&tid)?;
    let Some(session) = session.filter(|s| s.state == crate::sm::store::SessionState::Initiated)
    else {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "no session awaiting authenticateClient has this transactionId",
        ));
    };
    let outcome = authenticate(smdp, &req, &session);
    if outcome.is_err() {
        smdp.store().drop_session(&tid)?;
    }
    outcome
}

fn authenticate(
    smdp: &Smdp,
    req: &AuthenticateClientRequest,
    session: &crate::sm::store::SmdpSession,
) -> Outcome {
    let tid = req.transaction_id.as_bytes();
    let ok = match AuthenticateServerResponse::decode(&req.authenticate_server_response) {
        Ok(AuthenticateServerResponse::Ok(ok)) => ok,
        Ok(AuthenticateServerResponse::Error { code, .. }) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("the eUICC refused AuthenticateServer ({code:?})"),
            ))
        }
        Err(e) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("authenticateServerResponse does not decode: {e}"),
            ))
        }
    };
    let signed1 = ok.euicc_signed1.value();
    if signed1.transaction_id != tid {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "euiccSigned1 carries another transactionId",
        ));
    }
    let now = Some(super::common::now_secs());
    let eum = Cert::from_der(&ok.eum_certificate).map_err(|e| {
        cert_refusal(
            &e,
            StatusCode::EumCertInvalid,
            StatusCode::EumCertExpired,
            "CERT.EUM",
        )
    })?;
    if eum.authority_key_id().ok().flatten().as_deref() != Some(session.ci_pkid.as_slice()) {
        return Err(refuse(
            StatusCode::CiPkUnknown,
            "CERT.EUM is not issued by the CI agreed in initiateAuthentication",
        ));
    }
    let ci: Vec<Cert> = smdp
        .creds
        .cis
        .iter()
        .filter(|c| c.subject_key_id().ok().as_deref() == Some(session.ci_pkid.as_slice()))
        .cloned()
        .collect();
    verify_chain(&eum, &[], &ci, Role::Eum, now).map_err(|e| {
        cert_refusal(
            &e,
            StatusCode::EumCertInvalid,
            StatusCode::EumCertExpired,
            "CERT.EUM",
        )
    })?;
    let euicc = Cert::from_der(&ok.euicc_certificate).map_err(|e| {
        cert_refusal(
            &e,
            StatusCode::EuiccCertInvalid,
            StatusCode::EuiccCertExpired,
            "CERT.EUICC",
        )
    })?;
    verify_chain(&euicc, std::slice::from_ref(&eum), &ci, Role::Euicc, now).map_err(|e| {
        cert_refusal(
            &e,
            StatusCode::EuiccCertInvalid,
            StatusCode::EuiccCertExpired,
            "CERT.EUICC",
        )
    })?;
    let eid = euicc.eid().map_err(|e| {
        refuse(
            StatusCode::EuiccCertInvalid,
            format!("CERT.EUICC has no EID: {e}"),
        )
    })?;
    let key = euicc
        .public_key()
        .map_err(|e| refuse(StatusCode::EuiccCertInvalid, format!("CERT.EUICC key: {e}")))?;
    let sig: Option<[u8; 64]> = ok.euicc_signature1.as_slice().try_into().ok();
    let verified = sig.is_some_and(|s| key.verify(ok.euicc_signed1.der(), &s).is_ok());
    if !verified {
        return Err(refuse(
            StatusCode::EuiccVerificationFailed,
            "euiccSignature1 does not verify with CERT.EUICC",
        ));
    }
    if signed1.server_challenge != session.server_challenge
        || !signed1.server_address.eq_ignore_ascii_case(&smdp.address)
    {
        return Err(refuse(
            StatusCode::EuiccVerificationFailed,
            "euiccSigned1 does not echo this session's serverChallenge and serverAddress",
        ));
    }

    // The order (§5.6.3: matchingId, EID, state).
    let eid_text = eid.digits();
    let actor = Actor::Card(eid_text.clone());
    let Some(mid) = matching_id(&signed1.ctx_params1) else {
        return Err(refuse(
            StatusCode::MatchingIdRefused,
            "ctxParams1 has no matchingId",
        ));
    };
    let order = smdp.store().order(&mid)?;
    let refusal = match &order {
        None => Some(refuse(
            StatusCode::MatchingIdRefused,
            "no order has this matchingId",
        )),
        Some(o) if o.eid.as_deref().is_some_and(|e| e != eid_text) => Some(refuse(
            StatusCode::EidRefused,
            "the order is for another EID",
        )),
        // A record's order follows the record: after a device change moved it, the
        // order for the old card is void (order.rs, record_order_eid).
        Some(o) if record_moved(&smdp.store(), o, &eid_text)? => Some(refuse(
            StatusCode::EidRefused,
            "the subscription is bound to another card now",
        )),
        Some(o) if o.state != OrderState::Released => Some(refuse(
            StatusCode::ProfileNotReleased,
            format!("the order is {}", o.state),
        )),
        Some(_) => None,
    };
    if let Some(r) = refusal {
        if let Refusal::Status(code, msg) = &r {
            smdp.store().log_order_refusal(
                &mid,
                &actor,
                &format!("authenticateClient refused: {} ({msg})", code.codes().0),
            )?;
        }
        return Err(r);
    }
    let order = order.ok_or_else(|| Refusal::Internal("order vanished".into()))?;
    let (_, metadata) = order::package_for(&smdp.store(), &order, &smdp.address)?;
    let cc_required = order.cc_hash.is_some();
    let signed2 = Encoded::new(SmdpSigned2 {
        transaction_id: tid.to_vec(),
        cc_required,
        bpp_euicc_otpk: None,
    });
    let signature2 = smdp.creds.dp_pb.key.sign(&signed_data::smdp_signature2(
        signed2.der(),
        &ok.euicc_signature1,
    ));
    let advanced = smdp.store().authenticate_session(
        tid,
        &Authenticated {
            matching_id: &mid,
            eid: &eid_text,
            euicc_cert: euicc.der(),
            smdp_signature2: &signature2,
            cc_required,
        },
    )?;
    if !advanced {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "the session expired or was authenticated meanwhile",
        ));
    }
    Ok(json::encode_ok(&AuthenticateClientOk {
        transaction_id: req.transaction_id.clone(),
        profile_metadata: metadata.encode(),
        smdp_signed2: signed2.der().to_vec(),
        smdp_signature2: signed_data::signature_tlv(&signature2),
        smdp_certificate: smdp.creds.dp_pb.cert.der().to_vec(),
    }))
}

//! ES9+.HandleNotification (SGP.22 §5.6.4) and ES9+.CancelSession (§5.6.5).
//!
//! HandleNotification answers 204 to every well-formed request (SGP.22 defines no
//! refusal; §6.5.2.9): a ProfileInstallationResult is verified with the CERT.EUICC its
//! order was bound to (kept on the order, so a PIR after the session expired still
//! counts) and then makes the order `downloaded` (successResult) or `failed`
//! (errorResult); other notifications (enable, disable, delete) are verified with the
//! CERT.EUICC / CERT.EUM they carry, up to our CI. Each is written to the audit log,
//! with its verdict; one that does not verify changes nothing.
//!
//! CancelSession: a live session (8.10.1 / 3.9); the eUICC's signature over
//! euiccCancelSessionSigned with the session's CERT.EUICC (8.1 / 6.1), its transactionId
//! (8.10.1 / 3.9) and smdpOid (8.8 / 3.10, when our CERT.DPauth names one). A session
//! that never reached authenticateClient has no eUICC key yet: it just ends. The order:
//! after endUserRejection or pprNotAllowed it fails; after postponed, timeout or any
//! other reason it is released again for a later download (our reading of §5.6.5: the
//! SM-DP+ ends the download for reasons that say the user or policy refused it, and
//! keeps the profile available otherwise).

use super::common::{parse, refuse, Outcome, Refusal};
use super::service::Smdp;
use crate::sm::store::{Actor, AuditResult, SessionState};
use apdu::iso7816::tlv;
use apdu::sgp22::es10b::{
    CancelSessionReason, CancelSessionResponse, FinalResult, PendingNotification,
    ProfileInstallationResult, RetrieveNotificationsListResponse,
};
use apdu::sgp22::es9p::{
    self as json, CancelSessionOk, CancelSessionRequest, HandleNotificationRequest, StatusCode,
};
use apdu::sgp22::pki::{verify_chain, Cert, Role};

fn verifies(cert_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = Cert::from_der(cert_der).and_then(|c| c.public_key()) else {
        return false;
    };
    let sig: Option<[u8; 64]> = sig.try_into().ok();
    sig.is_some_and(|s| key.verify(msg, &s).is_ok())
}

/// One `otherSignedNotification` (`30 ..`), decoded through the list answer it comes
/// from in ES10b (`BF2B { A0 { 30 .. } }`).
fn decode_other(b: &[u8]) -> Option<apdu::sgp22::es10b::OtherSignedNotification> {
    let mut inner = vec![0xA0];
    tlv::push_len(b.len(), &mut inner);
    inner.extend_from_slice(b);
    let mut outer = vec![0xBF, 0x2B];
    tlv::push_len(inner.len(), &mut outer);
    outer.extend_from_slice(&inner);
    match RetrieveNotificationsListResponse::decode(&outer).ok()? {
        RetrieveNotificationsListResponse::List(mut l) if l.len() == 1 => match l.pop()? {
            PendingNotification::Other(o) => Some(o),
            PendingNotification::InstallResult(_) => None,
        },
        _ => None,
    }
}

/// ES9+.HandleNotification.
pub(crate) fn handle_notification(smdp: &Smdp, body: &[u8]) -> Outcome {
    let req: HandleNotificationRequest = parse(body)?;
    let n = &req.pending_notification;
    let system = Actor::Sm;
    match n.first() {
        Some(0xBF) => {
            let Ok(pir) = ProfileInstallationResult::decode(n) else {
                smdp.store().log_notification(
                    "order:-",
                    &system,
                    AuditResult::Refused,
                    "a ProfileInstallationResult that does not decode",
                )?;
                return Ok(Vec::new());
            };
            install_result(smdp, &pir)?;
        }
        Some(0x30) => other_notification(smdp, n)?,
        _ => {
            smdp.store().log_notification(
                "order:-",
                &system,
                AuditResult::Refused,
                "a pendingNotification that is neither a PIR nor an otherSignedNotification",
            )?;
        }
    }
    Ok(Vec::new())
}

fn install_result(smdp: &Smdp, pir: &ProfileInstallationResult) -> Result<(), Refusal> {
    let data = pir.data.value();
    let tid = &data.transaction_id;
    let order = smdp.store().order_by_transaction(tid)?;
    let Some(order) = order else {
        smdp.store().log_notification(
            "order:-",
            &Actor::Sm,
            AuditResult::Refused,
            &format!(
                "PIR for transactionId {} that no order was bound to",
                hex::encode_upper(tid)
            ),
        )?;
        return Ok(());
    };
    let actor = Actor::Card(order.bound_eid.clone().unwrap_or_else(|| "-".into()));
    let cert = order.euicc_cert.as_deref().unwrap_or_default();
    if !verifies(cert, pir.data.der(), &pir.signature) {
        smdp.store().log_notification(
            &order.audit_key(),
            &actor,
            AuditResult::Refused,
            &format!(
                "PIR of order {} whose euiccSignPIR does not verify with the bound CERT.EUICC",
                order.matching_id
            ),
        )?;
        return Ok(());
    }
    let (success, what) = match &data.final_result {
        FinalResult::Success { .. } => (true, "successResult".to_string()),
        FinalResult::Error {
            command, reason, ..
        } => (false, format!("errorResult {command:?} / {reason:?}")),
    };
    smdp.store().record_install_result(
        tid,
        success,
        &actor,
        &format!(
            "PIR of order {} (ICCID {}, seq {}): {what}",
            order.matching_id, order.iccid, data.notification.seq
        ),
    )?;
    Ok(())
}

fn other_notification(smdp: &Smdp, n: &[u8]) -> Result<(), Refusal> {
    let Some(o) = decode_other(n) else {
        smdp.store().log_notification(
            "order:-",
            &Actor::Sm,
            AuditResult::Refused,
            "an otherSignedNotification that does not decode",
        )?;
        return Ok(());
    };
    let meta = o.tbs.value();
    let iccid = meta.iccid.map(|i| i.digits()).unwrap_or_else(|| "-".into());
    let chain_ok = match (
        Cert::from_der(&o.euicc_certificate),
        Cert::from_der(&o.eum_certificate),
    ) {
        (Ok(euicc), Ok(eum)) => verify_chain(
            &euicc,
            std::slice::from_ref(&eum),
            &smdp.creds.cis,
            Role::Euicc,
            Some(super::common::now_secs()),
        )
        .is_ok(),
        _ => false,
    };
    let ok = chain_ok && verifies(&o.euicc_certificate, o.tbs.der(), &o.signature);
    let eid = Cert::from_der(&o.euicc_certificate)
        .ok()
        .and_then(|c| c.eid().ok())
        .map(|e| e.digits())
        .unwrap_or_else(|| "-".into());
    smdp.store().log_notification(
        &format!("iccid:{iccid}"),
        &Actor::Card(eid),
        if ok {
            AuditResult::Ok
        } else {
            AuditResult::Refused
        },
        &format!(
            "notification seq {} events {:02X} for ICCID {iccid}: {}",
            meta.seq,
            meta.events,
            if ok {
                "verified"
            } else {
                "signature or chain does not verify"
            }
        ),
    )?;
    Ok(())
}

/// ES9+.CancelSession.
pub(crate) fn cancel_session(smdp: &Smdp, body: &[u8]) -> Outcome {
    let req: CancelSessionRequest = parse(body)?;
    let tid = req.transaction_id.as_bytes();
    let Some(session) = smdp.store().live_session(tid)? else {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "no session has this transactionId",
        ));
    };
    let (signed, signature) = match CancelSessionResponse::decode(&req.cancel_session_response) {
        Ok(CancelSessionResponse::Ok { signed, signature }) => (signed, signature),
        Ok(CancelSessionResponse::Error(code)) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("the eUICC did not cancel the session ({code:?})"),
            ))
        }
        Err(e) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("cancelSessionResponse does not decode: {e}"),
            ))
        }
    };
    let s = signed.value();
    let actor = Actor::Card(session.eid.clone().unwrap_or_else(|| "-".into()));
    if session.state != SessionState::Initiated {
        let cert = session.euicc_cert.as_deref().unwrap_or_default();
        if !verifies(cert, signed.der(), &signature) {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                "euiccCancelSessionSignature does not verify with CERT.EUICC",
            ));
        }
    }
    if s.transaction_id != tid {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "euiccCancelSessionSigned carries another transactionId",
        ));
    }
    if let Some(ours) = smdp.creds.dp_auth.cert.first_subject_alt_registered_id() {
        if s.smdp_oid != ours {
            return Err(refuse(
                StatusCode::SmdpInvalidAssociation,
                "smdpOid is not the OID of our CERT.DPauth",
            ));
        }
    }
    let retry = !matches!(
        s.reason,
        CancelSessionReason::EndUserRejection | CancelSessionReason::PprNotAllowed
    );
    smdp.store().cancel_session(
        tid,
        retry,
        &actor,
        &format!(
            "session {} cancelled by the eUICC ({:?}); the order {}",
            hex::encode_upper(tid),
            s.reason,
            if retry { "stays available" } else { "ends" }
        ),
    )?;
    Ok(json::encode_ok(&CancelSessionOk::default()))
}

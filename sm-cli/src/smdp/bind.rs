//! ES9+.GetBoundProfilePackage (SGP.22 §5.6.2) and the BPP (§2.5.4, §2.6.4, Annex G).
//!
//! Checked in the order of §5.6.2: a live session that passed authenticateClient (8.10.1
//! / 3.9); euiccSignature2 over `euiccSigned2 || smdpSignature2` with the session's
//! CERT.EUICC (8.1 / 6.1) and its transactionId; when the order has a confirmation code,
//! hashCc = SHA-256(SHA-256(code) || transactionId) present (8.2.7 / 2.2) and equal
//! (8.2.7 / 3.8; the order fails after [`MAX_CC_FAILURES`] wrong codes, 8.2.7 / 6.4).
//! Then the order is bound to the session in one store transaction (a second session
//! finds it no longer `released`: 8.2 / 3.7), and the BPP made: a one-time ECKA key pair
//! (otPK/otSK.DP.ECKA) on CERT.DPpb's curve, ShS with otPK.EUICC.ECKA, the session keys
//! by the X9.63 KDF with the EID, InitialiseSecureChannel signed with SK.DPpb,
//! ConfigureISDP, StoreMetadata (the profileMetadata of authenticateClient), optionally
//! ReplaceSessionKeys with fresh PPKs, and the profile elements, all by
//! `apdu::sgp22::bpp::BppBuilder`.

use super::common::{parse, refuse, Outcome, Refusal};
use super::order;
use super::service::Smdp;
use crate::sm::store::{Actor, BindRefusal, SessionState, MAX_CC_FAILURES};
use apdu::crypto::{random_array, SysRng};
use apdu::sgp22::bpp::{BppBuilder, ControlRefTemplate, InitialiseSecureChannel, SessionKeys};
use apdu::sgp22::es10b::{signed_data, PrepareDownloadResponse};
use apdu::sgp22::es9p::{
    self as json, GetBoundProfilePackageOk, GetBoundProfilePackageRequest, StatusCode,
};
use apdu::sgp22::pki::{Cert, PrivateKey, PublicKey};

/// The host ID of the CRT (SGP.22 §2.6.4.2: 1 to 16 bytes chosen by the SM-DP+).
const HOST_ID: &[u8] = b"veuicc-smdp";

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::Internal(e.to_string())
}

/// A one-time key pair from the system RNG (a 32-byte scalar; the rare value that is
/// no scalar of the curve is drawn again).
fn one_time_key(curve: apdu::sgp22::pki::Curve) -> Result<PrivateKey, Refusal> {
    for _ in 0..16 {
        let s = zeroize::Zeroizing::new(random_array::<32, _>(&mut SysRng).map_err(internal)?);
        if let Ok(k) = PrivateKey::from_scalar(curve, s.as_slice()) {
            return Ok(k);
        }
    }
    Err(Refusal::Internal("no one-time key from the RNG".into()))
}

/// ES9+.GetBoundProfilePackage.
pub(crate) fn get_bound_profile_package(smdp: &Smdp, body: &[u8]) -> Outcome {
    let req: GetBoundProfilePackageRequest = parse(body)?;
    let tid = req.transaction_id.as_bytes().to_vec();
    let session = smdp.store().live_session(&tid)?;
    let Some(session) = session.filter(|s| s.state == SessionState::Authenticated) else {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "no session awaiting getBoundProfilePackage has this transactionId",
        ));
    };
    let outcome = bind(smdp, &req, &session);
    if outcome.is_err() {
        smdp.store().drop_session(&tid)?;
    }
    outcome
}

fn bind(
    smdp: &Smdp,
    req: &GetBoundProfilePackageRequest,
    session: &crate::sm::store::SmdpSession,
) -> Outcome {
    let tid = req.transaction_id.as_bytes();
    let (Some(cert), Some(sig2), Some(mid), Some(eid)) = (
        session.euicc_cert.as_deref(),
        session.smdp_signature2.as_deref(),
        session.matching_id.as_deref(),
        session.eid.as_deref(),
    ) else {
        return Err(Refusal::Internal(
            "an authenticated session lacks its parts".into(),
        ));
    };
    let actor = Actor::Card(eid.to_string());
    let ok = match PrepareDownloadResponse::decode(&req.prepare_download_response) {
        Ok(PrepareDownloadResponse::Ok(ok)) => ok,
        Ok(PrepareDownloadResponse::Error { code, .. }) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("the eUICC refused PrepareDownload ({code:?})"),
            ))
        }
        Err(e) => {
            return Err(refuse(
                StatusCode::EuiccVerificationFailed,
                format!("prepareDownloadResponse does not decode: {e}"),
            ))
        }
    };
    let key = Cert::from_der(cert)
        .and_then(|c| c.public_key())
        .map_err(internal)?;
    let msg = signed_data::euicc_signature2(ok.euicc_signed2.der(), sig2);
    let sig: Option<[u8; 64]> = ok.euicc_signature2.as_slice().try_into().ok();
    let verified = sig.is_some_and(|s| key.verify(&msg, &s).is_ok());
    if !verified {
        return Err(refuse(
            StatusCode::EuiccVerificationFailed,
            "euiccSignature2 does not verify with CERT.EUICC",
        ));
    }
    let signed2 = ok.euicc_signed2.value();
    if signed2.transaction_id != tid {
        return Err(refuse(
            StatusCode::TransactionIdUnknown,
            "euiccSigned2 carries another transactionId",
        ));
    }

    // Confirmation code (§3.1.3.2, §5.6.2).
    let order = smdp
        .store()
        .order(mid)?
        .ok_or_else(|| refuse(StatusCode::BppUnavailable, "the order is gone"))?;
    if let Some(cc_hash) = &order.cc_hash {
        let Some(got) = signed2.hash_cc else {
            return Err(refuse(
                StatusCode::ConfirmationCodeMissing,
                "the order needs a confirmation code",
            ));
        };
        let want = json::hash_cc(cc_hash, tid);
        if !constant_time_eq(&got, &want) {
            let n = smdp.store().order_cc_failure(mid, &actor)?;
            return Err(if n >= MAX_CC_FAILURES {
                refuse(
                    StatusCode::ConfirmationCodeRetriesExceeded,
                    format!("{n} wrong confirmation codes"),
                )
            } else {
                refuse(
                    StatusCode::ConfirmationCodeRefused,
                    format!("{} tries left", MAX_CC_FAILURES - n),
                )
            });
        }
    }

    // The one-time key and session keys, before binding (a bad otPK binds nothing).
    let curve = smdp.creds.dp_pb.key.curve();
    let peer = PublicKey::from_sec1(curve, &signed2.euicc_otpk).map_err(|e| {
        refuse(
            StatusCode::EuiccVerificationFailed,
            format!("euiccOtpk is no point of CERT.DPpb's curve: {e}"),
        )
    })?;
    let otsk = one_time_key(curve)?;
    let shs = otsk.ecdh(&peer).ok_or_else(|| {
        refuse(
            StatusCode::EuiccVerificationFailed,
            "euiccOtpk: ECDH failed",
        )
    })?;
    let eid_bytes = eid.parse::<apdu::Eid>().map_err(internal)?.0;
    let crt = ControlRefTemplate::aes128(HOST_ID);
    let keys = SessionKeys::kdf(shs.as_slice(), &crt, &eid_bytes).map_err(internal)?;

    // Bind the order: from here on no other session can have it.
    let order = match smdp.store().bind_download(tid, &actor)? {
        Ok(o) => o,
        Err(BindRefusal::NoSession) => {
            return Err(refuse(
                StatusCode::TransactionIdUnknown,
                "the session expired or was bound meanwhile",
            ))
        }
        Err(BindRefusal::OrderNotReleased(state)) => {
            return Err(refuse(
                StatusCode::BppUnavailable,
                format!(
                    "the order is {}",
                    state.map(|s| s.as_str()).unwrap_or("gone")
                ),
            ))
        }
    };
    let built = order::package_for(&smdp.store(), &order, &smdp.address);
    let (package, metadata) = match built {
        Ok(p) => p,
        Err(e) => {
            smdp.store()
                .fail_order(mid, &actor, &format!("no package: {e}"))?;
            return Err(refuse(StatusCode::BppUnavailable, e.to_string()));
        }
    };
    let mut isc = InitialiseSecureChannel {
        remote_op_id: apdu::sgp22::bpp::structure::REMOTE_OP_INSTALL_BPP,
        transaction_id: tid.to_vec(),
        crt,
        smdp_otpk: otsk.public_key().to_sec1(),
        smdp_sign: Vec::new(),
    };
    isc.smdp_sign = smdp
        .creds
        .dp_pb
        .key
        .sign(&isc.signed_data(&signed2.euicc_otpk))
        .to_vec();
    let ppk = if smdp.ppk {
        let r = |_| random_array::<16, _>(&mut SysRng).map_err(internal);
        Some(SessionKeys::from_parts(r(0)?, r(1)?, r(2)?))
    } else {
        None
    };
    let bpp = BppBuilder {
        isc,
        configure_isdp: vec![0xBF, 0x24, 0x00],
        store_metadata: metadata.encode(),
        ppk,
        upp: package,
    }
    .build(&keys);
    Ok(json::encode_ok(&GetBoundProfilePackageOk {
        transaction_id: req.transaction_id.clone(),
        bound_profile_package: bpp,
    }))
}

/// Compares two hashes without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

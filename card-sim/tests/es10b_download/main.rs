//! AuthenticateServer and PrepareDownload on the card in process, the test playing the
//! SM-DP+ with a test PKI from `apdu::sgp22::pki::gen` (CI, EUM, eUICC, DPauth, DPpb)
//! installed as the card's PKI: signatures both ways over the bytes SGP.22 §5.7.13 /
//! §5.7.14 name, and the refusals (wrong CI, wrong role, bad signatures, wrong
//! transactionId, a second session in the middle). The LoadBoundProfilePackage that
//! follows, the installation and its notification are in [`load`].

#[path = "../common/mod.rs"]
mod common;
mod load;
use apdu::sgp22::es10::{ChallengeResponse, Es10Request};
use apdu::sgp22::es10b::{
    signed_data, AuthenticateErrorCode, AuthenticateServerRequest, AuthenticateServerResponse,
    CtxParams1, DeviceInfo, DownloadErrorCode, Encoded, PrepareDownloadRequest,
    PrepareDownloadResponse, ServerSigned1, SmdpSigned2,
};
use apdu::sgp22::pki::gen::{test_pki, TestPki};
use apdu::sgp22::pki::{Cert, Curve};
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::new_card;
use card_sim::state::pki::{CardPki, EuiccChain, EuiccKey};
use card_sim::state::{MemoryStorage, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;

const TID: [u8; 16] = [0x71; 16];

fn pki(seed: u64) -> TestPki {
    test_pki(
        Curve::NistP256,
        eid(),
        "smdp.example",
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

/// A card whose PKI is `p`'s.
fn card(p: &TestPki) -> (Transport<Euicc>, u8) {
    let (t, ch, _) = card_and_storage(p);
    (t, ch)
}

/// [`card`], and the storage it saves to.
fn card_and_storage(p: &TestPki) -> (Transport<Euicc>, u8, Arc<MemoryStorage>) {
    let mut state = new_card(eid(), 0);
    state.pki = CardPki {
        chains: vec![EuiccChain {
            euicc_key: EuiccKey(p.euicc.key.clone()),
            euicc_cert_der: p.euicc.cert.der().to_vec(),
            eum_cert_der: p.eum.cert.der().to_vec(),
            ci_ski: p.ci.cert.subject_key_id().unwrap(),
        }],
        trusted_ci: vec![p.ci.cert.der().to_vec()],
    };
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let euicc = Euicc::new(
        state,
        Box::new(storage.clone()),
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    );
    let mut t = Transport::new(euicc);
    t.power_on();
    let ch = open_isdr(&mut t);
    (t, ch, storage)
}

fn call(c: &mut impl Card, ch: u8, msg: &[u8]) -> Vec<u8> {
    let (d, sw) = es10(c, ch, msg, 120);
    assert_eq!(sw, "9000");
    d
}

fn challenge(c: &mut impl Card, ch: u8) -> [u8; 16] {
    ChallengeResponse::decode(&call(c, ch, &Es10Request::GetEuiccChallenge.encode()))
        .unwrap()
        .0
}

/// The SM-DP+'s AuthenticateServer request, signed with `signer` (the DPauth key).
fn auth_req(
    p: &TestPki,
    challenge: [u8; 16],
    cert: &Cert,
    signer: &TestPki,
) -> AuthenticateServerRequest {
    let signed = Encoded::new(ServerSigned1 {
        transaction_id: TID.to_vec(),
        euicc_challenge: challenge,
        server_address: "smdp.example".into(),
        server_challenge: [0x5C; 16],
    });
    AuthenticateServerRequest {
        server_signature1: signer.dp_auth.key.sign(signed.der()).to_vec(),
        server_signed1: signed,
        ci_pkid: p.ci.cert.subject_key_id().unwrap(),
        server_certificate: cert.der().to_vec(),
        ctx_params1: Encoded::new(CtxParams1 {
            matching_id: Some("TS48V2-SAIP2-1-BERTLV-UNIQUE".into()),
            device_info: DeviceInfo {
                tac: vec![0x35, 0x29, 0x06, 0x11],
                capabilities: vec![],
                imei: None,
            },
        }),
    }
}

fn auth(c: &mut impl Card, ch: u8, req: &AuthenticateServerRequest) -> AuthenticateServerResponse {
    AuthenticateServerResponse::decode(&call(c, ch, &req.encode())).unwrap()
}

fn auth_err(r: AuthenticateServerResponse) -> AuthenticateErrorCode {
    match r {
        AuthenticateServerResponse::Error { code, .. } => code,
        ok => panic!("accepted: {ok:?}"),
    }
}

fn prep_req(p: &TestPki, tid: &[u8], euicc_sig1: &[u8]) -> PrepareDownloadRequest {
    let signed = Encoded::new(SmdpSigned2 {
        transaction_id: tid.to_vec(),
        cc_required: true,
        bpp_euicc_otpk: None,
    });
    PrepareDownloadRequest {
        smdp_signature2: p
            .dp_pb
            .key
            .sign(&signed_data::smdp_signature2(signed.der(), euicc_sig1))
            .to_vec(),
        smdp_signed2: signed,
        hash_cc: Some([0xCC; 32]),
        smdp_certificate: p.dp_pb.cert.der().to_vec(),
    }
}

fn prep(c: &mut impl Card, ch: u8, req: &PrepareDownloadRequest) -> PrepareDownloadResponse {
    PrepareDownloadResponse::decode(&call(c, ch, &req.encode())).unwrap()
}

/// GetEUICCChallenge + AuthenticateServer; returns euiccSignature1.
fn authenticated(c: &mut impl Card, ch: u8, p: &TestPki) -> Vec<u8> {
    let ch_ = challenge(c, ch);
    let req = auth_req(p, ch_, &p.dp_auth.cert, p);
    let AuthenticateServerResponse::Ok(ok) = auth(c, ch, &req) else {
        panic!("refused")
    };
    // euiccSignature1 over the euiccSigned1 TLV with the eUICC key; the certificates
    // are the card's; ctxParams1 is echoed byte for byte.
    let key = Cert::from_der(&ok.euicc_certificate)
        .unwrap()
        .public_key()
        .unwrap();
    let sig: [u8; 64] = ok.euicc_signature1.clone().try_into().unwrap();
    key.verify(ok.euicc_signed1.der(), &sig).unwrap();
    assert_eq!(ok.euicc_certificate, p.euicc.cert.der());
    assert_eq!(ok.eum_certificate, p.eum.cert.der());
    let s = ok.euicc_signed1.value();
    assert_eq!(s.ctx_params1, req.ctx_params1.der());
    assert_eq!(s.server_challenge, [0x5C; 16]);
    assert_eq!(s.transaction_id, TID);
    assert_eq!(&s.euicc_info2[..2], &[0xBF, 0x22]);
    ok.euicc_signature1.clone()
}

#[test]
fn authenticate_and_prepare_download() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let sig1 = authenticated(&mut c, ch, &p);
    let req = prep_req(&p, &TID, &sig1);
    let PrepareDownloadResponse::Ok(ok) = prep(&mut c, ch, &req) else {
        panic!("refused")
    };
    let s = ok.euicc_signed2.value();
    assert_eq!(s.transaction_id, TID);
    assert_eq!(s.hash_cc, Some([0xCC; 32]));
    assert_eq!(s.euicc_otpk.len(), 65);
    assert_eq!(s.euicc_otpk[0], 0x04);
    // euiccSignature2 over euiccSigned2 || smdpSignature2 (5F37 TLV).
    let sig: [u8; 64] = ok.euicc_signature2.clone().try_into().unwrap();
    p.euicc
        .cert
        .public_key()
        .unwrap()
        .verify(
            &signed_data::euicc_signature2(ok.euicc_signed2.der(), &req.smdp_signature2),
            &sig,
        )
        .unwrap();
    // The same request again: the session has moved on (no second key pair).
    assert!(matches!(
        prep(&mut c, ch, &req),
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::NoSessionContext,
            ..
        }
    ));
}

#[test]
fn authenticate_server_refusals() {
    let p = pki(1);
    let other = pki(2);
    let (mut c, ch) = card(&p);
    // DPauth of another CI.
    let ch_ = challenge(&mut c, ch);
    let r = auth(&mut c, ch, &auth_req(&p, ch_, &other.dp_auth.cert, &other));
    assert_eq!(auth_err(r), AuthenticateErrorCode::InvalidCertificate);
    // The DPpb certificate for authentication: wrong role.
    let ch_ = challenge(&mut c, ch);
    let mut req = auth_req(&p, ch_, &p.dp_pb.cert, &p);
    req.server_signature1 = p.dp_pb.key.sign(req.server_signed1.der()).to_vec();
    assert_eq!(
        auth_err(auth(&mut c, ch, &req)),
        AuthenticateErrorCode::InvalidOid
    );
    // A flipped bit in serverSignature1.
    let ch_ = challenge(&mut c, ch);
    let mut req = auth_req(&p, ch_, &p.dp_auth.cert, &p);
    req.server_signature1[5] ^= 0x01;
    assert_eq!(
        auth_err(auth(&mut c, ch, &req)),
        AuthenticateErrorCode::InvalidSignature
    );
    // A CI the card has no chain under.
    let ch_ = challenge(&mut c, ch);
    let mut req = auth_req(&p, ch_, &p.dp_auth.cert, &p);
    req.ci_pkid = vec![0xAA; 20];
    assert_eq!(
        auth_err(auth(&mut c, ch, &req)),
        AuthenticateErrorCode::CiPkUnknown
    );
    // A stale challenge (a newer one was asked for).
    let old = challenge(&mut c, ch);
    let _new = challenge(&mut c, ch);
    let req = auth_req(&p, old, &p.dp_auth.cert, &p);
    assert_eq!(
        auth_err(auth(&mut c, ch, &req)),
        AuthenticateErrorCode::EuiccChallengeMismatch
    );
    // And after all of that, a proper session still works.
    authenticated(&mut c, ch, &p);
}

#[test]
fn prepare_download_refusals() {
    let p = pki(1);
    let other = pki(2);
    let (mut c, ch) = card(&p);
    // Wrong transactionId: refused, the session kept.
    let sig1 = authenticated(&mut c, ch, &p);
    let r = prep(&mut c, ch, &prep_req(&p, &[0x72; 16], &sig1));
    assert!(matches!(
        r,
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::InvalidTransactionId,
            ..
        }
    ));
    assert!(matches!(
        prep(&mut c, ch, &prep_req(&p, &TID, &sig1)),
        PrepareDownloadResponse::Ok(_)
    ));
    // smdpSignature2 over another session's euiccSignature1.
    let sig1 = authenticated(&mut c, ch, &p);
    let mut stale = sig1.clone();
    stale[0] ^= 1;
    let r = prep(&mut c, ch, &prep_req(&p, &TID, &stale));
    assert!(matches!(
        r,
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::InvalidSignature,
            ..
        }
    ));
    // DPpb of another CI.
    let sig1 = authenticated(&mut c, ch, &p);
    let r = prep(&mut c, ch, &prep_req(&other, &TID, &sig1));
    assert!(matches!(
        r,
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::InvalidCertificate,
            ..
        }
    ));
    // A second session in the middle: the first one's PrepareDownload finds no session.
    let sig1 = authenticated(&mut c, ch, &p);
    let _ = challenge(&mut c, ch);
    let r = prep(&mut c, ch, &prep_req(&p, &TID, &sig1));
    assert!(matches!(
        r,
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::NoSessionContext,
            ..
        }
    ));
    // A reset in the middle.
    let sig1 = authenticated(&mut c, ch, &p);
    c.power_off();
    c.power_on();
    let ch = open_isdr(&mut c);
    let r = prep(&mut c, ch, &prep_req(&p, &TID, &sig1));
    assert!(matches!(
        r,
        PrepareDownloadResponse::Error {
            code: DownloadErrorCode::NoSessionContext,
            ..
        }
    ));
}

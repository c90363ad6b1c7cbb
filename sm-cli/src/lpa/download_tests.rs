//! The LPA's download and notifications against the real card (card-sim's `Euicc` behind
//! its transport, in process) and an SM-DP+ in process through `es9p::InProcess`.
//!
//! The SM-DP+ here is a small stand-in written for these tests ([`StandIn`]): it signs
//! with a DPauth and a DPpb issued under the shipped test CI (card-sim/test-pki, whose
//! key is public on purpose), so a card made with its defaults trusts it, and it can be
//! told to fail at one step. It checks what an LPA must get right (transactionIds, the
//! confirmation code's hashCc) and records what it was sent (notifications, cancels).
//!
//! Long because the stand-in SM-DP+ (its PKI, BPP and failure points) and the
//! download tests that drive it share one set of fixtures.

use crate::errors::CliError;
use crate::es9p::{Es9Handler, Es9Reply, InProcess};
use crate::lpa::activation_code::ActivationCode;
use crate::lpa::download::{device_info, download, Downloaded, Order, Step};
use crate::lpa::es9::Es9Client;
use crate::lpa::notifications::process;
use crate::lpa::Es10Session;
use crate::test_card::SimLink;
use apdu::saip::build::{build, Subscription};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::bpp::{BppBuilder, ControlRefTemplate, InitialiseSecureChannel, SessionKeys};
use apdu::sgp22::es10::{events, Iccid, ProfileClass, ProfileInfo};
use apdu::sgp22::es10b::{
    signed_data, AuthenticateServerResponse, CancelSessionResponse, Encoded, NotificationConfig,
    PrepareDownloadResponse, ServerSigned1, SmdpSigned2, StoreMetadata,
};
use apdu::sgp22::es9p::{
    confirmation_code_hash, encode_failed, encode_ok, hash_cc, parse_request, AuthenticateClientOk,
    AuthenticateClientRequest, CancelSessionOk, CancelSessionRequest, GetBoundProfilePackageOk,
    GetBoundProfilePackageRequest, HandleNotificationRequest, InitiateAuthenticationOk,
    InitiateAuthenticationRequest, StatusCode, TransactionId,
};
use apdu::sgp22::pki::gen::{make, Issued, Kind};
use apdu::sgp22::pki::{Cert, Curve, PrivateKey, PublicKey};
use card_sim::state::new_card::derive_eid;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use std::sync::Mutex;
use zeroize::Zeroizing;

const HOST: &str = "smdp.test.example:8443";
const ICCID: &str = "8949449999999990023";
const TEST_CI_CERT: &[u8] =
    include_bytes!("../../../card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
const TEST_CI_KEY: &str =
    include_str!("../../../card-sim/test-pki/CertificateIssuer/SK_CI_ECDSA_NIST.pem");

/// Card `slot` of this file's cards (`test_card::SimLink`).
fn card(slot: u16) -> SimLink {
    SimLink::new(11, slot, u64::from(slot) + 100)
}

/// Where the stand-in SM-DP+ fails on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailAt {
    Nowhere,
    /// getBoundProfilePackage answers HTTP 500 (after PrepareDownload on the card).
    BppHttp500,
    /// handleNotification answers Failed.
    Notification,
}

#[derive(Default)]
struct Recorded {
    transaction_id: Option<TransactionId>,
    euicc_signature1: Vec<u8>,
    eid: Option<apdu::Eid>,
    notifications: Vec<Vec<u8>>,
    cancels: Vec<Vec<u8>>,
}

/// The test SM-DP+ (module docs).
struct StandIn {
    dp_auth: Issued,
    dp_pb: Issued,
    ci_ski: Vec<u8>,
    /// SHA-256 of the order's confirmation code, when it has one.
    cc_hash: Option<[u8; 32]>,
    fail: FailAt,
    rng: Mutex<ChaCha20Rng>,
    rec: Mutex<Recorded>,
}

impl StandIn {
    fn new(cc: Option<&str>, fail: FailAt) -> StandIn {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let ci = Issued {
            cert: Cert::from_der(TEST_CI_CERT).unwrap(),
            key: PrivateKey::from_pem(TEST_CI_KEY).unwrap(),
        };
        StandIn {
            dp_auth: make(&Kind::DpAuth, Curve::NistP256, Some(&ci), 901, &mut rng).unwrap(),
            dp_pb: make(&Kind::DpPb, Curve::NistP256, Some(&ci), 902, &mut rng).unwrap(),
            ci_ski: ci.cert.subject_key_id().unwrap(),
            cc_hash: cc.map(|c| confirmation_code_hash(c.as_bytes())),
            fail,
            rng: Mutex::new(rng),
            rec: Mutex::new(Recorded::default()),
        }
    }

    fn random16(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.rng.lock().unwrap().fill_bytes(&mut b);
        b
    }

    fn ok(body: Vec<u8>) -> Es9Reply {
        Es9Reply {
            http_status: 200,
            body,
        }
    }

    fn failed(code: StatusCode) -> Es9Reply {
        Self::ok(encode_failed(code, None))
    }

    fn metadata() -> StoreMetadata {
        StoreMetadata {
            iccid: Iccid::from_digits(ICCID).unwrap(),
            service_provider_name: "TestSPN".into(),
            profile_name: "LPA test profile".into(),
            profile_class: ProfileClass::Operational,
            notification_configs: vec![NotificationConfig {
                events: events::ENABLE | events::DISABLE | events::DELETE,
                address: HOST.into(),
            }],
            profile_owner: None,
        }
    }

    fn initiate(&self, body: &[u8]) -> Es9Reply {
        let req: InitiateAuthenticationRequest = parse_request(body).unwrap();
        let tid = TransactionId::new(&self.random16()).unwrap();
        let signed1 = Encoded::new(ServerSigned1 {
            transaction_id: tid.as_bytes().to_vec(),
            euicc_challenge: req.euicc_challenge,
            server_address: req.smdp_address,
            server_challenge: self.random16(),
        });
        let sig = self.dp_auth.key.sign(signed1.der());
        self.rec.lock().unwrap().transaction_id = Some(tid.clone());
        Self::ok(encode_ok(&InitiateAuthenticationOk::new(
            tid,
            &signed1,
            &sig,
            &self.ci_ski,
            self.dp_auth.cert.der(),
        )))
    }

    fn authenticate_client(&self, body: &[u8]) -> Es9Reply {
        let req: AuthenticateClientRequest = parse_request(body).unwrap();
        let AuthenticateServerResponse::Ok(ok) =
            AuthenticateServerResponse::decode(&req.authenticate_server_response).unwrap()
        else {
            return Self::failed(StatusCode::EuiccVerificationFailed);
        };
        let mut rec = self.rec.lock().unwrap();
        if rec.transaction_id.as_ref() != Some(&req.transaction_id) {
            return Self::failed(StatusCode::TransactionIdUnknown);
        }
        rec.euicc_signature1 = ok.euicc_signature1.clone();
        rec.eid = Cert::from_der(&ok.euicc_certificate).unwrap().eid().ok();
        let signed2 = Encoded::new(SmdpSigned2 {
            transaction_id: req.transaction_id.as_bytes().to_vec(),
            cc_required: self.cc_hash.is_some(),
            bpp_euicc_otpk: None,
        });
        let sig = self.dp_pb.key.sign(&signed_data::smdp_signature2(
            signed2.der(),
            &ok.euicc_signature1,
        ));
        Self::ok(encode_ok(&AuthenticateClientOk {
            transaction_id: req.transaction_id,
            profile_metadata: Self::metadata().encode(),
            smdp_signed2: signed2.der().to_vec(),
            smdp_signature2: signed_data::signature_tlv(&sig),
            smdp_certificate: self.dp_pb.cert.der().to_vec(),
        }))
    }

    fn bpp(&self, body: &[u8]) -> Es9Reply {
        if self.fail == FailAt::BppHttp500 {
            return Es9Reply {
                http_status: 500,
                body: vec![],
            };
        }
        let req: GetBoundProfilePackageRequest = parse_request(body).unwrap();
        let PrepareDownloadResponse::Ok(ok) =
            PrepareDownloadResponse::decode(&req.prepare_download_response).unwrap()
        else {
            return Self::failed(StatusCode::EuiccVerificationFailed);
        };
        let tid = req.transaction_id.as_bytes().to_vec();
        let signed2 = ok.euicc_signed2.value();
        // SGP.22 §3.1.3.2: hashCc = SHA-256(SHA-256(code) || transactionId).
        if let Some(h) = self.cc_hash {
            match signed2.hash_cc {
                None => return Self::failed(StatusCode::ConfirmationCodeMissing),
                Some(got) if got != hash_cc(&h, &tid) => {
                    return Self::failed(StatusCode::ConfirmationCodeRefused)
                }
                Some(_) => {}
            }
        }
        let eid = self.rec.lock().unwrap().eid.unwrap();
        let mut rng = self.rng.lock().unwrap();
        let otsk = PrivateKey::generate(Curve::NistP256, &mut *rng);
        let mut isc = InitialiseSecureChannel {
            remote_op_id: 1,
            transaction_id: tid.clone(),
            crt: ControlRefTemplate::aes128(b"lpa-test"),
            smdp_otpk: otsk.public_key().to_sec1(),
            smdp_sign: Vec::new(),
        };
        isc.smdp_sign = self
            .dp_pb
            .key
            .sign(&isc.signed_data(&signed2.euicc_otpk))
            .to_vec();
        let peer = PublicKey::from_sec1(Curve::NistP256, &signed2.euicc_otpk).unwrap();
        let shs = otsk.ecdh(&peer).unwrap();
        let keys = SessionKeys::kdf(shs.as_slice(), &isc.crt, &eid.0).unwrap();
        let sub = Subscription {
            iccid: Iccid::from_digits(ICCID).unwrap(),
            imsi: "001010123456063".into(),
            msisdn: None,
            ki: Secret::new(vec![0x46; 16]),
            opc: Secret::new(vec![0xCD; 16]),
            algorithm: Algorithm::Milenage,
            spn: "TestSPN".into(),
            profile_type: "test".into(),
            pin1: "0000".into(),
            puk1: "12345678".into(),
            adm1: "88888888".into(),
        };
        let bpp = BppBuilder {
            isc,
            configure_isdp: vec![0xBF, 0x24, 0x00],
            store_metadata: Self::metadata().encode(),
            ppk: None,
            upp: Zeroizing::new(build(&sub).unwrap().encode()),
        }
        .build(&keys);
        Self::ok(encode_ok(&GetBoundProfilePackageOk {
            transaction_id: req.transaction_id,
            bound_profile_package: bpp,
        }))
    }

    fn notification(&self, body: &[u8]) -> Es9Reply {
        let req: HandleNotificationRequest = parse_request(body).unwrap();
        if self.fail == FailAt::Notification {
            return Self::failed(StatusCode::TransactionIdUnknown);
        }
        self.rec
            .lock()
            .unwrap()
            .notifications
            .push(req.pending_notification);
        Es9Reply {
            http_status: 204,
            body: vec![],
        }
    }

    fn cancel(&self, body: &[u8]) -> Es9Reply {
        let req: CancelSessionRequest = parse_request(body).unwrap();
        self.rec
            .lock()
            .unwrap()
            .cancels
            .push(req.cancel_session_response);
        Self::ok(encode_ok(&CancelSessionOk::default()))
    }

    fn tid(&self) -> TransactionId {
        self.rec.lock().unwrap().transaction_id.clone().unwrap()
    }
}

impl Es9Handler for StandIn {
    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply {
        match function {
            "initiateAuthentication" => self.initiate(body),
            "authenticateClient" => self.authenticate_client(body),
            "getBoundProfilePackage" => self.bpp(body),
            "handleNotification" => self.notification(body),
            "cancelSession" => self.cancel(body),
            _ => Es9Reply {
                http_status: 404,
                body: vec![],
            },
        }
    }
}

/// Runs a download of `code` into `link` from `smdp`; returns the result and the steps.
fn run(
    link: &mut SimLink,
    smdp: &StandIn,
    code: &str,
    cc: Option<&str>,
) -> (Result<Downloaded, CliError>, Vec<Step>) {
    let code = ActivationCode::parse(code).unwrap();
    let cc = cc.map(|c| Zeroizing::new(c.to_string()));
    let order = Order {
        code: &code,
        confirmation_code: cc.as_ref(),
        device_info: device_info(Some("490154203237518")),
    };
    let mut transport = InProcess(smdp);
    let address = code.address.to_string();
    let mut es9 = Es9Client::new(&mut transport, &address);
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let mut steps = Vec::new();
    let r = download(&mut es10, &mut es9, &order, &mut |s| steps.push(s));
    es10.close().unwrap();
    (r, steps)
}

fn profiles(link: &mut SimLink) -> Vec<ProfileInfo> {
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let p = es10.get_profiles(None).unwrap();
    es10.close().unwrap();
    p
}

fn has_iccid(link: &mut SimLink) -> bool {
    profiles(link)
        .iter()
        .any(|p| p.iccid.map(|i| i.digits()).as_deref() == Some(ICCID))
}

/// The card has no download session with `tid`: CancelSession answers
/// invalidTransactionId (5), as it does only when no session with it is open.
fn assert_no_session(link: &mut SimLink, tid: &TransactionId) {
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let e = es10
        .cancel_session(
            tid.as_bytes(),
            apdu::sgp22::es10b::CancelSessionReason::Postponed,
        )
        .unwrap_err();
    assert!(
        matches!(e, CliError::Es10 { code: 5, .. }),
        "the card still has the session: {e}"
    );
    es10.close().unwrap();
}

#[test]
fn a_whole_download_installs_the_profile_and_delivers_its_notification() {
    let mut link = card(0);
    let smdp = StandIn::new(None, FailAt::Nowhere);
    let (r, steps) = run(&mut link, &smdp, &format!("LPA:1${HOST}$MATCH-1"), None);
    let d = r.unwrap();
    assert_eq!(d.iccid.digits(), ICCID);
    assert_eq!(d.smdp_address, HOST);
    assert_eq!(d.service_provider.as_deref(), Some("TestSPN"));
    assert!(d.notification.delivered && d.notification.removed, "{d:?}");
    // lpac's order, every BPP segment its own message, and no cancel.
    assert_eq!(
        steps[..7],
        [
            Step::GetEuiccChallenge,
            Step::GetEuiccInfo1,
            Step::InitiateAuthentication,
            Step::AuthenticateServer,
            Step::AuthenticateClient,
            Step::PrepareDownload,
            Step::GetBoundProfilePackage,
        ]
    );
    let segments = steps
        .iter()
        .filter(|s| matches!(s, Step::LoadBoundProfilePackage(_)))
        .count();
    assert!(segments >= 5, "{segments} segments");
    assert!(!steps.contains(&Step::CancelSession));

    // Installed on the card; the SM-DP+ got the PIR; the card's list no longer has it.
    assert!(has_iccid(&mut link));
    let rec = smdp.rec.lock().unwrap();
    assert_eq!(rec.notifications.len(), 1);
    let pir = apdu::sgp22::es10b::ProfileInstallationResult::decode(&rec.notifications[0]).unwrap();
    assert_eq!(pir.data.value().notification.seq, d.notification.seq);
    assert!(rec.cancels.is_empty());
    drop(rec);
    let mut es10 = Es10Session::open(&mut link, 120).unwrap();
    let left = es10.list_notifications().unwrap();
    assert!(left.iter().all(|n| n.seq != d.notification.seq), "{left:?}");
    es10.close().unwrap();
}

#[test]
fn the_imei_becomes_tac_and_bcd_imei_and_lpac_tac_is_the_default() {
    let d = device_info(Some("490154203237518"));
    assert_eq!(d.tac, vec![0x49, 0x01, 0x54, 0x20]);
    assert_eq!(
        d.imei,
        Some(vec![0x94, 0x10, 0x45, 0x02, 0x23, 0x73, 0x15, 0xF8])
    );
    let d = device_info(None);
    assert_eq!((d.tac, d.imei), (vec![0x35, 0x29, 0x06, 0x11], None));
}

#[test]
fn a_confirmation_code_is_hashed_as_sgp22_says_and_a_wrong_one_is_refused() {
    let code = format!("LPA:1${HOST}$MATCH-2$$1");
    // The wrong code: the SM-DP+'s refusal, explained; the card's session cancelled at
    // both ends; nothing installed.
    let mut link = card(1);
    let smdp = StandIn::new(Some("1234"), FailAt::Nowhere);
    let (r, steps) = run(&mut link, &smdp, &code, Some("4321"));
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the SM-DP+ refused getBoundProfilePackage: 8.2.7 / 3.8: the confirmation code is wrong."
    );
    assert_eq!((e.exit_code(), e.kind()), (15, "smdp_refused"));
    assert_eq!(steps.last(), Some(&Step::CancelSession));
    assert!(!has_iccid(&mut link));
    assert_no_session(&mut link, &smdp.tid());
    assert_eq!(smdp.rec.lock().unwrap().cancels.len(), 1);

    // No code at all for a code that says one is required: refused before anything.
    let (r, steps) = run(&mut link, &smdp, &code, None);
    assert_eq!(r.unwrap_err().exit_code(), 2);
    assert!(steps.is_empty());

    // The right code downloads.
    let smdp = StandIn::new(Some("1234"), FailAt::Nowhere);
    let (r, _) = run(&mut link, &smdp, &code, Some("1234"));
    assert_eq!(r.unwrap().iccid.digits(), ICCID);
    assert!(has_iccid(&mut link));
}

#[test]
fn a_server_failing_midway_leaves_no_session_and_no_profile() {
    let mut link = card(2);
    let smdp = StandIn::new(None, FailAt::BppHttp500);
    let before = profiles(&mut link).len();
    let (r, steps) = run(&mut link, &smdp, &format!("1${HOST}$MATCH-3"), None);
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the SM-DP+'s answer to getBoundProfilePackage cannot be used: HTTP status 500"
    );
    assert_eq!(e.exit_code(), 16);
    assert_eq!(steps.last(), Some(&Step::CancelSession));
    // The card: no half-installed profile, no open session.
    assert_eq!(profiles(&mut link).len(), before);
    assert_no_session(&mut link, &smdp.tid());
    // The SM-DP+ got the card's signed cancelSessionResponse for this transaction.
    let tid = smdp.tid();
    let rec = smdp.rec.lock().unwrap();
    assert_eq!(rec.cancels.len(), 1);
    match CancelSessionResponse::decode(&rec.cancels[0]).unwrap() {
        CancelSessionResponse::Ok { signed, .. } => {
            assert_eq!(signed.value().transaction_id, tid.as_bytes())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_undelivered_notification_stays_until_processed_then_is_removed() {
    let mut link = card(3);
    let failing = StandIn::new(None, FailAt::Notification);
    let (r, _) = run(&mut link, &failing, &format!("1${HOST}$MATCH-4"), None);
    let d = r.unwrap();
    assert!(!d.notification.delivered && !d.notification.removed);
    assert!(
        d.notification
            .error
            .as_deref()
            .is_some_and(|e| e.contains("8.10.1 / 3.9")),
        "{d:?}"
    );
    let seq = d.notification.seq;

    let smdp = StandIn::new(None, FailAt::Nowhere);
    let mut es10 = Es10Session::open(&mut link, 120).unwrap();
    let list = es10.list_notifications().unwrap();
    let n = list.iter().find(|n| n.seq == seq).expect("still pending");
    assert_eq!((n.events, n.address.as_str()), (events::INSTALL, HOST));
    let mut addresses = Vec::new();
    let p = process(&mut es10, seq, true, &mut |a| {
        addresses.push(a.to_string());
        Ok(Box::new(InProcess(&smdp)) as Box<dyn crate::es9p::Es9Transport>)
    });
    let p = p.unwrap();
    assert!(p.delivered && p.removed, "{p:?}");
    assert_eq!(addresses, vec![HOST.to_string()]);
    assert!(es10
        .list_notifications()
        .unwrap()
        .iter()
        .all(|n| n.seq != seq));
    // Processing it again: the card has no such notification.
    let e = process(&mut es10, seq, true, &mut |_| unreachable!()).unwrap_err();
    assert!(e.to_string().contains("RetrieveNotificationsList"), "{e}");
    es10.close().unwrap();
    assert_eq!(smdp.rec.lock().unwrap().notifications.len(), 1);
}

// --- against the project's SM-DP+ (`crate::smdp::Smdp`, in process) --------------------

mod with_smdp {
    use super::*;
    use crate::sm::store::{bench::sample_subscription, Actor, OrderState};
    use crate::smdp::{OrderSpec, Smdp, SmdpConfig};

    const ADDRESS: &str = "smdp.lpa.example:8443";
    const OP_ID: &str = "+4917000000077";
    const RECORD_ICCID: &str = "8949000000000000777";

    /// An SM-DP+ on an in-memory store with one order of a subscription record bound to
    /// the card of `slot` (`card(slot)`); returns it and the activation code.
    fn smdp_with_order(slot: u16, cc: Option<&str>) -> (Smdp, String) {
        let smdp =
            Smdp::with_store(&SmdpConfig::new(ADDRESS), crate::sm::store::test_store()).unwrap();
        let mut s = sample_subscription(77);
        s.op_id = OP_ID.into();
        s.profile.iccid = RECORD_ICCID.into();
        s.profile.imsi = "001010000000777".into();
        s.profile.msisdn = "4917000000077".into();
        s.device.eid = derive_eid(Some(11), slot).digits();
        smdp.store().create_subscription(&s, &Actor::Sm).unwrap();
        let o = smdp
            .create_order(
                OrderSpec::OpId(OP_ID.into()),
                None,
                cc.map(|c| Zeroizing::new(c.to_string())),
            )
            .unwrap();
        (smdp, o.activation_code)
    }

    fn run_real(
        link: &mut SimLink,
        smdp: &Smdp,
        code: &str,
        cc: Option<&str>,
    ) -> (Result<Downloaded, CliError>, Vec<Step>) {
        let code = ActivationCode::parse(code).unwrap();
        let cc = cc.map(|c| Zeroizing::new(c.to_string()));
        let order = Order {
            code: &code,
            confirmation_code: cc.as_ref(),
            device_info: device_info(None),
        };
        let mut transport = InProcess(smdp);
        let address = code.address.to_string();
        let mut es9 = Es9Client::new(&mut transport, &address);
        let mut es10 = Es10Session::open(link, 120).unwrap();
        let mut steps = Vec::new();
        let r = download(&mut es10, &mut es9, &order, &mut |s| steps.push(s));
        es10.close().unwrap();
        (r, steps)
    }

    fn state(smdp: &Smdp, code: &str) -> OrderState {
        let mid = ActivationCode::parse(code).unwrap().matching_id.unwrap();
        smdp.store().order(&mid).unwrap().unwrap().state
    }

    fn installed(link: &mut SimLink) -> bool {
        profiles(link)
            .iter()
            .any(|p| p.iccid.map(|i| i.digits()).as_deref() == Some(RECORD_ICCID))
    }

    #[test]
    fn a_whole_download_from_the_smdp_ends_installed_with_its_notification_handled() {
        let (smdp, code) = smdp_with_order(10, None);
        let mut link = card(10);
        let (r, steps) = run_real(&mut link, &smdp, &code, None);
        let d = r.unwrap();
        assert_eq!(d.iccid.digits(), RECORD_ICCID);
        assert!(d.notification.delivered && d.notification.removed, "{d:?}");
        assert!(!steps.contains(&Step::CancelSession));
        assert!(installed(&mut link));
        assert_eq!(state(&smdp, &code), OrderState::Downloaded);
        let mut es10 = Es10Session::open(&mut link, 120).unwrap();
        assert!(es10
            .list_notifications()
            .unwrap()
            .iter()
            .all(|n| n.seq != d.notification.seq));
        es10.close().unwrap();

        // The same order again: refused with its status code, nothing more installed.
        let before = profiles(&mut link).len();
        let (r, steps) = run_real(&mut link, &smdp, &code, None);
        let e = r.unwrap_err();
        assert_eq!(e.kind(), "smdp_refused", "{e}");
        assert!(e.to_string().contains("8.2 / 1.2"), "{e}");
        assert_eq!(profiles(&mut link).len(), before);
        assert!(!steps.contains(&Step::PrepareDownload), "{steps:?}");

        // On another card: the order is for the record's card (8.1.1 / 3.8).
        let mut other = card(11);
        let (r, _) = run_real(&mut other, &smdp, &code, None);
        let e = r.unwrap_err();
        assert!(e.to_string().contains("8.1.1 / 3.8"), "{e}");
        assert!(!installed(&mut other));
    }

    #[test]
    fn a_wrong_confirmation_code_is_refused_by_the_smdp_and_the_right_one_downloads() {
        let (smdp, code) = smdp_with_order(12, Some("8642"));
        let mut link = card(12);
        let (r, steps) = run_real(&mut link, &smdp, &code, Some("1111"));
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 15, "{e}");
        assert!(
            e.to_string()
                .contains("8.2.7 / 3.8: the confirmation code is wrong."),
            "{e}"
        );
        assert_eq!(steps.last(), Some(&Step::CancelSession));
        assert!(!installed(&mut link));

        // Without a code, the LPA stops before PrepareDownload and says what is missing.
        let (r, steps) = run_real(&mut link, &smdp, &code, None);
        let e = r.unwrap_err();
        assert!(e.to_string().contains("--confirmation-code"), "{e}");
        assert!(!steps.contains(&Step::PrepareDownload), "{steps:?}");

        // The right code: SHA-256(SHA-256(code) || transactionId) is what the SM-DP+
        // compares.
        let (r, _) = run_real(&mut link, &smdp, &code, Some("8642"));
        assert_eq!(r.unwrap().iccid.digits(), RECORD_ICCID);
        assert!(installed(&mut link));
    }
}

//! The SM-DP+ in process: whole downloads into card-sim's `Euicc` through
//! `es9p::InProcess` with the minimal LPA of [`driver`], then each refusal.

mod driver;

use crate::es9p::{Es9Handler, MAX_REQUEST_BODY};
use crate::sm::store::{bench::sample_subscription, Actor, AuditAction, OrderState};
use crate::smdp::order::OrderSpec;
use crate::smdp::service::{Smdp, SmdpConfig};
use apdu::sgp22::es10b::{AuthenticateServerResponse, CancelSessionReason};
use apdu::sgp22::es9p::StatusCode;
use driver::{Download, SimCard};
use std::time::Duration;
use zeroize::Zeroizing;

const ADDRESS: &str = "smdp.test.example:8443";
const OP_ID: &str = "+4917000000042";

fn smdp_with(ttl: Duration) -> Smdp {
    let mut cfg = SmdpConfig::new(ADDRESS);
    cfg.session_ttl = ttl;
    Smdp::with_store(&cfg, crate::sm::store::test_store()).unwrap()
}

fn smdp() -> Smdp {
    smdp_with(Duration::from_secs(600))
}

/// A subscription record whose values make a SAIP package, bound to the card `eid`.
fn add_subscription(smdp: &Smdp, eid: &apdu::Eid) {
    let mut s = sample_subscription(42);
    s.op_id = OP_ID.into();
    s.device.eid = eid.digits();
    s.profile.iccid = "8949000000000000421".into();
    s.profile.imsi = "001010000000421".into();
    s.profile.msisdn = "4917000000042".into();
    s.profile.spn = "Test Operator".into();
    s.profile.profile_name = "Operator profile 42".into();
    smdp.store().create_subscription(&s, &Actor::Sm).unwrap();
}

/// The record bound to `card` and an order of it (for that card: a record's orders are).
fn order_of_record(smdp: &Smdp, card: &SimCard, eid: Option<String>, code: Option<&str>) -> String {
    add_subscription(smdp, &card.eid);
    let o = smdp
        .create_order(
            OrderSpec::OpId(OP_ID.into()),
            eid,
            code.map(|c| Zeroizing::new(c.to_string())),
        )
        .unwrap();
    assert_eq!(
        o.activation_code,
        format!("LPA:1${ADDRESS}${}", o.order.matching_id)
    );
    o.order.matching_id
}

fn state(smdp: &Smdp, mid: &str) -> OrderState {
    smdp.store().order(mid).unwrap().unwrap().state
}

#[test]
fn a_whole_download_installs_and_a_second_is_refused() {
    let smdp = smdp();
    let mut card = SimCard::new(1);
    let mid = order_of_record(&smdp, &card, None, None);
    let pir = Download::new(&mut card, &smdp, &mid).run(None).unwrap();
    assert_eq!(pir[..2], [0xBF, 0x37]);
    assert!(card.has_profile("8949000000000000421"));
    assert_eq!(state(&smdp, &mid), OrderState::Downloaded);
    let actions: Vec<String> = smdp
        .store()
        .audit(OP_ID)
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str().to_string())
        .collect();
    for want in ["smdp-order", "smdp-bound", "smdp-downloaded"] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }
    // The same activation code again: 8.2 / 1.2.
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::ProfileNotReleased
    );
    assert!(smdp
        .store()
        .audit(OP_ID)
        .unwrap()
        .iter()
        .any(|e| e.action == AuditAction::Other("smdp-refused".into())));
    // The PIR sent again (a retry, or a replay) changes nothing and is audited.
    d.notify(&pir);
    assert_eq!(state(&smdp, &mid), OrderState::Downloaded);
    let repeated: Vec<_> = smdp
        .store()
        .audit(OP_ID)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::Other("smdp-pir-repeated".into()))
        .collect();
    assert_eq!(repeated.len(), 1, "{repeated:?}");
    assert!(
        repeated[0].details.contains("already downloaded"),
        "{repeated:?}"
    );
}

#[test]
fn a_package_order_with_a_confirmation_code() {
    let smdp = smdp();
    let package = apdu::saip::build::build(&apdu::saip::build::Subscription {
        iccid: apdu::sgp22::es10::Iccid::from_digits("8949000000000000777").unwrap(),
        imsi: "001010000000777".into(),
        msisdn: None,
        ki: apdu::saip::Secret::new(vec![0x46; 16]),
        opc: apdu::saip::Secret::new(vec![0xCD; 16]),
        algorithm: apdu::saip::Algorithm::Milenage,
        spn: "Pkg".into(),
        profile_type: "test".into(),
        pin1: "0000".into(),
        puk1: "12345678".into(),
        adm1: "88888888".into(),
    })
    .unwrap()
    .encode();
    let o = smdp
        .create_order(
            OrderSpec::Package(Zeroizing::new(package)),
            None,
            Some(Zeroizing::new("4711".into())),
        )
        .unwrap();
    let mid = o.order.matching_id;
    assert_eq!(o.order.iccid, "8949000000000000777");
    let mut card = SimCard::new(3);
    // No code: 8.2.7 / 2.2. A wrong one: 8.2.7 / 3.8. The order stays released.
    for (code, want) in [
        (None, StatusCode::ConfirmationCodeMissing),
        (Some("1234"), StatusCode::ConfirmationCodeRefused),
    ] {
        let mut d = Download::new(&mut card, &smdp, &mid);
        assert_eq!(d.run(code).unwrap_err().code(), want);
        assert_eq!(state(&smdp, &mid), OrderState::Released);
    }
    // The right one downloads.
    Download::new(&mut card, &smdp, &mid)
        .run(Some("4711"))
        .unwrap();
    assert!(card.has_profile("8949000000000000777"));
    assert_eq!(state(&smdp, &mid), OrderState::Downloaded);
    assert!(!smdp
        .store()
        .audit(&format!("order:{mid}"))
        .unwrap()
        .is_empty());
}

#[test]
fn three_wrong_codes_end_the_order() {
    let smdp = smdp();
    let mut card = SimCard::new(4);
    let mid = order_of_record(&smdp, &card, None, Some("99"));
    let mut last = None;
    for _ in 0..3 {
        let mut d = Download::new(&mut card, &smdp, &mid);
        last = Some(d.run(Some("98")).unwrap_err().code());
    }
    assert_eq!(last, Some(StatusCode::ConfirmationCodeRetriesExceeded));
    assert_eq!(state(&smdp, &mid), OrderState::Failed);
    let mut d = Download::new(&mut card, &smdp, &mid);
    assert_eq!(
        d.run(Some("99")).unwrap_err().code(),
        StatusCode::ProfileNotReleased
    );
}

#[test]
fn an_order_for_another_eid_or_an_unknown_matching_id_is_refused() {
    let smdp = smdp();
    let mut card = SimCard::new(5);
    let mut other = SimCard::new(6);
    let mid = order_of_record(&smdp, &card, None, None);
    // A record's order is for its bound card: another card is refused 8.1.1 / 3.8...
    let mut d = Download::new(&mut other, &smdp, &mid);
    assert_eq!(d.run(None).unwrap_err().code(), StatusCode::EidRefused);
    // ... and no order of the record can be made for it (it would clone the record).
    let e = smdp
        .create_order(
            OrderSpec::OpId(OP_ID.into()),
            Some(other.eid.digits()),
            None,
        )
        .expect_err("an order of a record for another card");
    assert!(e.to_string().contains("device-change"), "{e}");
    let mut d = Download::new(&mut card, &smdp, "NO-SUCH-ORDER");
    assert_eq!(
        d.run(None).unwrap_err().code(),
        StatusCode::MatchingIdRefused
    );
    // The order for the right card still works.
    Download::new(&mut card, &smdp, &mid).run(None).unwrap();
}

#[test]
fn a_record_order_is_void_once_the_record_moved_to_another_card() {
    let smdp = smdp();
    let mut card = SimCard::new(14);
    let mut other = SimCard::new(15);
    let mid = order_of_record(&smdp, &card, None, None);
    // A device change moves the record to `other` after the order was made.
    let sub = smdp.store().get(OP_ID).unwrap().unwrap();
    let mut moved = sub.device.clone();
    moved.eid = other.eid.digits();
    smdp.store()
        .change_device(OP_ID, &moved, &Actor::Sm)
        .unwrap();
    // The old card may not download it any more (it would hold a copy the SM's sync
    // is removing), and the order names the old card, so `other` cannot use it either.
    for c in [&mut card, &mut other] {
        let mut d = Download::new(c, &smdp, &mid);
        assert_eq!(d.run(None).unwrap_err().code(), StatusCode::EidRefused);
    }
    assert_eq!(state(&smdp, &mid), OrderState::Released);
}

#[test]
fn unknown_replayed_and_expired_transaction_ids_are_refused() {
    let smdp = smdp();
    let mut card = SimCard::new(7);
    let mid = order_of_record(&smdp, &card, None, None);
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    // An unknown transactionId.
    let real = d.init.as_ref().unwrap().transaction_id.clone();
    d.init.as_mut().unwrap().transaction_id =
        apdu::sgp22::es9p::TransactionId::new(&[0xEE; 16]).unwrap();
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::TransactionIdUnknown
    );
    d.init.as_mut().unwrap().transaction_id = real;
    d.authenticate_client().unwrap();
    // The same authenticateClient again: the session is past that step.
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::TransactionIdUnknown
    );

    // A session that expired before authenticateClient.
    let quick = smdp_with(Duration::from_millis(1));
    let mut card = SimCard::new(8);
    let mid = order_of_record(&quick, &card, None, None);
    let mut d = Download::new(&mut card, &quick, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::TransactionIdUnknown
    );
    assert_eq!(state(&quick, &mid), OrderState::Released);
}

#[test]
fn a_bad_euicc_signature_is_refused() {
    let smdp = smdp();
    let mut card = SimCard::new(9);
    let mid = order_of_record(&smdp, &card, None, None);
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    let AuthenticateServerResponse::Ok(mut ok) =
        AuthenticateServerResponse::decode(&d.auth_server_response).unwrap()
    else {
        panic!("the card refused AuthenticateServer")
    };
    ok.euicc_signature1[5] ^= 0x01;
    d.auth_server_response = AuthenticateServerResponse::Ok(ok).encode();
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::EuiccVerificationFailed
    );
    // The session ended with the refusal: the untampered answer no longer helps.
    assert_eq!(state(&smdp, &mid), OrderState::Released);
}

#[test]
fn a_tampered_prepare_download_response_is_refused_and_binds_nothing() {
    let smdp = smdp();
    let mut card = SimCard::new(10);
    let mid = order_of_record(&smdp, &card, None, None);
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    d.authenticate_client().unwrap();
    d.prepare(None);
    let n = d.prepare_response.len();
    d.prepare_response[n - 3] ^= 0x40; // inside euiccSignature2
    assert_eq!(
        d.get_bpp().unwrap_err().code(),
        StatusCode::EuiccVerificationFailed
    );
    assert_eq!(state(&smdp, &mid), OrderState::Released);
}

#[test]
fn cancel_session_releases_or_ends_the_order_by_reason() {
    let smdp = smdp();
    let mut card = SimCard::new(11);
    let mid = order_of_record(&smdp, &card, None, None);
    // Postponed after the BPP was bound: the order is released again.
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    d.authenticate_client().unwrap();
    d.prepare(None);
    d.get_bpp().unwrap();
    assert_eq!(state(&smdp, &mid), OrderState::Bound);
    d.cancel(CancelSessionReason::Postponed).unwrap();
    assert_eq!(state(&smdp, &mid), OrderState::Released);
    // The session is gone: cancelling it again is 8.10.1 / 3.9.
    assert_eq!(
        d.cancel(CancelSessionReason::Postponed).unwrap_err().code(),
        StatusCode::TransactionIdUnknown
    );
    // The user rejects it: the order ends.
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    d.authenticate_client().unwrap();
    d.cancel(CancelSessionReason::EndUserRejection).unwrap();
    assert_eq!(state(&smdp, &mid), OrderState::Failed);
}

#[test]
fn malformed_requests_get_4xx_or_a_status_never_a_panic() {
    let smdp = smdp();
    let h = |f: &str, b: &[u8]| smdp.handle(f, b).http_status;
    assert_eq!(h("initiateAuthentication", b"not json"), 400);
    assert_eq!(h("initiateAuthentication", b"{}"), 400);
    assert_eq!(
        h(
            "initiateAuthentication",
            br#"{"euiccChallenge":"!!","euiccInfo1":"vyAA","smdpAddress":"x"}"#
        ),
        400
    );
    assert_eq!(
        h("authenticateClient", &vec![b'{'; MAX_REQUEST_BODY + 1]),
        413
    );
    assert_eq!(h("noSuchFunction", b"{}"), 404);
    // Garbage ASN.1 in a well-formed request: 400 for euiccInfo1.
    let body = br#"{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"MAMCAQU=","smdpAddress":"smdp.test.example:8443"}"#;
    assert_eq!(h("initiateAuthentication", body), 400);
    // Another SM-DP+ address: 8.8.1 / 3.8.
    let body = br#"{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"vyAA","smdpAddress":"evil.example"}"#;
    let r = smdp.handle("initiateAuthentication", body);
    assert_eq!(r.http_status, 200);
    let s = String::from_utf8(r.body).unwrap();
    assert!(s.contains("\"8.8.1\"") && s.contains("\"3.8\""), "{s}");
    // Garbage eUICC answer in a live session: SGP.22 Failed, and the session ends.
    let mut card = SimCard::new(12);
    let mid = order_of_record(&smdp, &card, None, None);
    let mut d = Download::new(&mut card, &smdp, &mid);
    d.initiate().unwrap();
    d.auth_server_response = vec![0xBF, 0x38, 0x03, 0x30, 0x01, 0x00];
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::EuiccVerificationFailed
    );
    // Notifications that are garbage are still 204 (and change nothing).
    for junk in [&[0xBF, 0x37, 0x00][..], &[0x30, 0x00], &[0x01]] {
        d.notify(junk);
    }
    // Unknown transactionIds at every function that takes one.
    for f in [
        "authenticateClient",
        "getBoundProfilePackage",
        "cancelSession",
    ] {
        let field = match f {
            "authenticateClient" => "authenticateServerResponse",
            "getBoundProfilePackage" => "prepareDownloadResponse",
            _ => "cancelSessionResponse",
        };
        let body = format!(r#"{{"transactionId":"00112233","{field}":"vyAA"}}"#);
        let r = smdp.handle(f, body.as_bytes());
        let s = String::from_utf8(r.body).unwrap();
        assert!(s.contains("8.10.1"), "{f}: {s}");
    }
}

#[test]
fn smdp_is_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Smdp>();
}

#[test]
fn a_restarted_smdp_continues_live_sessions_and_refuses_stale_ones() {
    let dir = std::env::temp_dir().join(format!("smdp-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sm.sqlite3");
    let mut cfg = SmdpConfig::new(ADDRESS);
    cfg.sm_db = Some(db.clone());
    let first = Smdp::open(&cfg).unwrap();
    let mut card = SimCard::new(13);
    let mid = order_of_record(&first, &card, None, None);
    let mut d = Download::new(&mut card, &first, &mid);
    d.initiate().unwrap();
    d.authenticate_server();
    let (init, answer) = (d.init.take(), d.auth_server_response.clone());
    drop(d);
    drop(first);
    // A new server on the same store: the live session goes on to the install.
    let second = Smdp::open(&cfg).unwrap();
    let mut d = Download::new(&mut card, &second, &mid);
    d.init = init;
    d.auth_server_response = answer;
    d.authenticate_client().unwrap();
    d.prepare(None);
    let bpp = d.get_bpp().unwrap();
    let pir = d.load(&bpp);
    d.notify(&pir);
    assert_eq!(state(&second, &mid), OrderState::Downloaded);
    drop(d);
    drop(second);
    // With a short lifetime a restarted server finds the session stale.
    cfg.session_ttl = Duration::from_millis(1);
    let third = Smdp::open(&cfg).unwrap();
    let o = third
        .create_order(OrderSpec::OpId(OP_ID.into()), Some(card.eid.digits()), None)
        .unwrap();
    let mut d = Download::new(&mut card, &third, &o.order.matching_id);
    d.initiate().unwrap();
    d.authenticate_server();
    let (init, answer) = (d.init.take(), d.auth_server_response.clone());
    drop(d);
    drop(third);
    std::thread::sleep(Duration::from_millis(20));
    let fourth = Smdp::open(&cfg).unwrap();
    let mut d = Download::new(&mut card, &fourth, &o.order.matching_id);
    d.init = init;
    d.auth_server_response = answer;
    assert_eq!(
        d.authenticate_client().unwrap_err().code(),
        StatusCode::TransactionIdUnknown
    );
    drop(d);
    drop(fourth);
    let _ = std::fs::remove_dir_all(&dir);
}

//! The whole download in process: after AuthenticateServer and PrepareDownload the test
//! plays the SM-DP+ as osmo-smdpp does (P6 observations §3): a package from
//! `apdu::saip::build`, a BPP with ReplaceSessionKeys from `BppBuilder`, cut as lpac
//! cuts it (`split_segments`), each message sent as STORE DATA through the card's real
//! command path. Then the install result, the profile, and the notification; and the
//! refusals, each followed by a download that succeeds.

use super::*;
use apdu::saip::build::{build, Subscription};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::bpp::{
    split_segments, BppBuilder, BppCommandId, ControlRefTemplate, ErrorReason,
    InitialiseSecureChannel, SessionKeys,
};
use apdu::sgp22::es10::{
    events, Iccid, NotificationListResponse, ProfileClass, ProfileInfoResponse, ProfileState,
    ResultCode,
};
use apdu::sgp22::es10b::{
    FinalResult, NotificationConfig, PendingNotification, ProfileInstallationResult,
    RetrieveNotificationsListRequest, RetrieveNotificationsListResponse, SearchCriteria,
    StoreMetadata,
};
use apdu::sgp22::pki::{PrivateKey, PublicKey};
use zeroize::Zeroizing;

const ICCID: &str = "8949449999999990049";

/// What the SM-DP+ changes in one download.
#[derive(Default)]
struct Tamper {
    /// The package's ICCID, when it differs from the metadata's.
    package_iccid: Option<&'static str>,
    /// BF23 with another transactionId (signed correctly).
    isc_tid: Option<[u8; 16]>,
    /// A flipped bit in smdpSign.
    bad_sign: bool,
}

fn package(iccid: &str) -> Vec<u8> {
    build(&Subscription {
        iccid: Iccid::from_digits(iccid).unwrap(),
        imsi: "001010123456063".into(),
        msisdn: None,
        ki: Secret::new(vec![0x46; 16]),
        opc: Secret::new(vec![0xCD; 16]),
        algorithm: Algorithm::Milenage,
        spn: "OsmocomSPN".into(),
        profile_type: "test".into(),
        pin1: "0000".into(),
        puk1: "12345678".into(),
        adm1: "88888888".into(),
    })
    .unwrap()
    .encode()
}

fn metadata() -> StoreMetadata {
    StoreMetadata {
        iccid: Iccid::from_digits(ICCID).unwrap(),
        service_provider_name: "OsmocomSPN".into(),
        profile_name: "TS48V2-SAIP2-1-BERTLV-UNIQUE".into(),
        profile_class: ProfileClass::Operational,
        notification_configs: vec![NotificationConfig {
            events: events::ENABLE | events::DISABLE,
            address: "smdp.example".into(),
        }],
        profile_owner: None,
    }
}

/// AuthenticateServer, PrepareDownload, then the BPP as lpac's STORE DATA messages.
fn bpp_messages(c: &mut impl Card, ch: u8, p: &TestPki, t: &Tamper) -> Vec<Vec<u8>> {
    let sig1 = authenticated(c, ch, p);
    let PrepareDownloadResponse::Ok(ok) = prep(c, ch, &prep_req(p, &TID, &sig1)) else {
        panic!("PrepareDownload refused")
    };
    let euicc_otpk = ok.euicc_signed2.value().euicc_otpk.clone();
    let otsk = PrivateKey::generate(Curve::NistP256, &mut ChaCha20Rng::seed_from_u64(9));
    let mut isc = InitialiseSecureChannel {
        remote_op_id: 1,
        transaction_id: t.isc_tid.unwrap_or(TID).to_vec(),
        crt: ControlRefTemplate::aes128(b"mahlzeit"),
        smdp_otpk: otsk.public_key().to_sec1(),
        smdp_sign: Vec::new(),
    };
    isc.smdp_sign = p.dp_pb.key.sign(&isc.signed_data(&euicc_otpk)).to_vec();
    if t.bad_sign {
        isc.smdp_sign[7] ^= 0x01;
    }
    // The SM-DP+ side of the key agreement: otSK.DP x otPK.EUICC (SGP.22 Annex G).
    let peer = PublicKey::from_sec1(Curve::NistP256, &euicc_otpk).unwrap();
    let shs = otsk.ecdh(&peer).unwrap();
    let keys = SessionKeys::kdf(shs.as_slice(), &isc.crt, &eid().0).unwrap();
    let bpp = BppBuilder {
        isc,
        configure_isdp: vec![0xBF, 0x24, 0x00],
        store_metadata: metadata().encode(),
        // osmo-smdpp's fixed test PPK (P6 §3).
        ppk: Some(SessionKeys::from_parts([0x22; 16], [0; 16], [0x11; 16])),
        upp: Zeroizing::new(package(t.package_iccid.unwrap_or(ICCID))),
    }
    .build(&keys);
    let msgs = split_segments(&bpp).unwrap();
    // lpac's cut: BF36+BF23, A0, A1 header, 88, A2, A3 header, then the 86s.
    let firsts: Vec<u8> = msgs.iter().map(|m| m[0]).collect();
    assert_eq!(&firsts[..6], &[0xBF, 0xA0, 0xA1, 0x88, 0xA2, 0xA3]);
    assert!(
        firsts[6..].iter().all(|&b| b == 0x86) && firsts.len() >= 8,
        "{firsts:?}"
    );
    msgs
}

/// Sends every message; all but the last must answer 9000 without data. Returns the
/// last answer.
fn send_all(c: &mut impl Card, ch: u8, msgs: &[Vec<u8>]) -> Vec<u8> {
    let (last, rest) = msgs.split_last().unwrap();
    for (i, m) in rest.iter().enumerate() {
        let (d, sw) = es10(c, ch, m, 120);
        assert_eq!((sw.as_str(), d.len()), ("9000", 0), "message {i}");
    }
    call(c, ch, last)
}

/// The PIR, its euiccSignPIR checked with the eUICC certificate's key.
fn verified_pir(p: &TestPki, answer: &[u8]) -> ProfileInstallationResult {
    let pir = ProfileInstallationResult::decode(answer).unwrap();
    let sig: [u8; 64] = pir.signature.clone().try_into().unwrap();
    p.euicc
        .cert
        .public_key()
        .unwrap()
        .verify(pir.data.der(), &sig)
        .unwrap();
    assert_eq!(pir.data.value().transaction_id, TID);
    pir
}

fn error_of(pir: &ProfileInstallationResult) -> (BppCommandId, ErrorReason) {
    match &pir.data.value().final_result {
        FinalResult::Error {
            command, reason, ..
        } => (*command, *reason),
        ok => panic!("installed: {ok:?}"),
    }
}

fn profiles(c: &mut impl Card, ch: u8) -> Vec<apdu::sgp22::es10::ProfileInfo> {
    let msg = Es10Request::GetProfilesInfo(Default::default()).encode();
    match ProfileInfoResponse::decode(&call(c, ch, &msg)).unwrap() {
        ProfileInfoResponse::List(l) => l,
        e => panic!("{e:?}"),
    }
}

fn downloaded(c: &mut impl Card, ch: u8) -> bool {
    let iccid = Iccid::from_digits(ICCID).unwrap();
    profiles(c, ch).iter().any(|p| p.iccid == Some(iccid))
}

/// A download that succeeds, with every check of the result; returns the PIR bytes.
fn download_ok(c: &mut impl Card, ch: u8, p: &TestPki) -> Vec<u8> {
    let msgs = bpp_messages(c, ch, p, &Tamper::default());
    let answer = send_all(c, ch, &msgs);
    let pir = verified_pir(p, &answer);
    let d = pir.data.value();
    let FinalResult::Success { aid, sima_response } = &d.final_result else {
        panic!("refused: {:?}", d.final_result)
    };
    assert_eq!(
        sima_response,
        &hex::decode("3007A00530038001 00".replace(' ', "")).unwrap()
    );
    let n = &d.notification;
    assert_eq!(n.events, events::INSTALL);
    assert_eq!(n.address, "smdp.example");
    assert_eq!(n.iccid, Some(Iccid::from_digits(ICCID).unwrap()));
    let info = profiles(c, ch);
    let installed = info
        .iter()
        .find(|i| i.iccid == n.iccid)
        .expect("the profile is listed");
    assert_eq!(installed.aid.as_ref(), Some(aid));
    assert_eq!(installed.state, Some(ProfileState::Disabled));
    assert_eq!(installed.service_provider.as_deref(), Some("OsmocomSPN"));
    assert_eq!(
        installed.profile_name.as_deref(),
        Some("TS48V2-SAIP2-1-BERTLV-UNIQUE")
    );
    assert_eq!(installed.class, Some(ProfileClass::Operational));
    answer
}

#[test]
fn a_whole_download_installs_and_notifies() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let before = profiles(&mut c, ch).len();
    let pir = download_ok(&mut c, ch, &p);
    assert_eq!(profiles(&mut c, ch).len(), before + 1);
    let seq = ProfileInstallationResult::decode(&pir)
        .unwrap()
        .data
        .value()
        .notification
        .seq;
    // ListNotification shows it.
    let list = Es10Request::ListNotification { filter: None }.encode();
    let NotificationListResponse::List(l) =
        NotificationListResponse::decode(&call(&mut c, ch, &list)).unwrap()
    else {
        panic!()
    };
    assert!(l
        .iter()
        .any(|m| m.seq == seq && m.events == events::INSTALL));
    // RetrieveNotificationsList serves the signed result, byte for byte.
    let req = RetrieveNotificationsListRequest {
        search: Some(SearchCriteria::SeqNumber(seq)),
    };
    let r = RetrieveNotificationsListResponse::decode(&call(&mut c, ch, &req.encode())).unwrap();
    let RetrieveNotificationsListResponse::List(items) = r else {
        panic!("{r:?}")
    };
    let [PendingNotification::InstallResult(got)] = &items[..] else {
        panic!("{items:?}")
    };
    assert_eq!(got.encode(), pir);
    verified_pir(&p, &got.encode());
    // RemoveNotificationFromList removes it; a second time: not found.
    let remove = Es10Request::RemoveNotification(seq);
    let tag = remove.tag();
    let code = |c: &mut Transport<Euicc>| {
        ResultCode::decode(tag, &call(c, ch, &remove.encode()))
            .unwrap()
            .code
    };
    assert_eq!(code(&mut c), 0);
    assert_eq!(code(&mut c), 1);
    let r = RetrieveNotificationsListResponse::decode(&call(&mut c, ch, &req.encode())).unwrap();
    assert!(matches!(r, RetrieveNotificationsListResponse::Error(_)));
    // The same ICCID again: refused at StoreMetadata, nothing more installed.
    let msgs = bpp_messages(&mut c, ch, &p, &Tamper::default());
    let first_a1 = msgs.iter().position(|m| m[0] == 0x88).unwrap();
    let mut answer = Vec::new();
    for m in &msgs[..=first_a1] {
        answer = call(&mut c, ch, m);
    }
    let e = error_of(&verified_pir(&p, &answer));
    assert_eq!(
        e,
        (
            BppCommandId::StoreMetadata,
            ErrorReason::IccidAlreadyExistsOnEuicc
        )
    );
    assert_eq!(profiles(&mut c, ch).len(), before + 1);
}

/// Runs a refused download: the answer to the message that failed is the signed error
/// result; nothing is installed; then a clean download succeeds.
fn refused(t: Tamper, flip_in_86: bool) -> (BppCommandId, ErrorReason) {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let state_before = c.applet().state().clone();
    let mut msgs = bpp_messages(&mut c, ch, &p, &t);
    if flip_in_86 {
        let i = msgs.iter().position(|m| m[0] == 0x86).unwrap();
        let mid = msgs[i].len() / 2;
        msgs[i][mid] ^= 0x01;
    }
    let mut answer = Vec::new();
    for m in &msgs {
        answer = call(&mut c, ch, m);
        if !answer.is_empty() {
            break;
        }
    }
    let e = error_of(&verified_pir(&p, &answer));
    assert_eq!(c.applet().state(), &state_before, "nothing installed");
    download_ok(&mut c, ch, &p);
    e
}

#[test]
fn a_flipped_bit_in_an_86_is_refused() {
    assert_eq!(
        refused(Tamper::default(), true),
        (
            BppCommandId::LoadProfileElements,
            ErrorReason::Scp03tSecurityError
        )
    );
}

#[test]
fn a_bad_smdp_sign_is_refused() {
    let t = Tamper {
        bad_sign: true,
        ..Default::default()
    };
    assert_eq!(
        refused(t, false),
        (
            BppCommandId::InitialiseSecureChannel,
            ErrorReason::InvalidSignature
        )
    );
}

#[test]
fn another_transaction_id_in_bf23_is_refused() {
    let t = Tamper {
        isc_tid: Some([0x72; 16]),
        ..Default::default()
    };
    assert_eq!(
        refused(t, false),
        (
            BppCommandId::InitialiseSecureChannel,
            ErrorReason::InvalidTransactionId
        )
    );
}

#[test]
fn a_package_of_another_iccid_is_refused() {
    let t = Tamper {
        package_iccid: Some("8949449999999990023"),
        ..Default::default()
    };
    assert_eq!(
        refused(t, false),
        (
            BppCommandId::LoadProfileElements,
            ErrorReason::IccidMismatch
        )
    );
}

#[test]
fn a_reset_in_the_middle_installs_nothing() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let state_before = c.applet().state().clone();
    let msgs = bpp_messages(&mut c, ch, &p, &Tamper::default());
    let half = msgs.len() - 3;
    for m in &msgs[..half] {
        assert!(call(&mut c, ch, m).is_empty());
    }
    c.power_off();
    c.power_on();
    let ch = open_isdr(&mut c);
    // The rest finds no session: refused as no ES10 function, nothing installed.
    for m in &msgs[half..] {
        let (d, sw) = es10(&mut c, ch, m, 120);
        assert!(d.is_empty() && sw != "9000", "{sw}");
    }
    assert_eq!(c.applet().state(), &state_before);
    assert!(!downloaded(&mut c, ch));
    download_ok(&mut c, ch, &p);
}

#[test]
fn cancel_session_is_signed() {
    use apdu::sgp22::es10b::{CancelSessionReason, CancelSessionRequest, CancelSessionResponse};
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let msgs = bpp_messages(&mut c, ch, &p, &Tamper::default());
    for m in &msgs[..3] {
        assert!(call(&mut c, ch, m).is_empty());
    }
    let req = CancelSessionRequest {
        transaction_id: TID.to_vec(),
        reason: CancelSessionReason::EndUserRejection,
    };
    let r = CancelSessionResponse::decode(&call(&mut c, ch, &req.encode())).unwrap();
    let CancelSessionResponse::Ok { signed, signature } = r else {
        panic!("{r:?}")
    };
    let sig: [u8; 64] = signature.try_into().unwrap();
    p.euicc
        .cert
        .public_key()
        .unwrap()
        .verify(signed.der(), &sig)
        .unwrap();
    assert_eq!(signed.value().transaction_id, TID);
    assert_eq!(signed.value().reason, CancelSessionReason::EndUserRejection);
    // The session is gone: the rest of the BPP is no longer taken, a second cancel is
    // refused.
    let (_, sw) = es10(&mut c, ch, &msgs[3], 120);
    assert_ne!(sw, "9000");
    let r = CancelSessionResponse::decode(&call(&mut c, ch, &req.encode())).unwrap();
    assert!(matches!(r, CancelSessionResponse::Error(_)));
    assert!(!downloaded(&mut c, ch));
}

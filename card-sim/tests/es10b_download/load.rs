//! The whole download in process: after AuthenticateServer and PrepareDownload the test
//! plays the SM-DP+ as osmo-smdpp does (P6 observations §3): a package from
//! `apdu::saip::build`, a BPP with ReplaceSessionKeys from `BppBuilder`, cut as lpac
//! cuts it (`split_segments`), each message sent as STORE DATA through the card's real
//! command path. Then the install result, the profile, and the notification; the
//! refusals, each kept as a pending notification and followed by a download that
//! succeeds; and the notifications a downloaded profile's metadata asks for.

use super::*;
use apdu::saip::build::{build, Subscription};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::bpp::{
    split_segments, BppBuilder, BppCommandId, ControlRefTemplate, ErrorReason,
    InitialiseSecureChannel, SessionKeys,
};
use apdu::sgp22::es10::{
    events, Iccid, NotificationListResponse, NotificationMetadata, ProfileClass,
    ProfileInfoResponse, ProfileRef, ProfileState, ResultCode,
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
    /// The metadata's notificationConfigurationInfo, when it is not [`metadata`]'s.
    configs: Option<Vec<NotificationConfig>>,
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

fn metadata(t: &Tamper) -> StoreMetadata {
    let default_configs = vec![NotificationConfig {
        events: events::ENABLE | events::DISABLE,
        address: "smdp.example".into(),
    }];
    StoreMetadata {
        iccid: Iccid::from_digits(ICCID).unwrap(),
        service_provider_name: "OsmocomSPN".into(),
        profile_name: "TS48V2-SAIP2-1-BERTLV-UNIQUE".into(),
        profile_class: ProfileClass::Operational,
        notification_configs: t.configs.clone().unwrap_or(default_configs),
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
        store_metadata: metadata(t).encode(),
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
    download_with(c, ch, p, &Tamper::default())
}

/// [`download_ok`] with the SM-DP+'s changes `t` (which must not make it fail).
fn download_with(c: &mut impl Card, ch: u8, p: &TestPki, t: &Tamper) -> Vec<u8> {
    let msgs = bpp_messages(c, ch, p, t);
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

/// ListNotification, unfiltered.
fn pending(c: &mut impl Card, ch: u8) -> Vec<NotificationMetadata> {
    let list = Es10Request::ListNotification { filter: None }.encode();
    match NotificationListResponse::decode(&call(c, ch, &list)).unwrap() {
        NotificationListResponse::List(l) => l,
        e => panic!("{e:?}"),
    }
}

/// RetrieveNotificationsList of `seq`: the pending notification's bytes, `None` when the
/// card has none under that number.
fn retrieve(c: &mut impl Card, ch: u8, seq: u32) -> Option<Vec<u8>> {
    let req = RetrieveNotificationsListRequest {
        search: Some(SearchCriteria::SeqNumber(seq)),
    };
    match RetrieveNotificationsListResponse::decode(&call(c, ch, &req.encode())).unwrap() {
        RetrieveNotificationsListResponse::List(items) => match &items[..] {
            [PendingNotification::InstallResult(pir)] => Some(pir.encode()),
            [PendingNotification::Other(o)] => {
                assert_eq!(o.tbs.value().seq, seq);
                Some(o.tbs.der().to_vec())
            }
            other => panic!("{other:?}"),
        },
        RetrieveNotificationsListResponse::Error(_) => None,
    }
}

/// The result code of an ES10 request answered with one.
fn code(c: &mut impl Card, ch: u8, req: Es10Request) -> u8 {
    let tag = req.tag();
    ResultCode::decode(tag, &call(c, ch, &req.encode()))
        .unwrap()
        .code
}

fn remove(c: &mut impl Card, ch: u8, seq: u32) -> u8 {
    code(c, ch, Es10Request::RemoveNotification(seq))
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
    assert_eq!(remove(&mut c, ch, seq), 0);
    assert_eq!(remove(&mut c, ch, seq), 1);
    let r = RetrieveNotificationsListResponse::decode(&call(&mut c, ch, &req.encode())).unwrap();
    assert!(matches!(r, RetrieveNotificationsListResponse::Error(_)));
    // The same ICCID again: refused at StoreMetadata, nothing more installed.
    let msgs = bpp_messages(&mut c, ch, &p, &Tamper::default());
    let first_a1 = msgs.iter().position(|m| m[0] == 0x88).unwrap();
    let mut answer = Vec::new();
    for m in &msgs[..=first_a1] {
        answer = call(&mut c, ch, m);
    }
    let refusal = verified_pir(&p, &answer);
    assert_eq!(
        error_of(&refusal),
        (
            BppCommandId::StoreMetadata,
            ErrorReason::IccidAlreadyExistsOnEuicc
        )
    );
    assert_eq!(profiles(&mut c, ch).len(), before + 1);
    // The error result is a pending notification like the success (SGP.22 §3.1.3.3,
    // §5.7.6), under the next number, without an ICCID (none was kept: the metadata
    // was refused), until it is removed.
    let n = refusal.data.value().notification.clone();
    assert_eq!((n.seq, n.events, n.iccid), (seq + 1, events::INSTALL, None));
    assert_eq!(pending(&mut c, ch), vec![n.clone()]);
    assert_eq!(retrieve(&mut c, ch, n.seq), Some(answer));
    assert_eq!(remove(&mut c, ch, n.seq), 0);
    assert_eq!(pending(&mut c, ch), vec![]);
    assert_eq!(c.applet().state().next_notification_seq, seq + 2);
}

/// Runs a refused download: the answer to the message that failed is the signed error
/// result; nothing is installed, but that result is kept as the pending install
/// notification (SGP.22 §3.1.3.3, §5.7.6) under the next sequence number, which it uses
/// up, saved before the answer. Then a clean download succeeds with the number after it,
/// and the error result is retrieved byte for byte and removed.
fn refused(t: Tamper, flip_in_86: bool) -> (BppCommandId, ErrorReason) {
    let p = pki(1);
    let (mut c, ch, storage) = card_and_storage(&p);
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
    let pir = verified_pir(&p, &answer);
    let e = error_of(&pir);
    let n = pir.data.value().notification.clone();
    assert_eq!(n.seq, state_before.next_notification_seq);
    assert_eq!(
        (n.events, n.address.as_str()),
        (events::INSTALL, "smdp.example")
    );
    // Nothing installed, nothing else changed: only the notification and the counter.
    let mut after = c.applet().state().clone();
    assert_eq!(storage.stored().as_ref(), Some(&after), "saved");
    assert_eq!(
        after.next_notification_seq,
        n.seq + 1,
        "its number is used up"
    );
    let kept = std::mem::take(&mut after.notifications);
    after.next_notification_seq = state_before.next_notification_seq;
    assert_eq!(after, state_before, "nothing installed");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].signed.as_deref(), Some(&answer[..]));
    // ListNotification shows its NotificationMetadata.
    assert_eq!(pending(&mut c, ch), vec![n.clone()]);
    // The next notification gets the next number.
    let ok = ProfileInstallationResult::decode(&download_ok(&mut c, ch, &p)).unwrap();
    assert_eq!(ok.data.value().notification.seq, n.seq + 1);
    // RetrieveNotificationsList serves the error result as signed; then it is removed.
    assert_eq!(retrieve(&mut c, ch, n.seq), Some(answer));
    assert_eq!(remove(&mut c, ch, n.seq), 0);
    assert_eq!(retrieve(&mut c, ch, n.seq), None);
    let left: Vec<u32> = pending(&mut c, ch).iter().map(|m| m.seq).collect();
    assert_eq!(left, vec![n.seq + 1]);
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

/// Downloads with notificationConfigurationInfo `configs` and removes the install
/// notification; returns the next sequence number.
fn downloaded_with(
    c: &mut impl Card,
    ch: u8,
    p: &TestPki,
    configs: Vec<NotificationConfig>,
) -> u32 {
    let t = Tamper {
        configs: Some(configs),
        ..Default::default()
    };
    let pir = ProfileInstallationResult::decode(&download_with(c, ch, p, &t)).unwrap();
    let seq = pir.data.value().notification.seq;
    assert_eq!(remove(c, ch, seq), 0);
    assert_eq!(pending(c, ch), vec![]);
    seq + 1
}

fn enable(iccid: Iccid) -> Es10Request {
    Es10Request::EnableProfile {
        target: ProfileRef::Iccid(iccid),
        refresh: false,
    }
}

/// SGP.22 §3.2.1-3.2.3 (notificationConfigurationInfo of the profile's metadata,
/// §5.5.3): enabling a downloaded profile whose metadata lists only `enable` makes
/// exactly one notification, for it, to that entry's address; the provisioning profile
/// it disables has no configuration and makes none; its own disable and delete, not
/// listed, make none either.
#[test]
fn enable_notifies_only_what_the_metadata_lists() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let only_enable = vec![NotificationConfig {
        events: events::ENABLE,
        address: "enable.example".into(),
    }];
    let next = downloaded_with(&mut c, ch, &p, only_enable);
    let iccid = Iccid::from_digits(ICCID).unwrap();
    let pp = profiles(&mut c, ch)[0].iccid.unwrap();
    assert_eq!(code(&mut c, ch, enable(iccid)), 0);
    let expected = NotificationMetadata {
        seq: next,
        events: events::ENABLE,
        address: "enable.example".into(),
        iccid: Some(iccid),
    };
    assert_eq!(pending(&mut c, ch), vec![expected.clone()]);
    assert_eq!(
        retrieve(&mut c, ch, next),
        Some(Encoded::new(expected.clone()).der().to_vec())
    );
    // PP#0 again (disables the downloaded profile), then the downloaded one deleted.
    assert_eq!(code(&mut c, ch, enable(pp)), 0);
    let delete = Es10Request::DeleteProfile(ProfileRef::Iccid(iccid));
    assert_eq!(code(&mut c, ch, delete), 0);
    assert_eq!(pending(&mut c, ch), vec![expected]);
    assert_eq!(c.applet().state().next_notification_seq, next + 1);
}

/// Each listed operation goes to the address of its own entry.
#[test]
fn each_operation_goes_to_its_entrys_address() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let configs = vec![
        NotificationConfig {
            events: events::INSTALL | events::DISABLE,
            address: "disable.example".into(),
        },
        NotificationConfig {
            events: events::ENABLE | events::DELETE,
            address: "enable-delete.example".into(),
        },
    ];
    let next = downloaded_with(&mut c, ch, &p, configs);
    let iccid = Iccid::from_digits(ICCID).unwrap();
    let pp = profiles(&mut c, ch)[0].iccid.unwrap();
    assert_eq!(code(&mut c, ch, enable(iccid)), 0);
    assert_eq!(code(&mut c, ch, enable(pp)), 0);
    let delete = Es10Request::DeleteProfile(ProfileRef::Iccid(iccid));
    assert_eq!(code(&mut c, ch, delete), 0);
    let got: Vec<(u32, u8, String, Option<Iccid>)> = pending(&mut c, ch)
        .into_iter()
        .map(|m| (m.seq, m.events, m.address, m.iccid))
        .collect();
    let i = Some(iccid);
    assert_eq!(
        got,
        vec![
            (next, events::ENABLE, "enable-delete.example".into(), i),
            (next + 1, events::DISABLE, "disable.example".into(), i),
            (next + 2, events::DELETE, "enable-delete.example".into(), i),
        ]
    );
}

/// A profile whose metadata lists no operation makes no notification: enable, disable
/// and delete leave the list empty and the counter where it was.
#[test]
fn a_profile_listing_nothing_notifies_nothing() {
    let p = pki(1);
    let (mut c, ch) = card(&p);
    let next = downloaded_with(&mut c, ch, &p, Vec::new());
    let iccid = Iccid::from_digits(ICCID).unwrap();
    assert_eq!(code(&mut c, ch, enable(iccid)), 0);
    let disable = Es10Request::DisableProfile {
        target: ProfileRef::Iccid(iccid),
        refresh: false,
    };
    assert_eq!(code(&mut c, ch, disable), 0);
    let delete = Es10Request::DeleteProfile(ProfileRef::Iccid(iccid));
    assert_eq!(code(&mut c, ch, delete), 0);
    assert_eq!(pending(&mut c, ch), vec![]);
    assert_eq!(c.applet().state().next_notification_seq, next);
}

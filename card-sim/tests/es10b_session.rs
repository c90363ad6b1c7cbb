//! The ES10b download session on the card in process: the challenge is the card's own and single use, a reset drops the session,
//! ES10b requests are routed (not `6A88`), malformed ones answer `6A80`, and the
//! functions answer their own error codes where there is no session.

mod common;
use apdu::sgp22::es10::{ChallengeResponse, Es10Request};
use apdu::sgp22::es10b::{
    AuthenticateErrorCode, AuthenticateServerRequest, AuthenticateServerResponse,
    CancelSessionError, CancelSessionReason, CancelSessionRequest, CancelSessionResponse,
    CtxParams1, DeviceInfo, DownloadErrorCode, Encoded, Es10bRequest, PrepareDownloadRequest,
    PrepareDownloadResponse, RetrieveNotificationsError, RetrieveNotificationsListRequest,
    RetrieveNotificationsListResponse, SearchCriteria, ServerSigned1, SmdpSigned2,
};
use card_sim::vpcd::Card;
use common::*;

fn call(c: &mut impl Card, ch: u8, msg: &[u8]) -> Vec<u8> {
    let (d, sw) = es10(c, ch, msg, 120);
    assert_eq!(sw, "9000");
    d
}

fn challenge(c: &mut impl Card, ch: u8) -> [u8; 16] {
    let d = call(c, ch, &Es10Request::GetEuiccChallenge.encode());
    ChallengeResponse::decode(&d).unwrap().0
}

fn authenticate(challenge: [u8; 16]) -> Vec<u8> {
    Es10bRequest::AuthenticateServer(Box::new(AuthenticateServerRequest {
        server_signed1: Encoded::new(ServerSigned1 {
            transaction_id: vec![0x71; 16],
            euicc_challenge: challenge,
            server_address: "smdp.example".into(),
            server_challenge: [0x5C; 16],
        }),
        server_signature1: vec![0; 64],
        ci_pkid: vec![0xF5; 20],
        server_certificate: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        ctx_params1: Encoded::new(CtxParams1 {
            matching_id: Some("ABC".into()),
            device_info: DeviceInfo {
                tac: vec![0x35, 0x29, 0x06, 0x11],
                capabilities: vec![],
                imei: None,
            },
        }),
    }))
    .encode()
}

fn auth_code(c: &mut impl Card, ch: u8, msg: &[u8]) -> AuthenticateErrorCode {
    match AuthenticateServerResponse::decode(&call(c, ch, msg)).unwrap() {
        AuthenticateServerResponse::Error {
            code,
            transaction_id,
        } => {
            assert_eq!(transaction_id, vec![0x71; 16]);
            code
        }
        ok => panic!("{ok:?}"),
    }
}

#[test]
fn the_challenge_is_the_cards_own_and_used_once() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    // No challenge yet.
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate([0; 16])),
        AuthenticateErrorCode::NoSessionContext
    );
    // A foreign challenge; then the card's own one is gone (single use).
    let c = challenge(&mut s.card, ch);
    let mut foreign = c;
    foreign[0] ^= 1;
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate(foreign)),
        AuthenticateErrorCode::EuiccChallengeMismatch
    );
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate(c)),
        AuthenticateErrorCode::NoSessionContext
    );
    // The card's own fresh challenge passes the challenge check (the stand-in
    // certificate then fails: invalidCertificate), and is then used up.
    let c = challenge(&mut s.card, ch);
    let code = auth_code(&mut s.card, ch, &authenticate(c));
    assert_eq!(code, AuthenticateErrorCode::InvalidCertificate);
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate(c)),
        AuthenticateErrorCode::NoSessionContext
    );
    // A stale challenge: a newer one replaced it.
    let old = challenge(&mut s.card, ch);
    let new = challenge(&mut s.card, ch);
    assert_ne!(old, new);
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate(old)),
        AuthenticateErrorCode::EuiccChallengeMismatch
    );
    // A reset drops the challenge.
    let c = challenge(&mut s.card, ch);
    s.card.power_off();
    s.card.power_on();
    let ch = open_isdr(&mut s.card);
    assert_eq!(
        auth_code(&mut s.card, ch, &authenticate(c)),
        AuthenticateErrorCode::NoSessionContext
    );
}

#[test]
fn no_session_answers_the_functions_own_errors() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    let pd = PrepareDownloadRequest {
        smdp_signed2: Encoded::new(SmdpSigned2 {
            transaction_id: vec![0x71; 16],
            cc_required: false,
            bpp_euicc_otpk: None,
        }),
        smdp_signature2: vec![0; 64],
        hash_cc: None,
        smdp_certificate: vec![0x30, 0x03, 0x02, 0x01, 0x01],
    };
    let d = call(&mut s.card, ch, &pd.encode());
    assert_eq!(
        PrepareDownloadResponse::decode(&d).unwrap(),
        PrepareDownloadResponse::Error {
            transaction_id: vec![0x71; 16],
            code: DownloadErrorCode::NoSessionContext
        }
    );
    let cancel = CancelSessionRequest {
        transaction_id: vec![0x71; 16],
        reason: CancelSessionReason::EndUserRejection,
    };
    let d = call(&mut s.card, ch, &cancel.encode());
    assert_eq!(
        CancelSessionResponse::decode(&d).unwrap(),
        CancelSessionResponse::Error(CancelSessionError::InvalidTransactionId)
    );
    // RetrieveNotificationsList is routed (it answered 6A88 before): nothing pending.
    let all = RetrieveNotificationsListRequest::default().encode();
    assert_eq!(
        RetrieveNotificationsListResponse::decode(&call(&mut s.card, ch, &all)).unwrap(),
        RetrieveNotificationsListResponse::List(vec![])
    );
    let one = RetrieveNotificationsListRequest {
        search: Some(SearchCriteria::SeqNumber(9)),
    }
    .encode();
    assert_eq!(
        RetrieveNotificationsListResponse::decode(&call(&mut s.card, ch, &one)).unwrap(),
        RetrieveNotificationsListResponse::Error(RetrieveNotificationsError::NoResultAvailable)
    );
}

#[test]
fn malformed_es10b_requests_answer_6a80() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    for msg in ["BF3800", "BF2100", "BF4103800101", "BF2B03A00100"] {
        let (_, sw) = es10(&mut s.card, ch, &hex::decode(msg).unwrap(), 120);
        assert_eq!(sw, "6A80", "{msg}");
    }
}

/// Enable and disable notifications (ES10c, SGP.22 §5.7.11) are served as
/// otherSignedNotification: the NotificationMetadata TLV signed with the card's eUICC
/// key, with its eUICC and EUM certificates; filtered by sequence number and by event.
/// (The test profile is configured to notify both, as a downloaded profile's metadata
/// would ask.)
#[test]
fn profile_change_notifications_are_served_signed() {
    use apdu::sgp22::es10::{events, ProfileRef};
    use apdu::sgp22::es10b::PendingNotification;
    use apdu::sgp22::pki::Cert;
    use card_sim::state::notification::Event;
    use card_sim::state::profile::NotificationConfig;
    use card_sim::state::{MemoryStorage, Storage};
    let storage = std::sync::Arc::new(MemoryStorage::new());
    let mut state = card_sim::state::new_card::new_card(eid(), 1);
    state.profiles[1].notification_configs = vec![NotificationConfig {
        events: vec![Event::Enable, Event::Disable],
        address: "smdp.example".into(),
    }];
    storage.save(&state).unwrap();
    let mut s = Sim {
        card: card_with(state, Box::new(storage.clone())),
        storage,
    };
    let ch = open_isdr(&mut s.card);
    let target = s.card.applet().state().profiles[1].iccid;
    for req in [
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(target),
            refresh: false,
        },
        Es10Request::DisableProfile {
            target: ProfileRef::Iccid(target),
            refresh: false,
        },
    ] {
        call(&mut s.card, ch, &req.encode());
    }
    let pending: Vec<_> = s.card.applet().state().notifications.clone();
    assert_eq!(pending.len(), 2);
    let all = RetrieveNotificationsListRequest::default().encode();
    let RetrieveNotificationsListResponse::List(list) =
        RetrieveNotificationsListResponse::decode(&call(&mut s.card, ch, &all)).unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(list.len(), pending.len());
    let chain = &s.card.applet().state().pki.chains[0];
    for (item, n) in list.iter().zip(&pending) {
        let PendingNotification::Other(o) = item else {
            panic!("{item:?}")
        };
        assert_eq!(o.tbs.value(), &n.metadata());
        assert_eq!(o.euicc_certificate, chain.euicc_cert_der);
        assert_eq!(o.eum_certificate, chain.eum_cert_der);
        let key = Cert::from_der(&o.euicc_certificate)
            .unwrap()
            .public_key()
            .unwrap();
        let sig: [u8; 64] = o.signature.clone().try_into().unwrap();
        key.verify(o.tbs.der(), &sig).unwrap();
    }
    let only_disable = RetrieveNotificationsListRequest {
        search: Some(SearchCriteria::Operation(events::DISABLE)),
    }
    .encode();
    let RetrieveNotificationsListResponse::List(l) =
        RetrieveNotificationsListResponse::decode(&call(&mut s.card, ch, &only_disable)).unwrap()
    else {
        panic!("refused")
    };
    assert!(!l.is_empty());
    assert!(l.iter().all(|p| p.metadata().events == events::DISABLE));
}

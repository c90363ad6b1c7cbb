//! The whole story of issue 3 in one process: the real card (card-sim's `Euicc` behind
//! its transport) on a fake PC/SC link, the ES10 session, the terminal with its CAT
//! loop, and the SM with a store on disk. Same bytes as through pcscd + vpcd, without
//! them.

use super::*;
use crate::errors::CliError;
use crate::lpa::Es10Session;
use crate::sm::store::BindingState;
use crate::test_card::{self, SimLink};
use apdu::sgp22::es10::{ProfileClass, ProfileInfo, ProfileState};
use card_sim::state::Storage;

const OP: &str = "+8613800000001";
const IMEI_OLD: &str = "490154203237518";
const IMEI_NEW: &str = "356938035643809";

/// Card `slot` of this file's cards (`test_card::SimLink`).
fn card(slot: u16) -> SimLink {
    SimLink::new(7, slot, u64::from(slot) + 1)
}

fn answers(imei: &str, current: Option<&str>, new: Option<&str>) -> Answers {
    test_card::answers(OP, imei, current, new)
}

/// Runs `order` on the card; returns the report (or the error) and the timings.
fn flow(
    store: &Store,
    link: &mut SimLink,
    order: Order,
    answers: Answers,
) -> (
    Result<FlowReport, CliError>,
    Vec<crate::terminal::FunctionTiming>,
) {
    let credential = crate::sm::credential::SmCredential::test().unwrap();
    let sm = SmService::new(store, Policy::default(), &credential);
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let eid = es10.get_eid().unwrap();
    let mut terminal = Terminal::new(&mut es10, answers);
    let mut sm_time = Duration::ZERO;
    let r = drive(&sm, &mut terminal, order, eid, &mut sm_time);
    let timings = std::mem::take(&mut terminal.timings);
    es10.close().unwrap();
    (r, timings)
}

fn profiles(link: &mut SimLink) -> Vec<ProfileInfo> {
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let p = es10.get_profiles(None).unwrap();
    es10.close().unwrap();
    p
}

fn operational(link: &mut SimLink) -> Option<ProfileInfo> {
    profiles(link)
        .into_iter()
        .find(|p| p.class == Some(ProfileClass::Operational))
}

fn provision_order() -> Order {
    Order::Provision {
        op_id: OP.into(),
        kdf: KdfParams::TEST,
        profile: crate::sm::service::ProfileSpec::default(),
    }
}

#[test]
fn the_whole_story_with_the_real_card() {
    let dir = std::env::temp_dir().join(format!("sm-cli-story-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sm.sqlite3");
    let store = Store::open(&db).unwrap();
    let mut old = card(0);
    let mut new = card(1);

    // A: provision on the old card.
    let (r, t) = flow(
        &store,
        &mut old,
        provision_order(),
        answers(IMEI_OLD, None, Some("123456")),
    );
    let rep = r.unwrap();
    let iccid = rep.iccid.clone().unwrap();
    let p = operational(&mut old).expect("profile on the old card");
    assert_eq!(p.iccid.map(|i| i.digits()), Some(iccid.clone()));
    assert_eq!(p.state, Some(ProfileState::Enabled));
    assert!(t.iter().any(|f| f.function == "BF67" && f.derived_key));
    let saved = old.storage.load().unwrap().unwrap();
    assert!(saved
        .profiles
        .iter()
        .any(|p| p.msisdn.as_deref() == Some(OP)));

    // B: wrong parameter on the new card (refused, counter 1), then the right one.
    let (r, _) = flow(
        &store,
        &mut new,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("000000"), None),
    );
    let e = r.unwrap_err();
    assert_eq!(e.exit_code(), 31, "{e}");
    assert_eq!(store.get(OP).unwrap().unwrap().failures, 1);
    assert!(operational(&mut new).is_none());
    let (r, _) = flow(
        &store,
        &mut new,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("123456"), None),
    );
    let rep = r.unwrap();
    assert_eq!(rep.key_source, Some("parameter"));
    let p = operational(&mut new).expect("profile on the new card");
    assert_eq!(p.state, Some(ProfileState::Enabled));
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!((sub.device.imei.as_str(), sub.failures), (IMEI_NEW, 0));
    let b = store.bindings(OP).unwrap();
    assert_eq!(b[0].state, BindingState::Stopped);
    assert_eq!(b[1].state, BindingState::Active);

    // C: rekey from the new card; the old parameter then fails, the new one works.
    let (r, t) = flow(
        &store,
        &mut new,
        Order::Rekey { kdf: None },
        answers(IMEI_NEW, Some("123456"), Some("97531864")),
    );
    r.unwrap();
    assert_eq!(t.iter().filter(|f| f.derived_key).count(), 2);
    let mut third = card(2);
    let (r, _) = flow(
        &store,
        &mut third,
        Order::DeviceChange,
        answers(IMEI_OLD, Some("123456"), None),
    );
    assert_eq!(r.unwrap_err().exit_code(), 31);

    // The old card's sync removes the moved profile (and PP#0 is enabled again).
    assert!(operational(&mut old).is_some());
    let (r, _) = flow(&store, &mut old, Order::Sync, answers(IMEI_OLD, None, None));
    let rep = r.unwrap();
    assert_eq!(rep.removed.len(), 1);
    assert!(operational(&mut old).is_none());
    assert!(profiles(&mut old)
        .iter()
        .any(|p| p.class == Some(ProfileClass::Provisioning)
            && p.state == Some(ProfileState::Enabled)));

    // The third card with the new parameter gets it.
    let (r, _) = flow(
        &store,
        &mut third,
        Order::DeviceChange,
        answers(IMEI_OLD, Some("97531864"), None),
    );
    r.unwrap();
    assert!(operational(&mut third).is_some());

    // Three failures lock, across a new store handle and a card restart.
    let mut fourth = card(3);
    for _ in 0..2 {
        let (r, _) = flow(
            &store,
            &mut fourth,
            Order::DeviceChange,
            answers(IMEI_NEW, Some("11111111"), None),
        );
        assert_eq!(r.unwrap_err().exit_code(), 31);
    }
    drop(store);
    let store = Store::open(&db).unwrap();
    fourth.restart();
    let (r, _) = flow(
        &store,
        &mut fourth,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("11111111"), None),
    );
    assert_eq!(r.unwrap_err().exit_code(), 32);
    drop(store);
    let store = Store::open(&db).unwrap();
    let (r, _) = flow(
        &store,
        &mut fourth,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("97531864"), None),
    );
    assert_eq!(
        r.unwrap_err().exit_code(),
        32,
        "locked even with the right parameter"
    );

    // Without a parameter source or terminal: the session is ended, with a clear error.
    let (r, _) = flow(
        &store,
        &mut third,
        Order::Rekey { kdf: None },
        answers(IMEI_OLD, None, None),
    );
    let e = r.unwrap_err();
    assert_eq!(e.exit_code(), 32, "locked is checked first: {e}");
    store
        .unlock(OP, &crate::sm::store::Actor::Operator("test".into()))
        .unwrap();
    let (r, _) = flow(
        &store,
        &mut fourth,
        Order::DeviceChange,
        answers(IMEI_NEW, None, None),
    );
    let e = r.unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("--param-stdin"), "{e}");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_bound_card_gets_its_profile_back_by_identity() {
    let store = crate::sm::store::test_store();
    let mut old = card(0);
    let (r, _) = flow(
        &store,
        &mut old,
        provision_order(),
        answers(IMEI_OLD, None, Some("123456")),
    );
    r.unwrap();
    // Already there: the card refuses the second copy.
    let (r, _) = flow(
        &store,
        &mut old,
        Order::DeviceChange,
        answers(IMEI_OLD, None, None),
    );
    assert_eq!(r.unwrap_err().exit_code(), 34);
    // Gone (deleted by the user): re-served without the parameter.
    let iccid = operational(&mut old).unwrap().iccid.unwrap();
    {
        let mut es10 = Es10Session::open(&mut old, 120).unwrap();
        es10.disable_profile(apdu::sgp22::es10::ProfileRef::Iccid(iccid), false)
            .unwrap();
        es10.delete_profile(apdu::sgp22::es10::ProfileRef::Iccid(iccid))
            .unwrap();
        es10.close().unwrap();
    }
    assert!(operational(&mut old).is_none());
    let (r, t) = flow(
        &store,
        &mut old,
        Order::DeviceChange,
        answers(IMEI_OLD, None, None),
    );
    let rep = r.unwrap();
    assert_eq!(rep.key_source, Some("identity"));
    assert!(!t.iter().any(|f| f.derived_key), "no parameter asked");
    assert!(operational(&mut old).is_some());
}

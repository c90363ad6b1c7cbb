//! Every ES10 function of the ISD-R, its result codes, persistence and STORE DATA on
//! every block size.

mod common;
use apdu::sgp22::es10::{
    events, ChallengeResponse, ConfiguredAddresses, Es10Request, EuiccInfo1, Iccid,
    MemoryResetOptions, NotificationListResponse, ProfileClass, ProfileInfoRequest,
    ProfileInfoResponse, ProfileRef, ProfileSearch, ProfileState, ResultCode,
};
use card_sim::state::new_card::new_card;
use card_sim::state::notification::Event;
use card_sim::state::profile::NotificationConfig;
use card_sim::state::{MemoryStorage, Storage};
use card_sim::vpcd::Card;
use common::*;
use std::sync::Arc;

fn call(c: &mut impl Card, req: &Es10Request) -> Vec<u8> {
    let (d, sw) = es10(c, 1, &req.encode(), 120);
    assert_eq!(sw, "9000", "{req:?}");
    d
}

fn code(c: &mut impl Card, req: Es10Request) -> u8 {
    let tag = req.tag();
    ResultCode::decode(tag, &call(c, &req)).unwrap().code
}

fn profiles(c: &mut impl Card) -> Vec<apdu::sgp22::es10::ProfileInfo> {
    match ProfileInfoResponse::decode(&call(c, &Es10Request::GetProfilesInfo(Default::default())))
        .unwrap()
    {
        ProfileInfoResponse::List(l) => l,
        e => panic!("{e:?}"),
    }
}

fn notifications(c: &mut impl Card) -> Vec<apdu::sgp22::es10::NotificationMetadata> {
    match NotificationListResponse::decode(&call(
        c,
        &Es10Request::ListNotification { filter: None },
    ))
    .unwrap()
    {
        NotificationListResponse::List(l) => l,
        e => panic!("{e:?}"),
    }
}

fn by_iccid(i: Iccid) -> ProfileRef {
    ProfileRef::Iccid(i)
}

/// The two test profiles' metadata asks for enable, disable and delete notifications to
/// `smdp.example`; PP#0 asks for none (SGP.22 §3.2.1-3.2.3), so it never notifies.
#[test]
fn enable_disable_delete_with_notifications() {
    let storage = Arc::new(MemoryStorage::new());
    let mut state = new_card(eid(), 2);
    for p in &mut state.profiles[1..] {
        p.notification_configs = vec![NotificationConfig {
            events: vec![Event::Enable, Event::Disable, Event::Delete],
            address: "smdp.example".into(),
        }];
    }
    storage.save(&state).unwrap();
    let mut s = Sim {
        card: card_with(state, Box::new(storage.clone())),
        storage,
    };
    let c = &mut s.card;
    open_isdr(c);
    let list = profiles(c);
    let pp = list[0].iccid.unwrap();
    let t1 = list[1].iccid.unwrap();
    let t2_aid = list[2].aid.clone().unwrap();
    let enable = |target: ProfileRef| Es10Request::EnableProfile {
        target,
        refresh: true,
    };
    let disable = |target: ProfileRef| Es10Request::DisableProfile {
        target,
        refresh: false,
    };

    assert_eq!(code(c, enable(by_iccid(pp))), 2, "already enabled");
    assert_eq!(
        code(
            c,
            enable(by_iccid(
                Iccid::from_digits("89000000000000000000").unwrap()
            ))
        ),
        1
    );
    assert_eq!(code(c, enable(by_iccid(t1))), 0);
    let list = profiles(c);
    assert_eq!(list[0].state, Some(ProfileState::Disabled));
    assert_eq!(list[1].state, Some(ProfileState::Enabled));
    let n = notifications(c);
    assert_eq!(n.len(), 1, "none for PP#0: {n:?}");
    assert_eq!(
        (n[0].seq, n[0].events, n[0].iccid, n[0].address.as_str()),
        (1, events::ENABLE, Some(t1), "smdp.example")
    );

    // Enable by AID switches again.
    assert_eq!(code(c, enable(ProfileRef::Aid(t2_aid.clone()))), 0);
    assert_eq!(code(c, disable(by_iccid(t1))), 2, "not enabled");
    assert_eq!(
        code(
            c,
            Es10Request::DeleteProfile(ProfileRef::Aid(t2_aid.clone()))
        ),
        2,
        "enabled"
    );
    assert_eq!(code(c, disable(ProfileRef::Aid(t2_aid.clone()))), 0);
    assert_eq!(code(c, Es10Request::DeleteProfile(by_iccid(t1))), 0);
    assert_eq!(code(c, Es10Request::DeleteProfile(by_iccid(t1))), 1);
    assert_eq!(
        code(c, Es10Request::DeleteProfile(by_iccid(pp))),
        3,
        "provisioning stays"
    );
    assert_eq!(profiles(c).len(), 2);
    let n = notifications(c);
    let seqs: Vec<u32> = n.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let got: Vec<u8> = n.iter().map(|m| m.events).collect();
    use events::{DELETE, DISABLE, ENABLE};
    assert_eq!(got, vec![ENABLE, DISABLE, ENABLE, DISABLE, DELETE]);
    assert!(n.iter().all(|m| m.iccid != Some(pp)));

    // Filtered list and removal.
    let only_enable = Es10Request::ListNotification {
        filter: Some(events::ENABLE),
    };
    let NotificationListResponse::List(l) =
        NotificationListResponse::decode(&call(c, &only_enable)).unwrap()
    else {
        panic!()
    };
    assert!(l.iter().all(|m| m.events == events::ENABLE) && l.len() == 2);
    assert_eq!(code(c, Es10Request::RemoveNotification(3)), 0);
    assert_eq!(code(c, Es10Request::RemoveNotification(3)), 1);
    assert_eq!(notifications(c).len(), 4);

    // All of it reached storage.
    let stored = s.storage.stored().unwrap();
    assert_eq!(stored.profiles.len(), 2);
    assert_eq!(stored.next_notification_seq, 6);
}

#[test]
fn profiles_info_search_and_tag_list() {
    let mut s = sim(3);
    let c = &mut s.card;
    open_isdr(c);
    let all = profiles(c);
    let req =
        |search, tag_list| Es10Request::GetProfilesInfo(ProfileInfoRequest { search, tag_list });
    let get = |c: &mut _, r| match ProfileInfoResponse::decode(&call(c, &r)).unwrap() {
        ProfileInfoResponse::List(l) => l,
        e => panic!("{e:?}"),
    };
    let l = get(c, req(Some(ProfileSearch::Class(ProfileClass::Test)), None));
    assert_eq!(l.len(), 3);
    let l = get(
        c,
        req(Some(ProfileSearch::Iccid(all[2].iccid.unwrap())), None),
    );
    assert_eq!(l, vec![all[2].clone()]);
    let l = get(
        c,
        req(Some(ProfileSearch::Aid(all[1].aid.clone().unwrap())), None),
    );
    assert_eq!(l.len(), 1);
    let l = get(c, req(None, Some(vec![0x5A, 0x9F, 0x70])));
    assert_eq!(l.len(), 4);
    assert!(l
        .iter()
        .all(|p| p.iccid.is_some() && p.state.is_some() && p.profile_name.is_none()));
    // Malformed search criteria: incorrectInputValues.
    let (d, sw) = es10(c, 1, &hex::decode("BF2D05A0038001FF").unwrap(), 120);
    assert_eq!(sw, "9000");
    assert_eq!(
        ProfileInfoResponse::decode(&d).unwrap(),
        ProfileInfoResponse::Error(1)
    );
}

#[test]
fn memory_reset_and_nickname() {
    let mut s = sim(2);
    let c = &mut s.card;
    open_isdr(c);
    let all = profiles(c);
    let t1 = all[1].iccid.unwrap();
    let nick = |iccid, n: &str| Es10Request::SetNickname {
        iccid,
        nickname: n.into(),
    };
    assert_eq!(code(c, nick(t1, "work")), 0);
    assert_eq!(profiles(c)[1].nickname.as_deref(), Some("work"));
    assert_eq!(
        code(
            c,
            nick(Iccid::from_digits("89000000000000000000").unwrap(), "x")
        ),
        1
    );
    assert_eq!(code(c, nick(t1, "")), 0);
    assert_eq!(profiles(c)[1].nickname, None);

    // Enable a test profile, then reset: test profiles go, PP#0 comes back enabled.
    assert_eq!(
        code(
            c,
            Es10Request::EnableProfile {
                target: by_iccid(t1),
                refresh: true
            }
        ),
        0
    );
    let none = MemoryResetOptions::default();
    assert_eq!(
        code(c, Es10Request::MemoryReset(none)),
        1,
        "nothing to delete"
    );
    let ops = MemoryResetOptions {
        delete_operational: true,
        ..none
    };
    assert_eq!(
        code(c, Es10Request::MemoryReset(ops)),
        1,
        "no operational profiles"
    );
    let tests = MemoryResetOptions {
        delete_field_loaded_test: true,
        ..none
    };
    assert_eq!(code(c, Es10Request::MemoryReset(tests)), 0);
    let left = profiles(c);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].class, Some(ProfileClass::Provisioning));
    assert_eq!(left[0].state, Some(ProfileState::Enabled));
    // Default address reset.
    let dp = Es10Request::SetDefaultDpAddress("smdp.example.com".into());
    assert_eq!(code(c, dp), 0);
    let a = ConfiguredAddresses::decode(&call(c, &Es10Request::GetConfiguredAddresses)).unwrap();
    assert_eq!(a.default_dp.as_deref(), Some("smdp.example.com"));
    let all_bits = MemoryResetOptions {
        delete_operational: true,
        delete_field_loaded_test: true,
        reset_default_dp: true,
    };
    assert_eq!(code(c, Es10Request::MemoryReset(all_bits)), 0);
    assert_eq!(code(c, Es10Request::MemoryReset(all_bits)), 1);
    // pySim's flags without the unused-bits byte, lpac's with it.
    let (d, _) = es10(c, 1, &hex::decode("BF3403820160").unwrap(), 120);
    assert_eq!(ResultCode::decode(0xBF34, &d).unwrap().code, 1);
    let (d, _) = es10(c, 1, &hex::decode("BF3404820205E0").unwrap(), 120);
    assert_eq!(ResultCode::decode(0xBF34, &d).unwrap().code, 1);
}

#[test]
fn info_and_challenge() {
    let mut s = sim(0);
    let c = &mut s.card;
    open_isdr(c);
    let i1 = EuiccInfo1::decode(&call(c, &Es10Request::GetEuiccInfo1)).unwrap();
    assert_eq!(i1.verification_keys.len(), 1);
    let a = ChallengeResponse::decode(&call(c, &Es10Request::GetEuiccChallenge)).unwrap();
    let b = ChallengeResponse::decode(&call(c, &Es10Request::GetEuiccChallenge)).unwrap();
    assert_ne!(a, b);
    // Same seed, same challenges: deterministic replay.
    let mut s2 = sim(0);
    open_isdr(&mut s2.card);
    let a2 =
        ChallengeResponse::decode(&call(&mut s2.card, &Es10Request::GetEuiccChallenge)).unwrap();
    assert_eq!(a, a2);
}

#[test]
fn store_data_on_every_block_size() {
    let mut s = sim(1);
    let c = &mut s.card;
    open_isdr(c);
    // A long message: SetNickname with a 64-byte nickname (the largest allowed).
    let t1 = profiles(c)[1].iccid.unwrap();
    for bs in 6..=255usize {
        let name = format!("{bs:03}").repeat(21) + "x";
        let req = Es10Request::SetNickname {
            iccid: t1,
            nickname: name.clone(),
        };
        let (d, sw) = es10(c, 1, &req.encode(), bs);
        assert_eq!(sw, "9000", "block size {bs}");
        assert_eq!(
            ResultCode::decode(0xBF29, &d).unwrap().code,
            0,
            "block size {bs}"
        );
        assert_eq!(profiles(c)[1].nickname.as_deref(), Some(name.as_str()));
        let (d, _) = es10(c, 1, &hex::decode("BF3E035C015A").unwrap(), bs);
        assert_eq!(d.len(), 21);
    }
}

#[test]
fn a_failed_save_answers_6581_and_changes_nothing() {
    let mut s = sim(1);
    let c = &mut s.card;
    open_isdr(c);
    let t1 = profiles(c)[1].iccid.unwrap();
    let before = s.storage.stored().unwrap();
    s.storage.set_failing(true);
    let req = Es10Request::EnableProfile {
        target: by_iccid(t1),
        refresh: true,
    };
    let (d, sw) = es10(c, 1, &req.encode(), 120);
    assert_eq!((d.len(), sw.as_str()), (0, "6581"));
    // Reads still work, and show the old state.
    assert_eq!(profiles(c)[0].state, Some(ProfileState::Enabled));
    assert_eq!(s.storage.stored().unwrap(), before);
    s.storage.set_failing(false);
    assert_eq!(code(c, req), 0);
    assert_eq!(profiles(c)[1].state, Some(ProfileState::Enabled));
    assert!(s.storage.load().unwrap().unwrap().profiles[1].is_enabled());
}

#[test]
fn power_cycles_keep_persistent_state_and_drop_volatile() {
    let mut s = sim(1);
    let c = &mut s.card;
    let ch = open_isdr(c);
    let t1 = profiles(c)[1].iccid.unwrap();
    assert_eq!(
        code(
            c,
            Es10Request::EnableProfile {
                target: by_iccid(t1),
                refresh: true
            }
        ),
        0
    );
    // A half-sent message, then power off.
    assert_eq!(tx(c, "81E2110003BF2D00"), "9000");
    c.power_off();
    c.power_on();
    assert_eq!(
        tx(c, &format!("{ch:02X}E2910003BF2D00")),
        "6881",
        "channels gone"
    );
    assert_eq!(open_isdr(c), 1);
    // The reassembler restarted: a last block 1 is out of sequence.
    assert_eq!(tx(c, "81E2910103BF2D00"), "6A86");
    assert_eq!(profiles(c)[1].state, Some(ProfileState::Enabled));
}

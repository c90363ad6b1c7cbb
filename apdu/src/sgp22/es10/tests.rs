//! ES10 codec tests against the byte strings of interop.md (lpac 2.3 and pySim).

use super::*;
use crate::sgp22::eid::Eid;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

#[test]
fn requests_as_lpac_sends_them() {
    assert_eq!(hx(&Es10Request::GetEid.encode()), "BF3E035C015A");
    assert_eq!(hx(&Es10Request::GetConfiguredAddresses.encode()), "BF3C00");
    assert_eq!(hx(&Es10Request::GetRat.encode()), "BF4300");
    assert_eq!(hx(&Es10Request::GetEuiccInfo2.encode()), "BF2200");
    assert_eq!(hx(&Es10Request::GetEuiccInfo1.encode()), "BF2000");
    assert_eq!(hx(&Es10Request::GetEuiccChallenge.encode()), "BF2E00");
    assert_eq!(
        hx(&Es10Request::GetProfilesInfo(Default::default()).encode()),
        "BF2D00"
    );
    for raw in [
        "BF3E035C015A",
        "BF3C00",
        "BF4300",
        "BF2200",
        "BF2D00",
        "BF2000",
        "BF2E00",
        "BF2800",
    ] {
        let r = Es10Request::decode(&h(raw)).unwrap();
        assert_eq!(hx(&r.encode()), raw);
    }
}

#[test]
fn every_request_round_trips() {
    let iccid = Iccid::from_digits("89049032000000000018").unwrap();
    let all = vec![
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Iccid(iccid)),
            tag_list: Some(vec![0x5A, 0x9F, 0x70]),
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Class(ProfileClass::Operational)),
            tag_list: None,
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Aid(h("A0000005591010FFFFFFFF8900001000"))),
            tag_list: None,
        }),
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(iccid),
            refresh: true,
        },
        Es10Request::DisableProfile {
            target: ProfileRef::Aid(h("A0000005591010FFFFFFFF8900001000")),
            refresh: false,
        },
        Es10Request::DeleteProfile(ProfileRef::Iccid(iccid)),
        Es10Request::MemoryReset(MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: true,
            reset_default_dp: true,
        }),
        Es10Request::SetNickname {
            iccid,
            nickname: "Work ☎".into(),
        },
        Es10Request::SetDefaultDpAddress("smdp.example.com".into()),
        Es10Request::ListNotification {
            filter: Some(events::ENABLE | events::DISABLE),
        },
        Es10Request::RemoveNotification(300),
    ];
    for r in all {
        assert_eq!(Es10Request::decode(&r.encode()).unwrap(), r);
    }
}

#[test]
fn enable_with_lpac_and_pysim_refresh_flags() {
    let iccid = Iccid::from_digits("89049032000000000018").unwrap();
    let mut raw = vec![0xBF, 0x31, 0x11, 0xA0, 0x0C, 0x5A, 0x0A];
    raw.extend_from_slice(&iccid.0);
    raw.extend_from_slice(&[0x81, 0x01, 0xFF]);
    assert_eq!(
        Es10Request::decode(&raw).unwrap(),
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(iccid),
            refresh: true
        }
    );
    *raw.last_mut().unwrap() = 0x01;
    assert!(matches!(
        Es10Request::decode(&raw).unwrap(),
        Es10Request::EnableProfile { refresh: true, .. }
    ));
}

#[test]
fn memory_reset_lpac_and_pysim_forms() {
    let all = MemoryResetOptions {
        delete_operational: true,
        delete_field_loaded_test: true,
        reset_default_dp: true,
    };
    assert_eq!(
        Es10Request::decode(&h("BF3404820205E0")).unwrap(),
        Es10Request::MemoryReset(all)
    );
    assert_eq!(
        Es10Request::decode(&h("BF34038201E0")).unwrap(),
        Es10Request::MemoryReset(all)
    );
    assert_eq!(
        hx(&Es10Request::MemoryReset(all).encode()),
        "BF3404820205E0"
    );
    assert_eq!(
        Es10Request::decode(&h("BF340482020780")).unwrap(),
        Es10Request::MemoryReset(MemoryResetOptions {
            delete_operational: true,
            ..Default::default()
        })
    );
}

#[test]
fn unknown_and_malformed() {
    // SGP.32 GetCerts, as pySim probes it.
    assert_eq!(
        Es10Request::decode(&h("BF5600")),
        Err(DecodeError::Unknown(0xBF56))
    );
    assert!(matches!(
        Es10Request::decode(&h("BF3100")),
        Err(DecodeError::Malformed(0xBF31, _))
    ));
    assert!(matches!(
        Es10Request::decode(&h("BF3E05")),
        Err(DecodeError::NotTlv(_))
    ));
    assert!(matches!(
        Es10Request::decode(&h("BF29035A0100")),
        Err(DecodeError::Malformed(0xBF29, _))
    ));
    assert!(matches!(
        Es10Request::decode(&[]),
        Err(DecodeError::NotTlv(_))
    ));
}

#[test]
fn eid_response_bytes() {
    let eid: Eid = "89049032123451234512345678901235".parse().unwrap();
    let r = EidResponse(eid).encode();
    assert_eq!(hx(&r), "BF3E125A1089049032123451234512345678901235");
    assert_eq!(EidResponse::decode(&r).unwrap().0, eid);
}

#[test]
fn rat_and_challenge_bytes() {
    assert_eq!(hx(&RatResponse(vec![]).encode()), "BF4302A000");
    assert_eq!(
        RatResponse::decode(&h("BF4302A000")).unwrap(),
        RatResponse(vec![])
    );
    let c = ChallengeResponse([7; 16]);
    assert_eq!(hx(&c.encode()[..5]), "BF2E128010");
    assert_eq!(ChallengeResponse::decode(&c.encode()).unwrap(), c);
}

#[test]
fn profile_list_round_trip_and_tag_list() {
    let p = ProfileInfo {
        iccid: Some(Iccid::from_digits("89049032000000000018").unwrap()),
        aid: Some(h("A0000005591010FFFFFFFF8900001000")),
        state: Some(ProfileState::Enabled),
        nickname: Some("nick".into()),
        service_provider: Some("Op".into()),
        profile_name: Some("PP#0".into()),
        class: Some(ProfileClass::Provisioning),
    };
    let r = ProfileInfoResponse::List(vec![p.clone(), ProfileInfo::default()]);
    let b = r.encode();
    assert_eq!(&b[..2], &[0xBF, 0x2D]);
    assert_eq!(ProfileInfoResponse::decode(&b).unwrap(), r);
    // 9F70 is encoded as a two-byte tag.
    assert!(hx(&b).contains("9F700101"));
    let only = ProfileInfoResponse::List(vec![p]).encode_with(Some(&[0x5A, 0x9F, 0x70]));
    match ProfileInfoResponse::decode(&only).unwrap() {
        ProfileInfoResponse::List(l) => {
            assert!(l[0].iccid.is_some() && l[0].state.is_some());
            assert!(l[0].aid.is_none() && l[0].nickname.is_none() && l[0].class.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(hx(&ProfileInfoResponse::Error(1).encode()), "BF2D03810101");
    assert_eq!(
        ProfileInfoResponse::decode(&h("BF2D03810101")).unwrap(),
        ProfileInfoResponse::Error(1)
    );
    assert_eq!(
        hx(&ProfileInfoResponse::List(vec![]).encode()),
        "BF2D02A000"
    );
}

#[test]
fn info_and_addresses_round_trip() {
    let i1 = EuiccInfo1 {
        svn: [2, 2, 2],
        verification_keys: vec![vec![0xAA; 20]],
        signing_keys: vec![vec![0xBB; 20]],
    };
    assert_eq!(EuiccInfo1::decode(&i1.encode()).unwrap(), i1);
    let i2 = EuiccInfo2 {
        profile_version: [2, 3, 1],
        svn: [2, 2, 2],
        firmware_version: [1, 0, 0],
        ext_card_resource: h("810100820300FFFF830200FF"),
        uicc_capability: vec![0x00, 0xFF],
        rsp_capability: vec![0x06, 0xC0],
        verification_keys: vec![],
        signing_keys: vec![],
        pp_version: [0, 0, 1],
        sas_accreditation_number: "VEUICC-TEST".into(),
        euicc_category: Some(1),
    };
    assert_eq!(EuiccInfo2::decode(&i2.encode()).unwrap(), i2);
    let res = i2.resources();
    assert_eq!(res.installed_applications, Some(0));
    assert_eq!(res.free_non_volatile_memory, Some(0xFFFF));
    assert_eq!(res.free_volatile_memory, Some(0xFF));
    let a = ConfiguredAddresses {
        default_dp: None,
        root_ds: "lpa.ds.gsma.com".into(),
    };
    assert_eq!(ConfiguredAddresses::decode(&a.encode()).unwrap(), a);
    assert_eq!(hx(&a.encode()[..4]), "BF3C1181");
}

#[test]
fn notifications_and_results() {
    let l = NotificationListResponse::List(vec![NotificationMetadata {
        seq: 1,
        events: events::DELETE,
        address: "smdp.example.com".into(),
        iccid: Some(Iccid::from_digits("89049032000000000018").unwrap()),
    }]);
    let b = l.encode();
    assert!(hx(&b).contains("81020410"));
    assert_eq!(NotificationListResponse::decode(&b).unwrap(), l);
    assert_eq!(
        hx(&NotificationListResponse::Error(127).encode()),
        "BF280381017F"
    );
    let r = ResultCode::new(tags::ENABLE, result::WRONG_STATE);
    assert_eq!(hx(&r.encode().unwrap()), "BF3103800102");
    assert_eq!(
        ResultCode::decode(tags::ENABLE, &r.encode().unwrap()).unwrap(),
        r
    );
    assert_eq!(r.to_string(), "profile not in disabled state (result 2)");
    assert!(ResultCode::decode(tags::DISABLE, &r.encode().unwrap()).is_err());
}

/// A valid message for every decoder of this module: requests and answers.
fn seeds() -> Vec<Vec<u8>> {
    let iccid = Iccid::from_digits("89049032000000000018").unwrap();
    let aid = h("A0000005591010FFFFFFFF8900001000");
    let requests = [
        Es10Request::GetEid,
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Iccid(iccid)),
            tag_list: Some(vec![0x5A, 0x9F, 0x70]),
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Class(ProfileClass::Operational)),
            tag_list: None,
        }),
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(iccid),
            refresh: true,
        },
        Es10Request::DisableProfile {
            target: ProfileRef::Aid(aid.clone()),
            refresh: false,
        },
        Es10Request::DeleteProfile(ProfileRef::Iccid(iccid)),
        Es10Request::MemoryReset(MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: false,
            reset_default_dp: true,
        }),
        Es10Request::SetNickname {
            iccid,
            nickname: "Work".into(),
        },
        Es10Request::SetDefaultDpAddress("smdp.example.com".into()),
        Es10Request::ListNotification {
            filter: Some(events::ENABLE),
        },
        Es10Request::RemoveNotification(300),
    ];
    let profile = ProfileInfo {
        iccid: Some(iccid),
        aid: Some(aid),
        state: Some(ProfileState::Enabled),
        nickname: Some("nick".into()),
        service_provider: Some("Op".into()),
        profile_name: Some("PP#0".into()),
        class: Some(ProfileClass::Provisioning),
    };
    // Each seed is the encoding of a value that decodes back to that value.
    let mut out = Vec::new();
    for r in requests {
        let b = r.encode();
        assert_eq!(Es10Request::decode(&b), Ok(r));
        out.push(b);
    }
    macro_rules! seed {
        ($t:ty, $v:expr) => {{
            let v: $t = $v;
            let b = v.encode();
            assert_eq!(<$t>::decode(&b), Ok(v));
            out.push(b);
        }};
    }
    seed!(
        ProfileInfoResponse,
        ProfileInfoResponse::List(vec![profile, ProfileInfo::default()])
    );
    seed!(ProfileInfoResponse, ProfileInfoResponse::Error(1));
    seed!(
        NotificationListResponse,
        NotificationListResponse::List(vec![NotificationMetadata {
            seq: 1,
            events: events::DELETE,
            address: "smdp.example.com".into(),
            iccid: Some(iccid),
        }])
    );
    seed!(
        EuiccInfo1,
        EuiccInfo1 {
            svn: [2, 2, 2],
            verification_keys: vec![vec![0xAA; 4]],
            signing_keys: vec![vec![0xBB; 4]],
        }
    );
    seed!(
        EuiccInfo2,
        EuiccInfo2 {
            profile_version: [2, 3, 1],
            svn: [2, 2, 2],
            firmware_version: [1, 0, 0],
            ext_card_resource: h("810100820300FFFF830200FF"),
            uicc_capability: vec![0x00, 0xFF],
            rsp_capability: vec![0x06, 0xC0],
            verification_keys: vec![vec![0xAA; 4]],
            signing_keys: vec![],
            pp_version: [0, 0, 1],
            sas_accreditation_number: "VEUICC-TEST".into(),
            euicc_category: Some(1),
        }
    );
    seed!(
        ConfiguredAddresses,
        ConfiguredAddresses {
            default_dp: Some("dp.example.com".into()),
            root_ds: "lpa.ds.gsma.com".into(),
        }
    );
    seed!(EidResponse, EidResponse(Eid::test_eid(7)));
    seed!(ChallengeResponse, ChallengeResponse([0x11; 16]));
    seed!(RatResponse, RatResponse(vec![]));
    let rc = ResultCode::new(tags::ENABLE, result::WRONG_STATE);
    let b = rc.encode().unwrap();
    assert_eq!(ResultCode::decode(tags::ENABLE, &b), Ok(rc));
    out.push(b);
    out
}

/// Every valid message, then each mutated 120 ways (a bit flipped, a byte replaced,
/// a byte inserted or dropped, the tail cut), then random bytes behind `BF`.
fn garbage() -> Vec<Vec<u8>> {
    let mut x: u32 = 0x1234_5678;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    let seeds = seeds();
    let mut out = seeds.clone();
    for seed in &seeds {
        for _ in 0..120 {
            let mut b = seed.clone();
            let i = next() % b.len();
            match next() % 5 {
                0 => b[i] ^= 1 << (next() % 8),
                1 => b[i] = next() as u8,
                2 => b.insert(i, next() as u8),
                3 => {
                    b.remove(i);
                }
                _ => b.truncate(i),
            }
            out.push(b);
        }
    }
    for len in 0..200usize {
        let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len >= 2 {
            b[0] = 0xBF;
        }
        out.push(b);
    }
    out
}

/// What decodes, re-encodes to bytes that decode equal.
macro_rules! round_trips {
    ($t:ty, $input:expr) => {
        if let Ok(v) = <$t>::decode($input) {
            assert_eq!(<$t>::decode(&v.encode()).as_ref(), Ok(&v), "{}", hx($input));
        }
    };
}

/// The oracle for every input: a request either decodes to a value that survives
/// encoding, or the error says truthfully why (not TLV / unknown tag / known tag with
/// bad content); each answer decoder likewise decodes to a value that survives encoding.
#[test]
fn decoders_never_panic_on_garbage() {
    let (mut ok, mut not_tlv, mut unknown, mut malformed) = (0, 0, 0, 0);
    for input in garbage() {
        let input = &input[..];
        match Es10Request::decode(input) {
            Ok(r) => {
                ok += 1;
                assert_eq!(Es10Request::decode(&r.encode()), Ok(r), "{}", hx(input));
            }
            Err(DecodeError::NotTlv(_)) => {
                not_tlv += 1;
                assert!(tlv::parse(input).is_err(), "{}", hx(input));
            }
            Err(DecodeError::Unknown(tag)) => {
                unknown += 1;
                assert_eq!(tlv::parse(input).map(|t| tlv::tag_num(&t)), Ok(tag));
                assert!(!tags::ALL.contains(&tag), "{}", hx(input));
            }
            Err(DecodeError::Malformed(tag, _)) => {
                malformed += 1;
                assert_eq!(tlv::parse(input).map(|t| tlv::tag_num(&t)), Ok(tag));
                assert!(tags::ALL.contains(&tag), "{}", hx(input));
            }
        }
        round_trips!(ProfileInfoResponse, input);
        round_trips!(NotificationListResponse, input);
        round_trips!(EuiccInfo1, input);
        round_trips!(EuiccInfo2, input);
        round_trips!(ConfiguredAddresses, input);
        round_trips!(EidResponse, input);
        round_trips!(ChallengeResponse, input);
        round_trips!(RatResponse, input);
        if let Ok(r) = ResultCode::decode(tags::ENABLE, input) {
            assert_eq!(
                ResultCode::decode(tags::ENABLE, &r.encode().unwrap()),
                Ok(r)
            );
        }
    }
    // The mutations reach every outcome, so none of the branches above is vacuous.
    assert!(ok > 100 && not_tlv > 100 && unknown > 10 && malformed > 100);
}

#[test]
fn tag_lists_are_read_as_ber_tags() {
    let list = [0x5A, 0x9F, 0x70, 0xBF, 0x81, 0x01, 0x90];
    for tag in [0x5A, 0x9F70, 0xBF8101, 0x90] {
        assert!(tag_in_list(&list, tag), "{tag:X}");
    }
    // Bytes inside a multi-byte tag are not tags of their own.
    for tag in [0x9F, 0x70, 0x81, 0x01] {
        assert!(!tag_in_list(&list, tag), "{tag:X}");
    }
    // Nothing after a malformed tag is read.
    assert!(!tag_in_list(&[0x00, 0x5A], 0x5A));
    assert!(!tag_in_list(&[0x9F], 0x9F));
}

//! Round trips and hostile input for the device-change messages.

use super::request::KeySource;
use super::*;
use crate::sgp22::eid::Eid;
use crate::sgp22::es10::Iccid;

fn auth() -> SmAuth {
    SmAuth {
        sm_challenge: vec![4; 32],
        certificate: vec![0x30; 460],
        signature: vec![6; 64],
    }
}

#[test]
fn requests_round_trip() {
    let all = vec![
        DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        DcRequest::GenerateKey {
            flow: Flow::Provision,
            op_id: "+8613800000001".into(),
            challenge: vec![1; 32],
            salt: vec![2; 16],
            kdf: vec![3; 7],
        },
        DcRequest::Authenticate {
            flow: Flow::KeyChange,
            op_id: "+8613800000001".into(),
            challenge: vec![1; 32],
            salt: vec![2; 16],
            kdf: vec![3; 7],
            need_parameter: true,
        },
        DcRequest::InstallProfile {
            op_id: "+8613800000001".into(),
            sealed: vec![9; 600],
            key: KeySource::Identity,
            auth: auth(),
        },
        DcRequest::FetchResult,
        DcRequest::RemoveProfile {
            op_id: "+8613800000001".into(),
            iccid: Iccid::from_digits("89860000000000000018").unwrap(),
            auth: auth(),
        },
        DcRequest::Identity {
            challenge: vec![7; 32],
        },
        DcRequest::CardChallenge,
    ];
    for r in all {
        let b = r.encode();
        assert_eq!(DcRequest::decode(&b).unwrap(), r, "{r:?}");
    }
    assert_eq!(hex::encode_upper(DcRequest::FetchResult.encode()), "BF6A00");
    assert_eq!(
        hex::encode_upper(DcRequest::CardChallenge.encode()),
        "BF6D00"
    );
    // BF69 without the SM's authorisation does not decode.
    let bare = crate::iso7816::tlv::encode(&crate::iso7816::tlv::cons_tagged(
        Function::InstallProfile.cons_tag(),
        vec![
            crate::iso7816::tlv::prim::<0x82>(b"+8613800000001".to_vec()),
            crate::iso7816::tlv::prim::<0x8D>(vec![1; 300]),
            crate::iso7816::tlv::prim::<0x8E>(vec![1]),
        ],
    ));
    assert!(DcRequest::decode(&bare).is_err());
    assert_eq!(
        hex::encode_upper(
            DcRequest::Begin {
                flow: Flow::Provision
            }
            .encode()
        ),
        "BF6603810101"
    );
}

#[test]
fn responses_round_trip() {
    let eid = Eid::test_eid(5);
    let all = vec![
        DcResponse::Begun {
            flow: Flow::DeviceChange,
            op_id: Some("+8613800000001".into()),
            eid,
            imei: "490154203237518".into(),
            identity_key: vec![0x30; 294],
        },
        DcResponse::Begun {
            flow: Flow::Provision,
            op_id: None,
            eid,
            imei: "490154203237518".into(),
            identity_key: vec![0x30; 294],
        },
        DcResponse::KeyGenerated {
            public_key: vec![1; 294],
            possession_signature: vec![2; 256],
            identity_signature: vec![3; 256],
        },
        DcResponse::Authenticated {
            parameter_signature: None,
            identity_signature: vec![3; 256],
            encryption_key: Some(vec![0x30; 294]),
        },
        DcResponse::Authenticated {
            parameter_signature: Some(vec![2; 256]),
            identity_signature: vec![3; 256],
            encryption_key: None,
        },
        DcResponse::Installed(InstallResult {
            code: DcResult::Ok,
            iccid: Some(Iccid::from_digits("89860000000000000018").unwrap()),
            signature: vec![8; 256],
        }),
        DcResponse::Installed(InstallResult {
            code: DcResult::DecryptionFailed,
            iccid: None,
            signature: vec![8; 256],
        }),
        DcResponse::Removed {
            code: DcResult::NotFound,
            signature: vec![8; 256],
        },
        DcResponse::CardChallenge { challenge: [3; 16] },
        // BF69 / BF6B without the signed result: a plain failure.
        DcResponse::Failed {
            tag: Function::InstallProfile,
            code: DcResult::NotAuthorised,
        },
        DcResponse::Identity {
            eid,
            identity_key: vec![4; 294],
            signature: vec![5; 256],
        },
        DcResponse::Failed {
            tag: Function::FetchResult,
            code: DcResult::NoSession,
        },
        DcResponse::Failed {
            tag: Function::GenerateKey,
            code: DcResult::ParameterMismatch,
        },
    ];
    for r in all {
        assert_eq!(DcResponse::decode(&r.encode()).unwrap(), r, "{r:?}");
    }
}

#[test]
fn hostile_input() {
    assert!(DcRequest::decode(&hex::decode("BF3E035C015A").unwrap()).is_err());
    assert!(DcRequest::decode(&hex::decode("BF6603810109").unwrap()).is_err());
    assert!(DcRequest::decode(&hex::decode("BF6600").unwrap()).is_err());
    let long = DcRequest::Identity {
        challenge: vec![0; 65],
    }
    .encode();
    assert!(DcRequest::decode(&long).is_err());
    let mut x = 0x9E37_79B9u32;
    for len in 0..300usize {
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        if len > 3 {
            b[0] = 0xBF;
            b[1] = 0x66 + (len % 8) as u8;
        }
        let _ = DcRequest::decode(&b);
        let _ = DcResponse::decode(&b);
    }
}

#[test]
fn functions_are_named_once_by_their_tag() {
    for f in Function::ALL {
        assert_eq!(Function::from_tag(f.tag()), Some(f));
        assert_eq!(f.cons_tag().num(), f.tag());
        assert_eq!(f.to_string(), format!("{} ({:04X})", f.name(), f.tag()));
    }
    assert_eq!(Function::Begin.to_string(), "DcBegin (BF66)");
    assert_eq!(Function::from_tag(0xBF65), None);
    assert_eq!(Function::from_tag(0xBF6E), None);
    // A failure answer carries its function's tag, so it always encodes.
    let failed = DcResponse::Failed {
        tag: Function::Identity,
        code: DcResult::Other(42),
    };
    assert_eq!(hex::encode_upper(failed.encode()), "BF6C0380012A");
    assert_eq!(DcResponse::decode(&failed.encode()).unwrap(), failed);
}

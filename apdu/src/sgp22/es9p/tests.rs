//! ES9+ JSON: round trips, the spellings lpac and osmo-smdpp use, and refusals.

use super::*;
use crate::sgp22::es10b::{CtxParams1, DeviceInfo, Encoded, ServerSigned1, SmdpSigned2};

fn tid() -> TransactionId {
    TransactionId::from_hex("0123456789ABCDEF0123456789ABCDEF").unwrap()
}

/// A certificate-shaped TLV (AuthenticateServer only checks it is a `30` of sane size).
fn cert_tlv() -> Vec<u8> {
    vec![0x30, 0x03, 0x02, 0x01, 0x05]
}

#[test]
fn initiate_authentication_request_as_lpac_sends_it() {
    // lpac (euicc/es9p.c): no header, these three fields.
    let body = br#"{"smdpAddress":"testsmdpplus1.example.com","euiccChallenge":"AAECAwQFBgcICQoLDA0ODw==","euiccInfo1":"vyAA"}"#;
    let r: InitiateAuthenticationRequest = parse_request(body).unwrap();
    assert_eq!(r.euicc_challenge, core::array::from_fn(|i| i as u8));
    assert_eq!(r.euicc_info1, vec![0xBF, 0x20, 0x00]);
    assert_eq!(r.smdp_address, "testsmdpplus1.example.com");
    assert_eq!(r.header, None);
    let again: InitiateAuthenticationRequest = parse_request(&encode_request(&r)).unwrap();
    assert_eq!(again, r);
}

#[test]
fn request_header_and_unknown_fields_are_accepted() {
    // pySim's ES9+ client sends a request header; others add fields of later versions.
    let body =
        br#"{"header":{"functionRequesterIdentifier":"x","functionCallIdentifier":"FCI-1-1"},
        "transactionId":"0a0B","authenticateServerResponse":"vzgA","lpaRspCapability":"AA=="}"#;
    let r: AuthenticateClientRequest = parse_request(body).unwrap();
    assert_eq!(r.transaction_id.as_bytes(), &[0x0A, 0x0B]);
    assert_eq!(r.transaction_id.to_hex(), "0A0B");
    assert_eq!(
        r.header.unwrap().function_call_identifier.as_deref(),
        Some("FCI-1-1")
    );
}

#[test]
fn osmo_smdpp_failure_header_is_read() {
    // What osmo-smdpp's ApiError.encode() writes.
    let body = br#"{"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData": {"subjectCode": "8.8.1", "reasonCode": "3.8", "message": "Invalid SM-DP+ Address"}}}}"#;
    match parse_response::<InitiateAuthenticationOk>(body).unwrap() {
        Response::NotExecuted(s) => {
            assert_eq!(s.status, ExecutionStatus::Failed);
            let d = s.status_code_data.unwrap();
            assert_eq!(d.code(), Some(StatusCode::SmdpAddressRefused));
            let line = d.explain();
            assert!(
                line.starts_with("8.8.1 / 3.8: the SM-DP+ address"),
                "{line}"
            );
            assert!(line.contains("Invalid SM-DP+ Address"), "{line}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ok_response_round_trips_with_header_and_field_names() {
    let ok = InitiateAuthenticationOk {
        transaction_id: tid(),
        server_signed1: vec![0x30, 0x00],
        server_signature1: vec![0x5F, 0x37, 0x00],
        euicc_ci_pkid_to_be_used: ci_pkid_tlv(&[0xAB; 20]),
        server_certificate: cert_tlv(),
    };
    let body = encode_ok(&ok);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // The spellings lpac reads (es9p.c) and osmo-smdpp writes.
    for key in [
        "transactionId",
        "serverSigned1",
        "serverSignature1",
        "euiccCiPKIdToBeUsed",
        "serverCertificate",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(
        v["header"]["functionExecutionStatus"]["status"],
        "Executed-Success"
    );
    assert_eq!(v["transactionId"], "0123456789ABCDEF0123456789ABCDEF");
    assert_eq!(v["serverSigned1"], "MAA=");
    match parse_response::<InitiateAuthenticationOk>(&body).unwrap() {
        Response::Executed { header, body } => {
            assert_eq!(header, ResponseHeader::success());
            assert_eq!(body, ok);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_response_round_trips_every_code() {
    for &code in StatusCode::ALL {
        let body = encode_failed(code, Some("why".into()));
        match parse_response::<AuthenticateClientOk>(&body).unwrap() {
            Response::NotExecuted(s) => {
                assert_eq!(s.status, ExecutionStatus::Failed);
                assert_eq!(s.status_code_data.unwrap().code(), Some(code));
            }
            other => panic!("{code:?}: {other:?}"),
        }
    }
}

#[test]
fn code_table_has_the_spec_values_and_no_duplicates() {
    let pairs = [
        (StatusCode::EidRefused, ("8.1.1", "3.8")),
        (StatusCode::MatchingIdRefused, ("8.2.6", "3.8")),
        (StatusCode::ConfirmationCodeMissing, ("8.2.7", "2.2")),
        (StatusCode::ConfirmationCodeRefused, ("8.2.7", "3.8")),
        (StatusCode::TransactionIdUnknown, ("8.10.1", "3.9")),
        (StatusCode::SmdpInvalidAssociation, ("8.8", "3.10")),
        (StatusCode::ProfileNotReleased, ("8.2", "1.2")),
        (StatusCode::EuiccVerificationFailed, ("8.1", "6.1")),
        (StatusCode::CiPkIdUnsupported, ("8.8.2", "3.1")),
    ];
    for (code, want) in pairs {
        assert_eq!(code.codes(), want, "{code:?}");
    }
    let mut seen = std::collections::HashSet::new();
    for c in StatusCode::ALL {
        assert!(seen.insert(c.codes()), "{c:?} duplicates a pair");
        assert!(c.sentence().ends_with('.'), "{c:?}");
    }
    assert_eq!(StatusCode::from_codes("9.9", "9.9"), None);
}

#[test]
fn executed_response_missing_output_is_refused() {
    let body = br#"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}}"#;
    assert!(matches!(
        parse_response::<AuthenticateClientOk>(body),
        Err(Es9pError::Invalid(_))
    ));
}

#[test]
fn bad_base64_is_refused() {
    for bad in [
        "vyA",   // no padding
        "vy A=", // space
        "vy-_",  // URL-safe alphabet
        "vyA==", // wrong padding
        "!!!!",  // not base64
    ] {
        let body = format!(r#"{{"pendingNotification":"{bad}"}}"#);
        let r = parse_request::<HandleNotificationRequest>(body.as_bytes());
        assert!(matches!(r, Err(Es9pError::Invalid(_))), "{bad}: {r:?}");
    }
    // A challenge of the wrong length.
    let body = br#"{"smdpAddress":"a","euiccChallenge":"AAEC","euiccInfo1":"vyAA"}"#;
    assert!(parse_request::<InitiateAuthenticationRequest>(body).is_err());
}

#[test]
fn oversized_fields_and_bodies_are_refused() {
    let big = codec::encode_base64(&vec![0u8; MAX_FIELD + 1]);
    let body = format!(r#"{{"pendingNotification":"{big}"}}"#);
    // Under the body cap, over the field cap.
    assert!(body.len() < MAX_REQUEST);
    let r = parse_request::<HandleNotificationRequest>(body.as_bytes());
    assert!(
        matches!(&r, Err(Es9pError::Invalid(m)) if m.contains("more than")),
        "{r:?}"
    );
    // Exactly at the cap it is fine.
    let ok = codec::encode_base64(&vec![0u8; MAX_FIELD]);
    let body = format!(r#"{{"pendingNotification":"{ok}"}}"#);
    assert!(parse_request::<HandleNotificationRequest>(body.as_bytes()).is_ok());
    // A body over the cap is refused before parsing.
    let body = vec![b' '; MAX_REQUEST + 1];
    assert_eq!(
        parse_request::<HandleNotificationRequest>(&body),
        Err(Es9pError::TooLarge {
            len: MAX_REQUEST + 1,
            max: MAX_REQUEST
        })
    );
}

#[test]
fn bad_transaction_ids_are_refused() {
    for bad in ["", "0", "XYZW", &"00".repeat(17)] {
        let body = format!(r#"{{"transactionId":"{bad}","cancelSessionResponse":"vyAA"}}"#);
        assert!(
            parse_request::<CancelSessionRequest>(body.as_bytes()).is_err(),
            "{bad}"
        );
    }
    let body = br#"{"transactionId":17,"cancelSessionResponse":"vyAA"}"#;
    assert!(parse_request::<CancelSessionRequest>(body).is_err());
}

#[test]
fn malformed_json_is_refused_not_panicking() {
    for body in [
        &b""[..],
        b"{",
        b"[]",
        b"null",
        b"{\"euiccChallenge\":null}",
        &[0xFF, 0xFE],
        &b"[".repeat(10_000),
    ] {
        assert!(parse_request::<InitiateAuthenticationRequest>(body).is_err());
        assert!(parse_response::<GetBoundProfilePackageOk>(body).is_err());
    }
}

#[test]
fn answers_become_the_es10b_requests_lpac_builds() {
    let signed1 = Encoded::new(ServerSigned1 {
        transaction_id: tid().as_bytes().to_vec(),
        euicc_challenge: [1; 16],
        server_address: "testsmdpplus1.example.com".into(),
        server_challenge: [2; 16],
    });
    let ok = InitiateAuthenticationOk::new(tid(), &signed1, &[7; 64], &[0xAB; 20], &cert_tlv());
    assert_eq!(&ok.server_signature1[..3], &[0x5F, 0x37, 0x40]);
    assert_eq!(&ok.euicc_ci_pkid_to_be_used[..2], &[0x04, 0x14]);
    let ctx = CtxParams1 {
        matching_id: Some("ABC".into()),
        device_info: DeviceInfo {
            tac: vec![0x35, 0x29, 0x06, 0x11],
            capabilities: vec![],
            imei: None,
        },
    };
    let req = ok.authenticate_server_request(&ctx).unwrap();
    assert_eq!(req.server_signed1, signed1);
    assert_eq!(req.server_signature1, vec![7; 64]);
    assert_eq!(req.ci_pkid, vec![0xAB; 20]);
    assert_eq!(req.ctx_params1.value(), &ctx);

    let signed2 = Encoded::new(SmdpSigned2 {
        transaction_id: tid().as_bytes().to_vec(),
        cc_required: true,
        bpp_euicc_otpk: None,
    });
    let ac = AuthenticateClientOk {
        transaction_id: tid(),
        profile_metadata: vec![0xBF, 0x25, 0x00],
        smdp_signed2: signed2.der().to_vec(),
        smdp_signature2: crate::sgp22::es10b::signed_data::signature_tlv(&[9; 64]),
        smdp_certificate: cert_tlv(),
    };
    let h = hash_cc(&confirmation_code_hash(b"1234"), tid().as_bytes());
    let prep = ac.prepare_download_request(Some(h)).unwrap();
    assert_eq!(prep.smdp_signed2, signed2);
    assert_eq!(prep.hash_cc, Some(h));
    assert_eq!(prep.smdp_signature2, vec![9; 64]);
    // A broken part is refused, not passed on.
    let mut bad = ok.clone();
    bad.server_signed1 = vec![0x30, 0x05, 0x00];
    assert!(bad.authenticate_server_request(&ctx).is_err());
}

#[test]
fn hash_cc_is_sha256_of_sha256_code_and_transaction_id() {
    use sha2::{Digest, Sha256};
    let code = b"12345678";
    let t = [0x11u8, 0x22];
    let inner = Sha256::digest(code);
    let mut outer = Sha256::new();
    outer.update(inner);
    outer.update(t);
    let want: [u8; 32] = outer.finalize().into();
    assert_eq!(hash_cc(&confirmation_code_hash(code), &t), want);
    assert_ne!(hash_cc(&confirmation_code_hash(b"12345679"), &t), want);
}

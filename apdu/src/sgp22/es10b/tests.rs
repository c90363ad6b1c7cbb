//! ES10b codec tests. The expected bytes were computed independently: osmocom's
//! `asn1tools` (DER codec) over the SGP.22 ASN.1 module as pySim ships it
//! (`pySim/esim/asn1/rsp/rsp.asn`), run here with the values below; the output is
//! pasted as vectors. They pin the automatic tags (A0/A1 CHOICE wrappers, CancelSession's
//! `81` error, ErrorResult's `80 81 82`).

use super::*;
use crate::sgp22::es10::{events, Iccid, NotificationMetadata};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

const TID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
/// OID 2.999.10.
const OID: [u8; 3] = [0x88, 0x37, 0x0A];

fn metadata() -> NotificationMetadata {
    NotificationMetadata {
        seq: 7,
        events: events::INSTALL,
        address: "smdp.example".into(),
        iccid: Some(Iccid(h("98109909002143658739").try_into().unwrap())),
    }
}

fn pir_ok() -> ProfileInstallationResult {
    ProfileInstallationResult {
        data: Encoded::new(ProfileInstallationResultData {
            transaction_id: TID.to_vec(),
            notification: metadata(),
            smdp_oid: Some(OID.to_vec()),
            final_result: FinalResult::Success {
                aid: h("A0000005591010FFFFFFFF8900001100"),
                sima_response: h("3003800100"),
            },
        }),
        signature: vec![0x55; 64],
    }
}

const PIR_OK: &str = "BF378196BF275080080102030405060708BF2F21800107810207800C0C736D64702E6578616D706C655A0A98109909002143658739060388370AA21BA0194F10A0000005591010FFFFFFFF8900001100040530038001005F374055555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555";

#[test]
fn server_signed1_and_ctx_params1() {
    let ss = ServerSigned1 {
        transaction_id: TID.to_vec(),
        euicc_challenge: core::array::from_fn(|i| i as u8),
        server_address: "smdp.example".into(),
        server_challenge: core::array::from_fn(|i| 16 + i as u8),
    };
    assert_eq!(hx(&ss.to_der()), "303C800801020304050607088110000102030405060708090A0B0C0D0E0F830C736D64702E6578616D706C658410101112131415161718191A1B1C1D1E1F");
    let ctx = CtxParams1 {
        matching_id: Some("ABC".into()),
        device_info: DeviceInfo {
            tac: h("35290611"),
            capabilities: vec![],
            imei: Some(h("3529061100000000")),
        },
    };
    assert_eq!(
        hx(&ctx.to_der()),
        "A0198003414243A112800435290611A10082083529061100000000"
    );
}

/// A stand-in for a certificate: the codec only needs a `30` TLV.
fn cert(fill: u8) -> Vec<u8> {
    let mut c = vec![0x30, 0x04, 0x02, 0x02, fill, fill];
    c[4] &= 0x7F;
    c
}

#[test]
fn authenticate_server_request_round_trips_and_keeps_signed_bytes() {
    let ss = Encoded::new(ServerSigned1 {
        transaction_id: TID.to_vec(),
        euicc_challenge: [0xC1; 16],
        server_address: "smdp.example".into(),
        server_challenge: [0x5C; 16],
    });
    let req = AuthenticateServerRequest {
        server_signed1: ss.clone(),
        server_signature1: vec![0xAB; 64],
        ci_pkid: vec![0xF5; 20],
        server_certificate: cert(0x11),
        ctx_params1: Encoded::new(CtxParams1 {
            matching_id: None,
            device_info: DeviceInfo {
                tac: h("35290611"),
                capabilities: h("80030202028103030303"),
                imei: None,
            },
        }),
    };
    let bytes = req.encode();
    assert!(hx(&bytes).starts_with("BF38"));
    let Ok(Some(Es10bRequest::AuthenticateServer(back))) = Es10bRequest::decode(&bytes) else {
        panic!("not decoded")
    };
    assert_eq!(*back, req);
    assert_eq!(back.server_signed1.der(), ss.to_der_bytes());
    assert_eq!(
        hx(&Es10bRequest::AuthenticateServer(back).encode()),
        hx(&bytes)
    );
    // A missing certificate, a short challenge: malformed, with the tag.
    let mut short = bytes.clone();
    let pos = hx(&short).find("8110C1").unwrap() / 2;
    short[pos + 1] = 0x0F;
    assert!(Es10bRequest::decode(&short).is_err());
    assert_eq!(Es10bRequest::decode(&h("BF2E00")), Ok(None));
    assert_eq!(Es10bRequest::decode(&h("BF3800")).unwrap_err().0, 0xBF38);
}

impl<T: ToDer> Encoded<T> {
    fn to_der_bytes(&self) -> Vec<u8> {
        self.value().to_der()
    }
}

#[test]
fn authenticate_server_answers() {
    let err = AuthenticateServerResponse::Error {
        transaction_id: TID.to_vec(),
        code: AuthenticateErrorCode::EuiccChallengeMismatch,
    };
    assert_eq!(hx(&err.encode()), "BF380FA10D80080102030405060708020106");
    assert_eq!(
        AuthenticateServerResponse::decode(&err.encode()).unwrap(),
        err
    );
    let ok = AuthenticateServerResponse::Ok(Box::new(AuthenticateResponseOk {
        euicc_signed1: Encoded::new(EuiccSigned1 {
            transaction_id: TID.to_vec(),
            server_address: "smdp.example".into(),
            server_challenge: [0x5C; 16],
            euicc_info2: h("BF220381010A"),
            ctx_params1: h("A0198003414243A112800435290611A10082083529061100000000"),
        }),
        euicc_signature1: vec![0x42; 64],
        euicc_certificate: cert(0x21),
        eum_certificate: cert(0x22),
    }));
    let b = ok.encode();
    assert!(hx(&b).starts_with("BF38"));
    let outer = crate::iso7816::tlv::parse(&b).unwrap();
    assert_eq!(
        crate::iso7816::tlv::tag_num(&crate::iso7816::tlv::children(&outer)[0]),
        0xA0
    );
    assert_eq!(AuthenticateServerResponse::decode(&b).unwrap(), ok);
}

#[test]
fn prepare_download_messages() {
    let signed = SmdpSigned2 {
        transaction_id: TID.to_vec(),
        cc_required: true,
        bpp_euicc_otpk: Some([&[4u8][..], &[0; 64]].concat()),
    };
    assert_eq!(
        hx(&signed.to_der()),
        format!("3051800801020304050607080101FF5F494104{}", "00".repeat(64))
    );
    let req = PrepareDownloadRequest {
        smdp_signed2: Encoded::new(signed),
        smdp_signature2: vec![0x77; 64],
        hash_cc: Some([0x22; 32]),
        smdp_certificate: cert(0x31),
    };
    let Ok(Some(Es10bRequest::PrepareDownload(back))) = Es10bRequest::decode(&req.encode()) else {
        panic!()
    };
    assert_eq!(*back, req);

    let ok = PrepareDownloadResponse::Ok(PrepareDownloadResponseOk {
        euicc_signed2: Encoded::new(EuiccSigned2 {
            transaction_id: TID.to_vec(),
            euicc_otpk: [&[4u8][..], &[0x11; 64]].concat(),
            hash_cc: Some([0x22; 32]),
        }),
        euicc_signature2: vec![0x33; 64],
    });
    assert_eq!(
        hx(&ok.encode()),
        format!(
            "BF2181B8A081B53070800801020304050607085F494104{}0420{}5F3740{}",
            "11".repeat(64),
            "22".repeat(32),
            "33".repeat(64)
        )
    );
    assert_eq!(PrepareDownloadResponse::decode(&ok.encode()).unwrap(), ok);
    let err = PrepareDownloadResponse::Error {
        transaction_id: TID.to_vec(),
        code: DownloadErrorCode::InvalidTransactionId,
    };
    assert_eq!(hx(&err.encode()), "BF210FA10D80080102030405060708020105");
    assert_eq!(PrepareDownloadResponse::decode(&err.encode()).unwrap(), err);
}

#[test]
fn signed_data_concatenations() {
    // §5.7.14: smdpSigned2 || 5F37 40 euiccSignature1; euiccSigned2 || 5F37 40 smdpSignature2.
    let a = signed_data::smdp_signature2(&[0x30, 0x00], &[0xEE; 64]);
    assert_eq!(hx(&a), format!("30005F3740{}", "EE".repeat(64)));
    let b = signed_data::euicc_signature2(&[0x30, 0x01, 0x00], &[0xDD; 64]);
    assert_eq!(hx(&b), format!("3001005F3740{}", "DD".repeat(64)));
}

#[test]
fn cancel_session_messages() {
    let req = CancelSessionRequest {
        transaction_id: TID.to_vec(),
        reason: CancelSessionReason::Postponed,
    };
    assert_eq!(hx(&req.encode()), "BF410D80080102030405060708810101");
    assert_eq!(
        Es10bRequest::decode(&req.encode()),
        Ok(Some(Es10bRequest::CancelSession(req)))
    );
    let ok = CancelSessionResponse::Ok {
        signed: Encoded::new(EuiccCancelSessionSigned {
            transaction_id: TID.to_vec(),
            smdp_oid: OID.to_vec(),
            reason: CancelSessionReason::Postponed,
        }),
        signature: vec![0x44; 64],
    };
    assert_eq!(
        hx(&ok.encode()),
        format!(
            "BF4159A057301280080102030405060708810388370A8201015F3740{}",
            "44".repeat(64)
        )
    );
    assert_eq!(CancelSessionResponse::decode(&ok.encode()).unwrap(), ok);
    let err = CancelSessionResponse::Error(CancelSessionError::InvalidTransactionId);
    assert_eq!(hx(&err.encode()), "BF4103810105");
    assert_eq!(
        CancelSessionResponse::decode(&h("BF4103810105")).unwrap(),
        err
    );
}

#[test]
fn profile_installation_results() {
    let ok = pir_ok();
    assert_eq!(hx(&ok.encode()), PIR_OK);
    assert_eq!(ProfileInstallationResult::decode(&h(PIR_OK)).unwrap(), ok);
    // The signature covers exactly the BF27 TLV.
    assert_eq!(hx(ok.data.der()), PIR_OK[8..8 + 2 * 0x53]);
    let err = ProfileInstallationResult {
        data: Encoded::new(ProfileInstallationResultData {
            transaction_id: TID.to_vec(),
            notification: metadata(),
            smdp_oid: None,
            final_result: FinalResult::Error {
                command: BppCommandId::LoadProfileElements,
                reason: ErrorReason::Scp03tSecurityError,
                sima_response: Some(vec![1]),
            },
        }),
        signature: vec![0x55; 64],
    };
    let want = format!("BF378181BF273B80080102030405060708BF2F21800107810207800C0C736D64702E6578616D706C655A0A98109909002143658739A20BA1098001058101088201015F3740{}", "55".repeat(64));
    assert_eq!(hx(&err.encode()), want);
    assert_eq!(ProfileInstallationResult::decode(&h(&want)).unwrap(), err);
}

#[test]
fn retrieve_notifications_messages() {
    for (req, want) in [
        (Some(SearchCriteria::SeqNumber(7)), "BF2B05A003800107"),
        (
            Some(SearchCriteria::Operation(events::ENABLE)),
            "BF2B06A00481020640",
        ),
        (None, "BF2B00"),
    ] {
        let r = RetrieveNotificationsListRequest { search: req };
        assert_eq!(hx(&r.encode()), want);
        assert_eq!(
            Es10bRequest::decode(&h(want)),
            Ok(Some(Es10bRequest::RetrieveNotificationsList(r)))
        );
    }
    let list =
        RetrieveNotificationsListResponse::List(vec![PendingNotification::InstallResult(pir_ok())]);
    assert_eq!(hx(&list.encode()), format!("BF2B819DA0819A{PIR_OK}"));
    assert_eq!(
        RetrieveNotificationsListResponse::decode(&list.encode()).unwrap(),
        list
    );
    let err =
        RetrieveNotificationsListResponse::Error(RetrieveNotificationsError::NoResultAvailable);
    assert_eq!(hx(&err.encode()), "BF2B03810101");
    assert_eq!(
        RetrieveNotificationsListResponse::decode(&h("BF2B03810101")).unwrap(),
        err
    );

    let other = PendingNotification::Other(OtherSignedNotification {
        tbs: Encoded::new(NotificationMetadata {
            events: events::DELETE,
            ..metadata()
        }),
        signature: vec![0x66; 64],
        euicc_certificate: cert(0x41),
        eum_certificate: cert(0x42),
    });
    let both = RetrieveNotificationsListResponse::List(vec![
        other.clone(),
        PendingNotification::InstallResult(pir_ok()),
    ]);
    let back = RetrieveNotificationsListResponse::decode(&both.encode()).unwrap();
    assert_eq!(back, both);
    assert_eq!(other.metadata().events, events::DELETE);
    assert!(hx(&other.encode()).starts_with("30"));
}

#[test]
fn unknown_codes_survive() {
    assert_eq!(u8::from(ErrorReason::from(99)), 99);
    assert_eq!(ErrorReason::from(8), ErrorReason::Scp03tSecurityError);
    assert_eq!(u8::from(BppCommandId::ReplaceSessionKeys), 4);
    assert_eq!(tags::name(0xBF38), Some("AuthenticateServer"));
}

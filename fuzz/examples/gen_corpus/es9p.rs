//! Seeds of `es9p_requests` (issue 11): ES9+ request bodies as lpac (`euicc/es9p.c`) and
//! osmocom pySim spell them, one valid request per function (initiateAuthentication
//! with a real EUICCInfo1 naming the test CI, so the SM-DP+ signs and answers), the
//! transactionId the fuzzed SM-DP+ itself handed out, and malformed variants (not JSON,
//! truncated, wrong types, bad base64, oversized fields, unknown function).
//! Each seed is the function's index in `sm_cli::es9p::FUNCTIONS`, then the body.

use apdu::sgp22::es10::EuiccInfo1;
use apdu::sgp22::es9p::codec::encode_base64 as b64;
use euicc_fuzz::es9p::{smdp, ADDRESS};
use sm_cli::es9p::Es9Handler;

const INITIATE: u8 = 0;
const AUTHENTICATE: u8 = 1;
const BPP: u8 = 2;
const NOTIFY: u8 = 3;
const CANCEL: u8 = 4;
/// A first byte that names no function (404).
const UNKNOWN: u8 = 0xFF;

fn seed(name: &str, f: u8, body: &str) -> (String, Vec<u8>) {
    let mut d = vec![f];
    d.extend_from_slice(body.as_bytes());
    (format!("{name}.json"), d)
}

/// TLV with a one- or two-byte tag and a short or 81/82 length.
fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    apdu::iso7816::tlv::push_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let ski = smdp().credentials().cis[0]
        .subject_key_id()
        .expect("the test CI has a key identifier");
    let info1 = EuiccInfo1 {
        svn: [2, 2, 0],
        verification_keys: vec![ski.clone()],
        signing_keys: vec![ski],
    }
    .encode();
    let challenge = b64(&[0x11; 16]);
    let initiate = format!(
        r#"{{"euiccChallenge":"{challenge}","euiccInfo1":"{}","smdpAddress":"{ADDRESS}"}}"#,
        b64(&info1)
    );
    // The transactionId this SM-DP+ hands out for it (a live session in the generator;
    // in the fuzzer only its spelling counts).
    let reply = smdp().handle("initiateAuthentication", initiate.as_bytes());
    assert_eq!(
        reply.http_status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let tid = match apdu::sgp22::es9p::parse_response::<apdu::sgp22::es9p::InitiateAuthenticationOk>(
        &reply.body,
    ) {
        Ok(apdu::sgp22::es9p::Response::Executed { body, .. }) => body.transaction_id.to_hex(),
        other => panic!("initiateAuthentication: {other:?}"),
    };
    // authenticateServerResponse (BF38) with an error (A1: transactionId, code 1).
    let tid_bytes = hex::decode(&tid).expect("hex");
    let auth_err = tlv(
        &[0xBF, 0x38],
        &tlv(
            &[0xA1],
            &[tlv(&[0x80], &tid_bytes), tlv(&[0x02], &[0x01])].concat(),
        ),
    );
    // A BF38 ok-shaped: A0 { 30 euiccSigned1 { 80 tid, 83 addr, 84 challenge }, 5F37 sig }.
    let signed1 = tlv(
        &[0x30],
        &[
            tlv(&[0x80], &tid_bytes),
            tlv(&[0x83], ADDRESS.as_bytes()),
            tlv(&[0x84], &[0x22; 16]),
        ]
        .concat(),
    );
    let auth_ok = tlv(
        &[0xBF, 0x38],
        &tlv(
            &[0xA0],
            &[signed1, tlv(&[0x5F, 0x37], &[0x33; 64])].concat(),
        ),
    );
    // prepareDownloadResponse (BF21) with an error, and an ok-shaped one.
    let pd_err = tlv(
        &[0xBF, 0x21],
        &tlv(
            &[0xA1],
            &[tlv(&[0x80], &tid_bytes), tlv(&[0x02], &[0x02])].concat(),
        ),
    );
    let pd_ok = tlv(
        &[0xBF, 0x21],
        &tlv(
            &[0xA0],
            &[
                tlv(
                    &[0x30],
                    &[tlv(&[0x80], &tid_bytes), tlv(&[0x5F, 0x49], &[0x04; 65])].concat(),
                ),
                tlv(&[0x5F, 0x37], &[0x44; 64]),
            ]
            .concat(),
        ),
    );
    // A ProfileInstallationResult (BF37 { BF27 data, 5F37 sig }) and another notification (30).
    let pir = tlv(
        &[0xBF, 0x37],
        &[
            tlv(
                &[0xBF, 0x27],
                &[
                    tlv(&[0x80], &tid_bytes),
                    tlv(
                        &[0xBF, 0x2F],
                        &[tlv(&[0x80], &[0x01]), tlv(&[0x81], &[0x80])].concat(),
                    ),
                    tlv(&[0x0C], ADDRESS.as_bytes()),
                    tlv(&[0xA2], &tlv(&[0xA0], &tlv(&[0x80], &[0x01]))),
                ]
                .concat(),
            ),
            tlv(&[0x5F, 0x37], &[0x55; 64]),
        ]
        .concat(),
    );
    let other_notification = tlv(
        &[0x30],
        &[
            tlv(
                &[0xBF, 0x2F],
                &[tlv(&[0x80], &[0x02]), tlv(&[0x81], &[0x40])].concat(),
            ),
            tlv(&[0x5F, 0x37], &[0x66; 64]),
        ]
        .concat(),
    );
    // cancelSessionResponse (BF41): ok-shaped and an error.
    let cancel_ok = tlv(
        &[0xBF, 0x41],
        &tlv(
            &[0xA0],
            &[
                tlv(
                    &[0x30],
                    &[
                        tlv(&[0x80], &tid_bytes),
                        tlv(&[0x06], &[0x2B, 0x06, 0x01]),
                        tlv(&[0x81], &[0x01]),
                    ]
                    .concat(),
                ),
                tlv(&[0x5F, 0x37], &[0x77; 64]),
            ]
            .concat(),
        ),
    );
    let cancel_err = tlv(&[0xBF, 0x41], &tlv(&[0x02], &[0x05]));
    let header = r#""header":{"functionRequesterIdentifier":"fuzz","functionCallIdentifier":"1"}"#;

    let mut s = vec![
        seed("initiate-lpac", INITIATE, &initiate),
        seed(
            "initiate-pysim-header",
            INITIATE,
            &initiate.replacen('{', &format!("{{{header},"), 1),
        ),
        seed(
            "initiate-address-upper-case",
            INITIATE,
            &initiate.replace(ADDRESS, &ADDRESS.to_ascii_uppercase()),
        ),
        seed(
            "initiate-other-address",
            INITIATE,
            &initiate.replace(ADDRESS, "smdp.example.org:8443"),
        ),
        seed(
            "initiate-challenge-15",
            INITIATE,
            &initiate.replace(&challenge, &b64(&[0x11; 15])),
        ),
        seed(
            "initiate-bad-base64",
            INITIATE,
            &initiate.replace(&challenge, "ERERERERERERERERERERER=="),
        ),
        seed(
            "initiate-info1-garbage",
            INITIATE,
            &initiate.replace(&b64(&info1), &b64(&[0xBF, 0x20, 0x03, 0x82, 0x01])),
        ),
        seed(
            "initiate-no-known-ci",
            INITIATE,
            &initiate.replace(
                &b64(&info1),
                &b64(&EuiccInfo1 {
                    svn: [2, 2, 0],
                    verification_keys: vec![vec![0xAB; 20]],
                    signing_keys: vec![vec![0xAB; 20]],
                }
                .encode()),
            ),
        ),
        seed(
            "initiate-missing-field",
            INITIATE,
            &format!(r#"{{"euiccChallenge":"{challenge}","smdpAddress":"{ADDRESS}"}}"#),
        ),
        seed(
            "initiate-wrong-types",
            INITIATE,
            r#"{"euiccChallenge":16,"euiccInfo1":null,"smdpAddress":["x"]}"#,
        ),
        seed(
            "initiate-truncated",
            INITIATE,
            &initiate[..initiate.len() / 2],
        ),
        seed("initiate-empty", INITIATE, ""),
        seed(
            "initiate-not-json",
            INITIATE,
            "LPA:1$testsmdpplus1.example.com$04386-AGYFT-A74Y8-3F815",
        ),
        seed("initiate-deep", INITIATE, &"[".repeat(200)),
        seed(
            "authenticate-ok-shaped",
            AUTHENTICATE,
            &format!(
                r#"{{"transactionId":"{tid}","authenticateServerResponse":"{}"}}"#,
                b64(&auth_ok)
            ),
        ),
        seed(
            "authenticate-error",
            AUTHENTICATE,
            &format!(
                r#"{{{header},"transactionId":"{tid}","authenticateServerResponse":"{}"}}"#,
                b64(&auth_err)
            ),
        ),
        seed(
            "authenticate-tid-lower-case",
            AUTHENTICATE,
            &format!(
                r#"{{"transactionId":"{}","authenticateServerResponse":"{}"}}"#,
                tid.to_ascii_lowercase(),
                b64(&auth_ok)
            ),
        ),
        seed(
            "authenticate-tid-too-long",
            AUTHENTICATE,
            &format!(
                r#"{{"transactionId":"{}","authenticateServerResponse":"{}"}}"#,
                "AB".repeat(17),
                b64(&auth_ok)
            ),
        ),
        seed(
            "authenticate-tid-odd",
            AUTHENTICATE,
            r#"{"transactionId":"ABC","authenticateServerResponse":"vzgA"}"#,
        ),
        seed(
            "bpp-ok-shaped",
            BPP,
            &format!(
                r#"{{"transactionId":"{tid}","prepareDownloadResponse":"{}"}}"#,
                b64(&pd_ok)
            ),
        ),
        seed(
            "bpp-error",
            BPP,
            &format!(
                r#"{{"transactionId":"{tid}","prepareDownloadResponse":"{}"}}"#,
                b64(&pd_err)
            ),
        ),
        seed(
            "notify-pir",
            NOTIFY,
            &format!(r#"{{"pendingNotification":"{}"}}"#, b64(&pir)),
        ),
        seed(
            "notify-other",
            NOTIFY,
            &format!(
                r#"{{{header},"pendingNotification":"{}"}}"#,
                b64(&other_notification)
            ),
        ),
        seed(
            "notify-empty-notification",
            NOTIFY,
            r#"{"pendingNotification":""}"#,
        ),
        seed("notify-not-json", NOTIFY, "\u{0}\u{1}garbage"),
        seed(
            "cancel-ok-shaped",
            CANCEL,
            &format!(
                r#"{{"transactionId":"{tid}","cancelSessionResponse":"{}"}}"#,
                b64(&cancel_ok)
            ),
        ),
        seed(
            "cancel-error",
            CANCEL,
            &format!(
                r#"{{"transactionId":"{tid}","cancelSessionResponse":"{}"}}"#,
                b64(&cancel_err)
            ),
        ),
        seed(
            "cancel-unknown-session",
            CANCEL,
            &format!(
                r#"{{"transactionId":"00112233445566778899AABBCCDDEEFF","cancelSessionResponse":"{}"}}"#,
                b64(&cancel_err)
            ),
        ),
        seed("unknown-function", UNKNOWN, &initiate),
        // The activation-code parser reads the body too.
        seed(
            "activation-code-oid-flag",
            NOTIFY,
            "LPA:1$testsmdpplus1.example.com:8443$04386-AGYFT$1.3.6.1.4.1.31746$1",
        ),
        seed("activation-code-plain", CANCEL, "1$smdp.example.org$$"),
    ];
    // A response body (the parsers of the LPA's side read every body too).
    let mut answer = vec![INITIATE];
    answer.extend_from_slice(&reply.body);
    s.push(("initiate-answer.json".into(), answer));
    s
}

//! Property tests of the codecs both sides share (issue 5, "Bad input"): whatever is
//! encoded decodes back to the same value, and whatever decodes re-encodes to bytes that
//! decode to the same value again.
//!
//! - Command APDUs (ISO/IEC 7816-4 §5.1): generated commands of every case, short and
//!   extended, through `to_bytes` / `parse`; arbitrary bytes that parse re-parse equal.
//! - BER-TLV (`apdu::iso7816::tlv`): generated trees through `encode` / `parse` / `parse_all`.
//! - ES10 requests (SGP.22 §5.7) and device-change requests through `encode` / `decode`.
//! - ICCID (ITU-T E.118 BCD) and EID check digits (ISO/IEC 7064 MOD 97-10).
//! - STORE DATA (SGP.22 §5.7.2): `segment` then `Reassembler` for random messages,
//!   block sizes and channels.
//!
//! Case counts are modest (256 per property) so `cargo test -p apdu` stays fast; the
//! cargo-fuzz targets in `fuzz/` run the same oracles for longer.

use apdu::devchange::{DcRequest, Flow, KeySource};
use apdu::iso7816::tlv::{self, Tag, Tlv, Value};
use apdu::sgp22::es10::{
    Es10Request, Iccid, MemoryResetOptions, ProfileClass, ProfileInfoRequest, ProfileRef,
    ProfileSearch,
};
use apdu::sgp22::store_data::{self, Reassembler, BLOCK_SIZES, P1_LAST, P1_MORE};
use apdu::{Cla, Command, Eid};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// 256 cases per property; `PROPTEST_CASES=N` runs more (or fewer).
fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        // Failing inputs are printed (shrunk); no regression files are written into the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Command APDUs
// ---------------------------------------------------------------------------------------

/// Ne values around the short/extended boundaries, and anything else in range.
fn ne() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![1usize, 2, 255, 256, 257, 65_535, 65_536]).prop_map(Some),
        (1usize..=65_536).prop_map(Some),
    ]
}

/// Data lengths around the short/extended boundary (255/256), with the odd long one.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..=260),
        1 => vec(any::<u8>(), 250..=600),
        1 => (0usize..3).prop_map(|k| vec![0xA5; [1000, 65_535, 4096][k]]),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    (any::<[u8; 4]>(), data(), ne()).prop_map(|(h, data, le)| Command {
        cla: Cla(h[0]),
        ins: h[1],
        p1: h[2],
        p2: h[3],
        data,
        le,
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn command_encode_parse_round_trip(cmd in command()) {
        let bytes = cmd.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = Command::parse(&bytes).map_err(|sw| TestCaseError::fail(format!("{sw}")))?;
        prop_assert_eq!(&back, &cmd);
        // Short form whenever it fits (Lc <= 255 and Ne <= 256).
        let short = cmd.data.len() <= 255 && cmd.le.is_none_or(|n| n <= 256);
        let expected_len = 4
            + if cmd.data.is_empty() { 0 } else if short { 1 } else { 3 }
            + cmd.data.len()
            + match (cmd.le, short, cmd.data.is_empty()) {
                (None, _, _) => 0,
                (Some(_), true, _) => 1,
                (Some(_), false, true) => 3,
                (Some(_), false, false) => 2,
            };
        prop_assert_eq!(bytes.len(), expected_len);
        prop_assert_eq!(back.case(), cmd.case());
    }

    #[test]
    fn any_bytes_that_parse_reparse_equal(raw in vec(any::<u8>(), 0..300)) {
        if let Ok(cmd) = Command::parse(&raw) {
            prop_assert!(raw.len() >= 4);
            let again = Command::parse(&cmd.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?);
            prop_assert_eq!(again, Ok(cmd));
        }
    }

    #[test]
    fn class_byte_channel_round_trip(proprietary in any::<bool>(), ch in 0u8..20) {
        let cla = Cla::for_channel(proprietary, ch).expect("channel 0-19");
        prop_assert_eq!(cla.channel(), Some(ch));
        prop_assert_eq!(cla.is_proprietary(), proprietary);
        prop_assert!(!cla.is_chained() && !cla.has_secure_messaging());
        prop_assert_eq!(cla.with_channel(ch), Some(cla));
    }
}

// ---------------------------------------------------------------------------------------
// BER-TLV
// ---------------------------------------------------------------------------------------

/// Realistic primitive tags: universal, application and context ones SGP.22 uses, and
/// two- and three-byte forms.
const PRIM_TAGS: &[u32] = &[
    0x04, 0x0C, 0x4F, 0x5A, 0x5C, 0x80, 0x81, 0x82, 0x83, 0x88, 0x8D, 0x90, 0x91, 0x95, 0x9E, 0xC0,
    0xD0, 0x5F20, 0x9F70, 0x9F1F, 0x9F8101,
];
/// Constructed tags, including two-byte ES10 function tags.
const CONS_TAGS: &[u32] = &[
    0x30, 0x31, 0x61, 0xA0, 0xA1, 0xA9, 0xE3, 0x7F21, 0xBF20, 0xBF2D, 0xBF3E, 0xBF66, 0xE1,
];

fn tag(n: u32) -> Tag {
    Tag::try_from(n).expect("tag constants are valid")
}

fn tlv_tree() -> impl Strategy<Value = Tlv> {
    let leaf = (prop::sample::select(PRIM_TAGS), vec(any::<u8>(), 0..300))
        .prop_map(|(t, v)| Tlv::new(tag(t), Value::Primitive(v)).expect("primitive tag"));
    leaf.prop_recursive(5, 64, 6, |inner| {
        (prop::sample::select(CONS_TAGS), vec(inner, 0..6))
            .prop_map(|(t, c)| Tlv::new(tag(t), Value::Constructed(c)).expect("constructed tag"))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tlv_encode_parse_round_trip(t in tlv_tree()) {
        let bytes = tlv::encode(&t);
        let back = tlv::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(tlv::encode(&back), bytes);
    }

    #[test]
    fn tlv_sequences_round_trip(ts in vec(tlv_tree(), 0..4)) {
        let bytes = tlv::encode_all(&ts);
        let back = tlv::parse_all(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, ts);
    }

    #[test]
    fn tlv_what_parses_reencodes_and_reparses_equal(raw in vec(any::<u8>(), 0..200)) {
        if let Ok(t) = tlv::parse(&raw) {
            let again = tlv::parse(&tlv::encode(&t));
            prop_assert_eq!(again, Ok(t));
        }
        if let Ok(ts) = tlv::parse_all(&raw) {
            let again = tlv::parse_all(&tlv::encode_all(&ts));
            prop_assert_eq!(again, Ok(ts));
        }
    }

    #[test]
    fn tlv_der_lengths_are_minimal(len in 0usize..70_000) {
        let mut out = Vec::new();
        tlv::push_len(len, &mut out);
        let expected = match len {
            0..=0x7F => 1,
            0x80..=0xFF => 2,
            0x100..=0xFFFF => 3,
            _ => 4,
        };
        prop_assert_eq!(out.len(), expected);
    }
}

// ---------------------------------------------------------------------------------------
// ICCID and EID
// ---------------------------------------------------------------------------------------

fn digits(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    vec(0u8..10, n).prop_map(|d| d.into_iter().map(|x| char::from(b'0' + x)).collect())
}

fn iccid() -> impl Strategy<Value = Iccid> {
    digits(18..=20).prop_map(|s| Iccid::from_digits(&s).expect("18-20 digits"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn iccid_digits_round_trip(s in digits(18..=20)) {
        let i = Iccid::from_digits(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(i.digits(), s.clone());
        prop_assert_eq!(i.to_string(), s);
        prop_assert_eq!(Iccid::from_bytes(&i.0), Ok(i));
    }

    #[test]
    fn iccid_bytes_that_decode_are_canonical(raw in any::<[u8; 10]>()) {
        if let Ok(i) = Iccid::from_bytes(&raw) {
            prop_assert_eq!(i.0, raw);
            prop_assert_eq!(Iccid::from_digits(&i.digits()), Ok(i));
        }
    }

    #[test]
    fn iccid_wrong_lengths_are_refused(s in digits(0..=30)) {
        prop_assert_eq!(Iccid::from_digits(&s).is_ok(), (18..=20).contains(&s.len()));
    }

    #[test]
    fn eid_check_digits(first30 in digits(30..=30), pos in 0usize..32, delta in 1u8..10) {
        let eid = Eid::with_check_digits(&first30).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let s = eid.to_string();
        prop_assert!(s.starts_with(&first30));
        prop_assert_eq!(s.parse::<Eid>(), Ok(eid));
        prop_assert_eq!(Eid::from_bytes(&eid.0), Ok(eid));
        // MOD 97-10 detects every single-digit substitution ...
        let mut b = s.clone().into_bytes();
        b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(b).expect("digits");
        prop_assert!(changed.parse::<Eid>().is_err(), "{} accepted", changed);
        // ... and every transposition of two different adjacent digits.
        let mut t = s.clone().into_bytes();
        let p = pos.min(30);
        if t[p] != t[p + 1] {
            t.swap(p, p + 1);
            let swapped = String::from_utf8(t).expect("digits");
            prop_assert!(swapped.parse::<Eid>().is_err(), "{} accepted", swapped);
        }
    }

    #[test]
    fn eid_from_any_bytes_is_consistent(raw in any::<[u8; 16]>()) {
        if let Ok(e) = Eid::from_bytes(&raw) {
            prop_assert_eq!(e.0, raw);
            prop_assert_eq!(e.to_string().parse::<Eid>(), Ok(e));
        }
    }
}

// ---------------------------------------------------------------------------------------
// ES10 and device-change requests
// ---------------------------------------------------------------------------------------

fn aid() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 5..=16)
}

fn profile_ref() -> impl Strategy<Value = ProfileRef> {
    prop_oneof![
        iccid().prop_map(ProfileRef::Iccid),
        aid().prop_map(ProfileRef::Aid)
    ]
}

fn class() -> impl Strategy<Value = ProfileClass> {
    prop::sample::select(vec![
        ProfileClass::Test,
        ProfileClass::Provisioning,
        ProfileClass::Operational,
    ])
}

/// Text of at most `max_chars` characters (4 bytes each at most).
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max_chars).prop_map(String::from_iter)
}

fn es10_request() -> impl Strategy<Value = Es10Request> {
    use Es10Request::*;
    let search = prop_oneof![
        aid().prop_map(ProfileSearch::Aid),
        iccid().prop_map(ProfileSearch::Iccid),
        class().prop_map(ProfileSearch::Class),
    ];
    let info = (
        prop::option::of(search),
        prop::option::of(vec(any::<u8>(), 0..12)),
    )
        .prop_map(|(search, tag_list)| GetProfilesInfo(ProfileInfoRequest { search, tag_list }));
    prop_oneof![
        prop::sample::select(vec![
            GetEid,
            GetEuiccInfo1,
            GetEuiccInfo2,
            GetEuiccChallenge,
            GetConfiguredAddresses,
            GetRat,
        ]),
        info,
        (profile_ref(), any::<bool>())
            .prop_map(|(target, refresh)| EnableProfile { target, refresh }),
        (profile_ref(), any::<bool>())
            .prop_map(|(target, refresh)| DisableProfile { target, refresh }),
        profile_ref().prop_map(DeleteProfile),
        any::<[bool; 3]>().prop_map(|b| MemoryReset(MemoryResetOptions {
            delete_operational: b[0],
            delete_field_loaded_test: b[1],
            reset_default_dp: b[2],
        })),
        (iccid(), text(16)).prop_map(|(iccid, nickname)| SetNickname { iccid, nickname }),
        text(60).prop_map(SetDefaultDpAddress),
        prop::option::of(any::<u8>()).prop_map(|filter| ListNotification { filter }),
        any::<u32>().prop_map(RemoveNotification),
    ]
}

fn flow() -> impl Strategy<Value = Flow> {
    prop::sample::select(vec![
        Flow::Provision,
        Flow::DeviceChange,
        Flow::KeyChange,
        Flow::Sync,
    ])
}

fn op_id() -> impl Strategy<Value = String> {
    text(16).prop_filter("1 to 64 bytes", |s| !s.is_empty() && s.len() <= 64)
}

fn bytes64() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=64)
}

fn dc_request() -> impl Strategy<Value = DcRequest> {
    prop_oneof![
        flow().prop_map(|flow| DcRequest::Begin { flow }),
        (flow(), op_id(), bytes64(), bytes64(), bytes64()).prop_map(
            |(flow, op_id, challenge, salt, kdf)| DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf
            }
        ),
        (
            flow(),
            op_id(),
            bytes64(),
            bytes64(),
            bytes64(),
            any::<bool>()
        )
            .prop_map(|(flow, op_id, challenge, salt, kdf, need_parameter)| {
                DcRequest::Authenticate {
                    flow,
                    op_id,
                    challenge,
                    salt,
                    kdf,
                    need_parameter,
                }
            }),
        (op_id(), vec(any::<u8>(), 0..2000), any::<bool>(), sm_auth()).prop_map(
            |(op_id, sealed, id, auth)| DcRequest::InstallProfile {
                op_id,
                sealed,
                key: if id {
                    KeySource::Identity
                } else {
                    KeySource::Parameter
                },
                auth,
            }
        ),
        Just(DcRequest::FetchResult),
        (op_id(), iccid(), sm_auth()).prop_map(|(op_id, iccid, auth)| DcRequest::RemoveProfile {
            op_id,
            iccid,
            auth
        }),
        bytes64().prop_map(|challenge| DcRequest::Identity { challenge }),
        Just(DcRequest::CardChallenge),
    ]
}

/// The SM's authorisation fields (BF69, BF6B), any bytes within their caps.
fn sm_auth() -> impl Strategy<Value = apdu::devchange::SmAuth> {
    (
        bytes64(),
        vec(any::<u8>(), 0..600),
        vec(any::<u8>(), 0..=64),
    )
        .prop_map(
            |(sm_challenge, certificate, signature)| apdu::devchange::SmAuth {
                sm_challenge,
                certificate,
                signature,
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn es10_request_round_trip(req in es10_request()) {
        let bytes = req.encode();
        let back = Es10Request::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(back.encode(), bytes.clone());
        prop_assert_eq!(tlv::tag_num(&tlv::parse(&bytes).expect("TLV")), req.tag());
    }

    #[test]
    fn es10_request_any_bytes_that_decode_round_trip(raw in vec(any::<u8>(), 0..120)) {
        if let Ok(req) = Es10Request::decode(&raw) {
            prop_assert_eq!(Es10Request::decode(&req.encode()), Ok(req));
        }
    }

    #[test]
    fn dc_request_round_trip(req in dc_request()) {
        let bytes = req.encode();
        let back = DcRequest::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &req);
        prop_assert_eq!(back.encode(), bytes);
    }
}

// ---------------------------------------------------------------------------------------
// STORE DATA segmentation and reassembly
// ---------------------------------------------------------------------------------------

fn reassemble(cmds: &[Command]) -> Result<Vec<u8>, String> {
    let mut r = Reassembler::default();
    for (i, c) in cmds.iter().enumerate() {
        // Each command goes over the wire as bytes and is parsed back, as on the card.
        let bytes = c.to_bytes().map_err(|e| format!("block {i}: {e}"))?;
        let wire = Command::parse(&bytes).map_err(|sw| format!("block {i}: {sw}"))?;
        match r.push(wire.p1, wire.p2, &wire.data) {
            Ok(Some(msg)) if i + 1 == cmds.len() => return Ok(msg),
            Ok(Some(_)) => return Err(format!("message complete early at block {i}")),
            Ok(None) if i + 1 == cmds.len() => return Err("last block not final".into()),
            Ok(None) => {}
            Err(sw) => return Err(format!("block {i}: {sw}")),
        }
    }
    Err("no blocks".into())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn store_data_segment_reassemble(
        msg in vec(any::<u8>(), 0..3000),
        block in 0usize..400,
        ch in 0u8..20,
        le in any::<bool>(),
    ) {
        let size = block.clamp(*BLOCK_SIZES.start(), *BLOCK_SIZES.end());
        // The card numbers blocks 0-255 (P2): longer messages need a larger block size.
        prop_assume!(msg.len().div_ceil(size) <= 256);
        let cmds = store_data::segment(ch, &msg, block, le);
        prop_assert_eq!(cmds.len(), msg.len().div_ceil(size).max(1));
        for (i, c) in cmds.iter().enumerate() {
            prop_assert_eq!(c.cla.channel(), Some(ch));
            prop_assert!(c.cla.is_proprietary());
            prop_assert_eq!(c.ins, store_data::INS_STORE_DATA);
            prop_assert_eq!(c.p1, if i + 1 == cmds.len() { P1_LAST } else { P1_MORE });
            prop_assert_eq!(usize::from(c.p2), i);
            prop_assert!(c.data.len() <= size);
            prop_assert_eq!(c.le, le.then_some(256));
        }
        prop_assert_eq!(reassemble(&cmds), Ok(msg));
    }

    #[test]
    fn store_data_interrupted_sequence_restarts_cleanly(
        first in vec(any::<u8>(), 1..600),
        second in vec(any::<u8>(), 0..600),
        cut in any::<prop::sample::Index>(),
        block in 6usize..=255,
    ) {
        // A client gives up midway and starts again at block 0: only the second message
        // comes out.
        let a = store_data::segment(0, &first, block, false);
        let b = store_data::segment(0, &second, block, false);
        let mut r = Reassembler::default();
        for c in &a[..cut.index(a.len())] {
            prop_assert_eq!(r.push(c.p1, c.p2, &c.data), Ok(None));
        }
        let mut out = None;
        for c in &b {
            out = r.push(c.p1, c.p2, &c.data).map_err(|sw| TestCaseError::fail(format!("{sw}")))?;
        }
        prop_assert_eq!(out, Some(second));
        prop_assert!(!r.in_progress());
    }

    #[test]
    fn store_data_random_blocks_never_exceed_the_cap(
        blocks in vec((any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..256)), 0..40)
    ) {
        let mut r = Reassembler::default();
        for (p1, p2, data) in blocks {
            if let Ok(Some(msg)) = r.push(p1, p2, &data) {
                prop_assert!(msg.len() <= store_data::MAX_MESSAGE);
                prop_assert!(p1 & 0x80 != 0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Status words and findings
// ---------------------------------------------------------------------------------------

#[test]
fn every_status_word_round_trips() {
    for sw in 0..=u16::MAX {
        let [a, b] = sw.to_be_bytes();
        let decoded = apdu::StatusWord::from_bytes(a, b);
        assert_eq!(decoded.to_bytes(), [a, b], "{sw:04X}");
        assert_eq!(apdu::StatusWord::from_u16(sw), decoded);
    }
}

/// Finding of the `ber_tlv` fuzz target (fuzz/regressions/ber_tlv/): `tlv::check` accepts
/// long-form lengths that are not minimal (`81 00`, `82 00 00`; DER forbids them, X.690
/// §10.1), but iso7816-tlv 0.4.4 counts the children of a constructed value by their
/// re-encoded, minimal size (`Tlv::read`, src/ber/tlv.rs: `while val.len_as_bytes() < len`),
/// so a child with a non-minimal length makes it read past its parent: `parse_all` then
/// returns a different structure than the bytes hold (`A0 04 21 82 00 00 | 04 00` comes
/// back as one `A0 { 21, 04 }`). Un-ignore once `apdu::iso7816::tlv` refuses such lengths (or
/// parses them faithfully).
#[test]
fn non_minimal_lengths_are_refused_or_parsed_faithfully() {
    for (bytes, objects) in [
        ("A004218200000400", 2),
        ("A0032181000400", 2),
        ("3003048100", 1),
        ("BF2D06A08200000400", 1),
    ] {
        let b = hex::decode(bytes).expect("hex");
        if let Ok(ts) = tlv::parse_all(&b) {
            assert_eq!(ts.len(), objects, "{bytes}: wrong number of objects");
            assert_eq!(tlv::check(&b), Ok(objects), "{bytes}");
        }
    }
}

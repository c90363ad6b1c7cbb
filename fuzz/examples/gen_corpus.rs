//! Writes the committed seed corpus of every fuzz target (`fuzz/corpus/<target>/`) from
//! real byte strings: sessions played against the same card the `card_sequence` target
//! builds (lpac's and pySim's sequences from interop.md, every ES10 function, chained and
//! segmented STORE DATA, GET RESPONSE chains, the device-change flows with FETCH and
//! TERMINAL RESPONSE, power cycles mid-session, the malformed-APDU battery), the answers
//! the card gave (for `sm_answers`), the messages inside them (for `es10_decode`,
//! `ber_tlv`), the commands (for `apdu_command`) and the repository's scripts (for
//! `script_parser`). Every seed is replayed through its oracle before it is written.
//!
//! Run from the repository root (a normal build, no libFuzzer needed):
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example gen-corpus`

use apdu::cat::{Input, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::crypto::{self, KdfParams, PublicKey};
use apdu::devchange::{DcRequest, DcResponse, Flow, KeySource, OperatorProfile};
use apdu::sgp22::es10::{
    Es10Request, Iccid, MemoryResetOptions, ProfileClass, ProfileInfoRequest, ProfileRef,
    ProfileSearch,
};
use apdu::{Command, Response, StatusWord};
use card_sim::state::new_card::derive_iccid;
use euicc_fuzz::answers::{self, Function, CHALLENGE, IMEI, OP_ID};
use euicc_fuzz::harness::{eid, Sim};
use euicc_fuzz::sequence::{self, Step};
use euicc_fuzz::{codecs, harness};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const ISDR: &str = "A0000005591010FFFFFFFF8900000100";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex constant")
}

/// A session against a fresh card that records what went over the wire.
struct Rec {
    sim: Sim,
    steps: Vec<Step>,
    commands: Vec<Vec<u8>>,
    /// (function, the response APDUs of one exchange), for `sm_answers`.
    answers: Vec<(Function, Vec<Vec<u8>>)>,
    /// Whole messages (ES10 / device-change requests and answers, CAT), for the decoders.
    messages: Vec<Vec<u8>>,
}

impl Rec {
    fn new() -> Rec {
        Rec {
            sim: Sim::new(),
            steps: Vec::new(),
            commands: Vec::new(),
            answers: Vec::new(),
            messages: Vec::new(),
        }
    }

    fn tx(&mut self, cmd: &[u8]) -> Response {
        let step = Step::Apdu(cmd.to_vec());
        let r = self.sim.step(&step).expect("an APDU step answers");
        self.steps.push(step);
        self.commands.push(cmd.to_vec());
        Response::parse(&r).expect("at least a SW")
    }

    fn txh(&mut self, s: &str) -> Response {
        self.tx(&h(s))
    }

    fn control(&mut self, step: Step) {
        self.sim.step(&step);
        self.steps.push(step);
    }

    /// Sends `cmd` and follows 61xx with GET RESPONSE (CLA of the command, Le = xx), as
    /// lpac and sm-cli do; records the response APDUs as one exchange.
    fn exchange(&mut self, cmd: &[u8], f: Option<Function>) -> Response {
        let mut raw = Vec::new();
        let mut r = self.tx(cmd);
        raw.push(r.to_bytes());
        let mut data = std::mem::take(&mut r.data);
        while let StatusWord::BytesAvailable(n) = r.sw {
            let cla = cmd[0] & !0x10;
            r = self.tx(&[cla, 0xC0, 0x00, 0x00, n]);
            raw.push(r.to_bytes());
            data.extend_from_slice(&r.data);
        }
        if let Some(f) = f {
            self.answers.push((f, raw));
        }
        Response { data, sw: r.sw }
    }

    /// An ES10 or device-change message in STORE DATA blocks of `block` bytes.
    fn store_data(&mut self, ch: u8, msg: &[u8], block: usize) -> Response {
        self.messages.push(msg.to_vec());
        let f = function_of(msg);
        let cmds = apdu::sgp22::store_data::segment(ch, msg, block, false);
        let n = cmds.len();
        let mut last = Response::sw(StatusWord::Success);
        for (i, c) in cmds.iter().enumerate() {
            last = self.exchange(&c.to_bytes(), if i + 1 == n { f } else { None });
        }
        if !last.data.is_empty() {
            self.messages.push(last.data.clone());
        }
        last
    }

    /// MANAGE CHANNEL open and SELECT ISD-R, the lpac way; returns the channel.
    fn open_isdr(&mut self) -> u8 {
        let r = self.exchange(&h("0070000001"), Some(Function::ManageChannel));
        let ch = r.data.first().copied().unwrap_or(0);
        self.tx(&Command::new(ch, 0xA4, 0x04, 0x00)
            .with_data(h(ISDR))
            .to_bytes());
        ch
    }

    /// A device-change function, its proactive session and BF6A, as the terminal in
    /// sm-cli plays it: `typed` answers GET INPUT in order (`None`: the user ends it);
    /// `imei_ok = false` answers PROVIDE LOCAL INFORMATION with "beyond capability".
    fn dc(&mut self, ch: u8, req: &DcRequest, typed: &[Option<&str>], imei_ok: bool) -> Response {
        let mut typed = typed.iter().copied();
        let mut r = self.store_data(ch, &req.encode(), 120);
        if !matches!(r.sw, StatusWord::ProactiveCommandPending(_)) {
            return r;
        }
        while let StatusWord::ProactiveCommandPending(n) = r.sw {
            let fetched = self.exchange(&[0x80, 0x12, 0x00, 0x00, n], Some(Function::Fetch));
            self.messages.push(fetched.data.clone());
            let Ok(pc) = ProactiveCommand::decode(&fetched.data) else {
                return fetched;
            };
            let details = pc.details();
            let tr = match pc {
                ProactiveCommand::GetInput { .. } => match typed.next().flatten() {
                    Some(t) => TerminalResponse {
                        details,
                        result: 0,
                        data: TerminalData::Text(Input(Zeroizing::new(t.into()))),
                    },
                    None => TerminalResponse {
                        details,
                        result: apdu::cat::results::TERMINATED_BY_USER,
                        data: TerminalData::None,
                    },
                },
                ProactiveCommand::ProvideImei { .. } if imei_ok => TerminalResponse {
                    details,
                    result: 0,
                    data: TerminalData::Imei(IMEI.into()),
                },
                ProactiveCommand::ProvideImei { .. } => TerminalResponse {
                    details,
                    result: apdu::cat::results::BEYOND_TERMINAL_CAPABILITY,
                    data: TerminalData::None,
                },
            };
            let body = tr.encode();
            self.messages.push(body.to_vec());
            r = self.tx(&Command::new(0x80, 0x14, 0x00, 0x00)
                .with_data(body.to_vec())
                .to_bytes());
        }
        self.store_data(ch, &DcRequest::FetchResult.encode(), 120)
    }
}

/// Which `sm_answers` function answers a message with this top-level tag.
fn function_of(msg: &[u8]) -> Option<Function> {
    let tag = match msg {
        [0xBF, t, ..] => 0xBF00 | u32::from(*t),
        _ => return None,
    };
    if apdu::devchange::tags::ALL.contains(&tag) {
        return Some(Function::DeviceChange);
    }
    answers::FUNCTIONS
        .iter()
        .copied()
        .find(|f| *f == Function::Es10(tag))
}

/// The seeds' operator profile (OP ID = MSISDN).
fn operator_profile() -> OperatorProfile {
    OperatorProfile {
        iccid: Iccid::from_digits("89860000000000000018").expect("ICCID"),
        imsi: "460001234567890".into(),
        msisdn: OP_ID.into(),
        ki: Zeroizing::new([0x11; 16]),
        opc: Zeroizing::new([0x22; 16]),
        service_provider: "Example Mobile".into(),
        profile_name: "Example 5G".into(),
    }
}

fn seal_for(pk: &PublicKey, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let aad = crypto::profile_aad(OP_ID, &eid()).expect("AAD");
    crypto::seal(pk, &operator_profile().encode(), &aad, rng)
        .expect("sealing")
        .to_bytes()
}

// ------------------------------------------------------------------------------------
// The sessions
// ------------------------------------------------------------------------------------

fn lpac_chip_info(r: &mut Rec) {
    // card-sim/tests/data/lpac-chip-info.scriptor (interop.md).
    r.control(Step::Reset);
    for a in [
        "80AA00000AA9088100820101830107",
        "0070000001",
        "01A4040010A0000005591010FFFFFFFF8900000100",
        "81E2910006BF3E035C015A",
        "81E2910003BF3C00",
        "81E2910003BF4300",
        "81E2910003BF2200",
        "81E2910003BF2D00",
        "0070800100",
    ] {
        r.txh(a);
    }
}

fn lpac_profile_list(r: &mut Rec) {
    r.txh("80AA00000AA9088100820101830107");
    let ch = r.open_isdr();
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let resp = r.store_data(ch, &msg, 120);
    assert_eq!(resp.sw, StatusWord::Success);
    r.txh(&format!("007080{ch:02X}00"));
}

fn pysim_detection(r: &mut Rec) {
    for a in [
        "00A40004023F00",
        "00A4040410A0000005591010FFFFFFFF8900000100",
        "80E2910003BF560000",
        "80E2910006BF3E035C015A00",
        "0070000100",
        "81A4040410A0000005591010FFFFFFFF8900000100",
        "81E2910003BF220000",
        "0070800100",
        "A0A40000023F00",
    ] {
        r.txh(a);
    }
}

fn every_es10_function(r: &mut Rec) {
    let ch = r.open_isdr();
    let test1 = derive_iccid(&eid(), 1);
    let test2 = derive_iccid(&eid(), 2);
    let reqs = vec![
        Es10Request::GetEid,
        Es10Request::GetEuiccInfo1,
        Es10Request::GetEuiccInfo2,
        Es10Request::GetEuiccChallenge,
        Es10Request::GetConfiguredAddresses,
        Es10Request::GetRat,
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Iccid(test1)),
            tag_list: Some(h("5A9F709095")),
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Class(ProfileClass::Test)),
            tag_list: None,
        }),
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(test1),
            refresh: true,
        },
        Es10Request::SetNickname {
            iccid: test1,
            nickname: "work".into(),
        },
        Es10Request::SetDefaultDpAddress("smdp.example.com".into()),
        Es10Request::GetConfiguredAddresses,
        Es10Request::ListNotification { filter: None },
        Es10Request::DisableProfile {
            target: ProfileRef::Iccid(test1),
            refresh: false,
        },
        Es10Request::EnableProfile {
            target: ProfileRef::Aid(card_sim::state::new_card::derive_aid(2)),
            refresh: false,
        },
        Es10Request::ListNotification {
            filter: Some(apdu::sgp22::es10::events::ENABLE),
        },
        Es10Request::RemoveNotification(1),
        Es10Request::RemoveNotification(99),
        Es10Request::DeleteProfile(ProfileRef::Iccid(test2)),
        Es10Request::DeleteProfile(ProfileRef::Iccid(test1)),
        Es10Request::MemoryReset(MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: true,
            reset_default_dp: true,
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest::default()),
    ];
    for req in reqs {
        r.store_data(ch, &req.encode(), 120);
    }
}

fn store_data_small_blocks(r: &mut Rec) {
    r.open_isdr();
    let ch = r.open_isdr();
    let address = format!("smdp.example.com/{}", "a".repeat(150));
    r.store_data(ch, &Es10Request::SetDefaultDpAddress(address).encode(), 6);
    r.store_data(ch, &Es10Request::GetConfiguredAddresses.encode(), 6);
    // A client that gives up midway and starts again at block 0.
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let blocks = apdu::sgp22::store_data::segment(ch, &msg, 6, true);
    r.tx(&blocks[0].to_bytes());
    r.store_data(ch, &Es10Request::GetEid.encode(), 6);
    // Out of sequence, bad P1, a last block with no first.
    let cla = 0x80 | ch;
    r.tx(&[cla, 0xE2, 0x11, 0x00, 0x03, 0xBF, 0x2D, 0x00]);
    r.tx(&[cla, 0xE2, 0x11, 0x02, 0x01, 0x00]);
    r.tx(&[cla, 0xE2, 0x01, 0x00, 0x03, 0xBF, 0x2D, 0x00]);
    r.tx(&[cla, 0xE2, 0x91, 0x05, 0x03, 0xBF, 0x2D, 0x00]);
}

fn iso_chaining(r: &mut Rec) {
    let ch = r.open_isdr();
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest {
        search: None,
        tag_list: Some(h("5A4F9F7090919295")),
    })
    .encode();
    // ISO/IEC 7816-4 command chaining (CLA b5) of one STORE DATA block 0, last.
    let parts: Vec<&[u8]> = msg.chunks(4).collect();
    for (i, p) in parts.iter().enumerate() {
        let chained = if i + 1 < parts.len() { 0x10 } else { 0 };
        r.exchange(
            &Command::new(0x80 | ch | chained, 0xE2, 0x91, 0x00)
                .with_data(p.to_vec())
                .to_bytes(),
            None,
        );
    }
    // A chain broken by another command, and GET RESPONSE inside a chain.
    r.tx(&[0x90 | ch, 0xE2, 0x91, 0x00, 0x02, 0xBF, 0x3E]);
    r.tx(&[ch, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00]);
    r.tx(&[0x90 | ch, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[0x90 | ch, 0x70, 0x00, 0x00, 0x01]);
}

fn extended_apdu(r: &mut Rec) {
    let ch = r.open_isdr();
    let address = format!("smdp.example.com/{}", "x".repeat(235));
    let msg = Es10Request::SetDefaultDpAddress(address).encode();
    assert!(msg.len() > 255);
    let cmd = Command::new(0x80 | ch, 0xE2, 0x91, 0x00).with_data(msg.clone());
    r.messages.push(msg);
    r.exchange(
        &cmd.to_bytes(),
        Some(Function::Es10(apdu::sgp22::es10::tags::SET_DEFAULT_DP)),
    );
    // Extended Le on a long answer: still at most 256 bytes per response.
    let list = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let cmd = Command::new(0x80 | ch, 0xE2, 0x91, 0x00)
        .with_data(list)
        .with_le(65_536);
    r.exchange(
        &cmd.to_bytes(),
        Some(Function::Es10(apdu::sgp22::es10::tags::PROFILES_INFO)),
    );
}

fn get_response_edges(r: &mut Rec) {
    let ch = r.open_isdr();
    let list = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let cla = 0x80 | ch;
    let mut cmd = vec![cla, 0xE2, 0x91, 0x00, list.len() as u8];
    cmd.extend_from_slice(&list);
    r.tx(&cmd);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x10]);
    r.tx(&[cla, 0xC0, 0x01, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x01, 0xAA]);
    r.tx(&[cla, 0xC0, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    // Another command drops what GET RESPONSE could still fetch.
    r.tx(&cmd);
    r.tx(&[cla, 0xF2, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
}

fn channels_and_files(r: &mut Rec) {
    for _ in 0..20 {
        r.txh("0070000001");
    }
    for a in [
        "C3A4040010A0000005591010FFFFFFFF8900000100",
        "C3E2910006BF3E035C015A",
        "CFF2000000",
        "00700013",
        "0070800700",
        "C3E2910006BF3E035C015A",
        "0070000700",
        "47A4000C023F00",
        "00A40004023F00",
        "00A40004022F00",
        "00B2010420",
        "00B2020420",
        "00B2010410",
        "00A40004022FE2",
        "00B000000A",
        "00B0000005",
        "00B0820000",
        "00A40804043F002FE2",
        "00A40804047F206F07",
        "00A4000C023F00",
        "00B000000A",
        "80F2000000",
        "80F2000100",
        "00A404040CA0000005591010FFFFFFFF89",
        "00A404060CA0000005591010FFFFFFFF89",
    ] {
        r.txh(a);
    }
}

fn malformed_battery(r: &mut Rec) {
    // card-sim/tests/malformed.rs: each gets its ISO 7816 SW.
    for a in [
        "",
        "00",
        "00A4",
        "00A404",
        "00A4040010A000",
        "00A40400020102AABB",
        "00A4000403AABBCC",
        "00B0000001AA",
        "80AA0000",
        "0070000001AA",
        "00A4050400",
        "00A40020023F00",
        "00B2000400",
        "00B2010700",
        "80AA01000181",
        "0070400000",
        "00700020",
        "0070800000",
        "80F2000300",
        "00DE000000",
        "80CA9F7F00",
        "0060000000",
        "A0A40000023F00",
        "FF000000",
        "80A4000C023F00",
        "00E2910003BF2D00",
        "0CA4000C023F00",
        "81E2910003BF2D00",
        "C3E2910003BF2D00",
        "0070800500",
        "80E2910003BF2D00",
        "00C0000000",
        "00B000000A",
        "00B0000000FFFF",
        "00A40400000000",
        "00B00000000000",
    ] {
        r.txh(a);
    }
    let ch = r.open_isdr();
    let cla = 0x80 | ch;
    for body in [
        "E2110103BF2D00",
        "E2010003BF2D00",
        "E29100",
        "E2910002BF2D",
        "E2910003BF5600",
        "E2910003BF7700",
        "E29100035A0100",
        "E2910005BF3103800101",
        "E2910006BF30038001FF",
        "E2910005BF2D03810101",
        "E2910008BF2D05A003950109",
        "E2910006BF28038101FF",
        "E2910009BF6606810109820100",
        "E2910004BF6A0100",
        "E2910003BF6B00",
        "12000000",
        "14000000",
        "1400000301020300",
    ] {
        r.tx(&[vec![cla], h(body)].concat());
    }
}

/// Flow A at the card: BF66, BF67 (KDF test profile), BF69 sealed for the new key;
/// then the identity proof (BF6C) and the sync removal (BF6B) of what was installed.
fn dc_flow_a(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::Provision,
        },
        &[],
        true,
    );
    let gen = DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: vec![7; 16],
        kdf: KdfParams::TEST.to_bytes().to_vec(),
    };
    let resp = r.dc(ch, &gen, &[Some("123456"), Some("123456")], true);
    let Ok(DcResponse::KeyGenerated { public_key, .. }) = DcResponse::decode(&resp.data) else {
        panic!("flow A: no key: {resp:?}")
    };
    let pk = PublicKey::from_der(&public_key).expect("public key");
    let install = DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed: seal_for(&pk, rng),
        key: KeySource::Parameter,
    };
    let resp = r.dc(ch, &install, &[], true);
    assert!(
        matches!(DcResponse::decode(&resp.data), Ok(DcResponse::Installed(ref i)) if i.code == 0),
        "flow A: not installed: {resp:?}"
    );
    r.dc(ch, &install, &[], true);
    r.store_data(
        ch,
        &Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode(),
        120,
    );
    r.dc(
        ch,
        &DcRequest::Identity {
            challenge: CHALLENGE.to_vec(),
        },
        &[],
        true,
    );
    r.dc(
        ch,
        &DcRequest::RemoveProfile {
            op_id: OP_ID.into(),
            iccid: operator_profile().iccid,
        },
        &[],
        true,
    );
    r.store_data(
        ch,
        &Es10Request::ListNotification { filter: None }.encode(),
        120,
    );
}

/// The ways a session ends early: IMEI refused, user ends the session, parameters that
/// differ or are too short, functions out of order.
fn dc_aborted(r: &mut Rec) {
    let ch = r.open_isdr();
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    };
    r.dc(ch, &begin, &[], false);
    let gen = |kdf: Vec<u8>| DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: vec![7; 16],
        kdf,
    };
    r.dc(ch, &gen(KdfParams::TEST.to_bytes().to_vec()), &[], true);
    r.dc(ch, &begin, &[], true);
    r.dc(ch, &gen(KdfParams::TEST.to_bytes().to_vec()), &[None], true);
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(KdfParams::TEST.to_bytes().to_vec()),
        &[Some("123456"), Some("654321")],
        true,
    );
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(KdfParams::TEST.to_bytes().to_vec()),
        &[Some("12")],
        true,
    );
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01]),
        &[],
        true,
    );
    r.dc(ch, &DcRequest::FetchResult, &[], true);
    // A TERMINAL RESPONSE nobody asked for, FETCH with nothing pending.
    r.txh("801400000C810301230482028281830100");
    r.txh("8012000010");
}

/// Flow B's first steps on a card without the profile, and the identity paths.
fn dc_flow_b(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(OP_ID)],
        true,
    );
    let auth = |need| DcRequest::Authenticate {
        flow: Flow::DeviceChange,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: vec![7; 16],
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: need,
    };
    r.dc(ch, &auth(false), &[], true);
    r.dc(ch, &auth(true), &[Some("123456")], true);
    // A box sealed for another key: decryption fails on this card.
    let other = crypto::PrivateKey::derive(&crypto::Seed::from_bytes([0x42; 32])).expect("key");
    let install = DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed: seal_for(&other.public_key(), rng),
        key: KeySource::Identity,
    };
    r.dc(ch, &install, &[], true);
    // An OP ID with letters is refused.
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::KeyChange,
        },
        &[Some("abc")],
        true,
    );
    r.dc(
        ch,
        &DcRequest::RemoveProfile {
            op_id: OP_ID.into(),
            iccid: operator_profile().iccid,
        },
        &[],
        true,
    );
}

/// Power off, reset and channel close in the middle of a proactive session and of a
/// STORE DATA sequence.
fn dc_interrupted(r: &mut Rec) {
    let ch = r.open_isdr();
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    }
    .encode();
    r.store_data(ch, &begin, 120);
    r.control(Step::PowerOff);
    r.txh("8012000010");
    r.control(Step::PowerOn);
    let ch = r.open_isdr();
    r.store_data(ch, &begin, 120);
    r.txh("8012000010");
    r.control(Step::Reset);
    r.txh("801400000C810301260182028281830100");
    let ch = r.open_isdr();
    let long = Es10Request::SetDefaultDpAddress("smdp.example.com".into()).encode();
    let blocks = apdu::sgp22::store_data::segment(ch, &long, 6, false);
    r.tx(&blocks[0].to_bytes());
    r.control(Step::Reset);
    r.tx(&blocks[1].to_bytes());
    let ch = r.open_isdr();
    r.store_data(ch, &begin, 120);
    r.txh(&format!("007080{ch:02X}00"));
    r.store_data(0, &DcRequest::FetchResult.encode(), 120);
    r.control(Step::PowerOff);
}

// ------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------

struct Corpus {
    root: PathBuf,
    written: usize,
    bytes: usize,
}

impl Corpus {
    fn target(&mut self, target: &str, seeds: &[(String, Vec<u8>)], oracle: fn(&[u8])) {
        let dir = self.root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clearing the old corpus");
        }
        std::fs::create_dir_all(&dir).expect("corpus dir");
        let mut seen = BTreeSet::new();
        for (name, data) in seeds {
            if !seen.insert(data.clone()) {
                continue;
            }
            oracle(data);
            std::fs::write(dir.join(name), data).expect("writing a seed");
            self.written += 1;
            self.bytes += data.len();
        }
        println!("{target}: {} seeds", seen.len());
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().expect("fuzz/ is in the repository");
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut corpus = Corpus {
        root: root.join("corpus"),
        written: 0,
        bytes: 0,
    };

    type Session = Box<dyn Fn(&mut Rec, &mut ChaCha20Rng)>;
    let sessions: Vec<(&str, Session)> = vec![
        ("lpac-chip-info", Box::new(|r, _| lpac_chip_info(r))),
        ("lpac-profile-list", Box::new(|r, _| lpac_profile_list(r))),
        ("pysim-detection", Box::new(|r, _| pysim_detection(r))),
        (
            "es10-every-function",
            Box::new(|r, _| every_es10_function(r)),
        ),
        (
            "store-data-6-byte-blocks",
            Box::new(|r, _| store_data_small_blocks(r)),
        ),
        ("iso-chaining", Box::new(|r, _| iso_chaining(r))),
        ("extended-apdus", Box::new(|r, _| extended_apdu(r))),
        ("get-response-edges", Box::new(|r, _| get_response_edges(r))),
        ("channels-and-files", Box::new(|r, _| channels_and_files(r))),
        ("malformed-battery", Box::new(|r, _| malformed_battery(r))),
        ("dc-flow-a-provision", Box::new(dc_flow_a)),
        ("dc-aborted", Box::new(|r, _| dc_aborted(r))),
        ("dc-flow-b-identity", Box::new(dc_flow_b)),
        ("dc-interrupted", Box::new(|r, _| dc_interrupted(r))),
    ];

    let mut sequences = Vec::new();
    let mut answer_seeds = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut commands: Vec<Vec<u8>> = Vec::new();
    for (name, run) in &sessions {
        let mut r = Rec::new();
        run(&mut r, &mut rng);
        r.sim.finish();
        sequences.push((format!("{name}.seq"), sequence::encode(&r.steps)));
        for (i, (f, raw)) in r.answers.iter().enumerate() {
            answer_seeds.push((format!("{name}-{i:02}.ans"), answers::encode(*f, raw)));
        }
        messages.extend(r.messages);
        commands.extend(r.commands);
    }
    // Hand-made answer shapes: 6Cxx then the data, a 61xx chain, a short answer.
    answer_seeds.push((
        "6cxx-then-eid.ans".into(),
        answers::encode(
            Function::Es10(apdu::sgp22::es10::tags::GET_EID),
            &[
                h("6C15"),
                [h("BF3E125A10"), eid().0.to_vec(), h("9000")].concat(),
            ],
        ),
    ));
    answer_seeds.push((
        "61xx-chain.ans".into(),
        answers::encode(
            Function::Es10(apdu::sgp22::es10::tags::GET_RAT),
            &[h("BF430261"), h("02A0006C02"), h("A0009000")],
        ),
    ));
    answer_seeds.push((
        "short.ans".into(),
        answers::encode(Function::Fetch, &[h("90")]),
    ));

    // The decoders: every distinct message, and the crypto wire formats.
    let mut decoder_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut tlv_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen_tags = BTreeSet::new();
    for m in &messages {
        let tag = m.iter().take(2).fold(0u32, |a, &b| (a << 8) | u32::from(b));
        // Up to 3 messages per top-level tag keep the corpus small.
        let n = seen_tags.iter().filter(|(t, _)| *t == tag).count();
        if n >= 3 || m.len() > 4096 {
            continue;
        }
        seen_tags.insert((tag, m.clone()));
        let name = format!("msg-{tag:04x}-{n}");
        if n < 2 {
            tlv_seeds.push((name.clone(), m.clone()));
        }
        decoder_seeds.push((name, m.clone()));
    }
    let pk = crypto::PrivateKey::derive(&crypto::Seed::from_bytes([0x42; 32])).expect("key");
    decoder_seeds.push(("public-key.der".into(), pk.public_key().to_der()));
    decoder_seeds.push(("sealed-box".into(), seal_for(&pk.public_key(), &mut rng)));
    decoder_seeds.push(("kdf-test".into(), KdfParams::TEST.to_bytes().to_vec()));
    decoder_seeds.push((
        "kdf-production".into(),
        KdfParams::PRODUCTION.to_bytes().to_vec(),
    ));
    decoder_seeds.push((
        "operator-profile".into(),
        operator_profile().encode().to_vec(),
    ));
    decoder_seeds.push((
        "imei-bcd".into(),
        apdu::cat::imei_to_bcd(IMEI).expect("IMEI"),
    ));
    decoder_seeds.push(("eid".into(), eid().0.to_vec()));
    decoder_seeds.push(("iccid".into(), operator_profile().iccid.0.to_vec()));
    decoder_seeds.push(("ucs2-text".into(), h("0800410042")));
    for (name, t) in [
        ("three-byte-tag", "9F810103010203"),
        ("long-length", "0481820102"),
        ("nested-empty", "3006A004A1023000"),
        ("two-objects", "04010105020202"),
        ("bf-two-byte-length", "BF2D820004A0020000"),
    ] {
        tlv_seeds.push((name.into(), h(t)));
    }

    // Commands: the distinct header shapes of the sessions, plus the extended forms.
    let mut shapes = BTreeSet::new();
    let mut command_seeds = Vec::new();
    for c in &commands {
        let shape = (c.get(..2).map(<[u8]>::to_vec), c.len().min(300) / 40);
        if shapes.insert(shape) {
            command_seeds.push((format!("cmd-{:02}", command_seeds.len()), c.clone()));
        }
    }
    for (name, c) in [
        ("ext-case2", "00B0000000FFFF"),
        ("ext-case2-65536", "00B00000000000"),
        ("ext-case3", "80E2910000000301020A"),
        ("ext-case4", "80E29100000003010203FFFF"),
        ("resp-9000", "9000"),
        ("resp-61xx", "01026110"),
    ] {
        command_seeds.push((name.into(), h(c)));
    }

    // Scripts: the repository's own, and one with every construct.
    let mut script_seeds = Vec::new();
    for rel in [
        "scripts/es10-basics.apdu",
        "scripts/malformed.apdu",
        "card-sim/tests/data/lpac-chip-info.scriptor",
    ] {
        if let Ok(b) = std::fs::read(repo.join(rel)) {
            let name = Path::new(rel)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            script_seeds.push((name, b));
        }
    }
    script_seeds.push((
        "every-construct.apdu".into(),
        EVERY_CONSTRUCT.as_bytes().to_vec(),
    ));
    script_seeds.push((
        "crlf-bom.apdu".into(),
        "\u{FEFF}# crlf\r\n00A4040010 \\\r\n A0000005591010FFFFFFFF8900000100\r\n#< 9000\r\n"
            .as_bytes()
            .to_vec(),
    ));

    corpus.target("card_sequence", &sequences, harness::card_sequence);
    corpus.target("sm_answers", &answer_seeds, answers::sm_answers);
    corpus.target("es10_decode", &decoder_seeds, codecs::es10_decode);
    corpus.target("ber_tlv", &tlv_seeds, codecs::ber_tlv);
    corpus.target("apdu_command", &command_seeds, codecs::apdu_command);
    corpus.target("script_parser", &script_seeds, codecs::script_parser);
    println!(
        "{} files, {} bytes in {}",
        corpus.written,
        corpus.bytes,
        corpus.root.display()
    );
}

/// Every script construct once (docs/script-format.md).
const EVERY_CONSTRUCT: &str = r#"#!/usr/bin/scriptor
# every construct once
reset
#! power off
#! power on
#! reset cold
#! channel 1
#! reader "Virtual PCD 00 \"01\""
#! reader 2
#! pause 1500
#! auto-get-response on
00 A4 04 00 \
  10 A0000005591010FFFFFFFF8900000100
#< 9000
#< 61xx : more
81E2910006BF3E035C015A
#< BF3E 12 5A 10 ${EID:16} 90 00
#! secret
80E2910022BF7020${PARAM:32}
#< BF70 * 9x0X
80E29100${EID}
#< ${ANY} 9000
#! auto-get-response off
exit
"#;

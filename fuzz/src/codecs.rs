//! Oracles of the decoder targets. Decoders must never panic on any input; where a type
//! also has an encoder, what decodes must re-encode to bytes that decode to the same
//! value (and, for the byte-exact formats, to the input itself).

use apdu::cat::{self, ProactiveCommand, TerminalResponse};
use apdu::crypto::{KdfParams, Parameter, PublicKey, Salt, SealedBox};
use apdu::devchange::{DcRequest, DcResponse, OperatorProfile};
use apdu::sgp22::es10::{
    ChallengeResponse, ConfiguredAddresses, EidResponse, Es10Request, EuiccInfo1, EuiccInfo2,
    Iccid, NotificationListResponse, ProfileInfoResponse, RatResponse, ResultCode,
};
use apdu::{iso7816::tlv, Command, Eid, Response, StatusWord};
use apdu_script::Script;

/// `apdu_command`: `Command::parse`, `to_bytes`, the class byte, `Response::parse`.
pub fn apdu_command(data: &[u8]) {
    if let Ok(cmd) = Command::parse(data) {
        assert!(data.len() >= 4, "a command of {} bytes parsed", data.len());
        let bytes = cmd.to_bytes().expect("a parsed command re-encodes");
        let back = Command::parse(&bytes).expect("an encoded command parses");
        assert_eq!(back, cmd, "parse(to_bytes(c)) != c");
        // The encoder picks the short form whenever it fits: never longer than the input.
        assert!(bytes.len() <= data.len(), "encoding grew the command");
        let cla = cmd.cla;
        if let Some(ch) = cla.channel() {
            assert!(ch < 20);
            let moved = cla.with_channel(ch).expect("channel 0-19");
            assert_eq!(moved.channel(), Some(ch));
            assert_eq!(moved.is_proprietary(), cla.is_proprietary());
        }
        let _ = (cla.is_chained(), cla.has_secure_messaging(), cmd.case());
    }
    if let Some(r) = Response::parse(data) {
        assert_eq!(r.to_bytes(), data, "Response::parse/to_bytes");
    }
    if let [a, b, ..] = data {
        assert_eq!(StatusWord::from_bytes(*a, *b).to_bytes(), [*a, *b]);
    }
}

/// `ber_tlv`: `tlv::check`, `parse`, `parse_all`; re-encoding what parsed.
pub fn ber_tlv(data: &[u8]) {
    let checked = tlv::check(data);
    if let Ok(t) = tlv::parse(data) {
        assert_eq!(checked.as_ref().ok(), Some(&1));
        let bytes = tlv::encode(&t);
        // DER lengths are minimal: never longer than the input.
        assert!(bytes.len() <= data.len(), "re-encoding grew the TLV");
        assert_eq!(
            tlv::parse(&bytes).as_ref(),
            Ok(&t),
            "re-encoded TLV re-parses"
        );
        walk(&t, 0);
    }
    if let Ok(ts) = tlv::parse_all(data) {
        assert_eq!(checked.as_ref().ok(), Some(&ts.len()));
        let bytes = tlv::encode_all(&ts);
        assert!(bytes.len() <= data.len());
        assert_eq!(tlv::parse_all(&bytes).as_ref(), Ok(&ts));
    } else {
        assert!(tlv::parse(data).is_err());
    }
}

/// Visits a tree with the accessors the decoders use.
fn walk(t: &tlv::Tlv, depth: usize) {
    assert!(
        depth <= tlv::MAX_DEPTH,
        "a tree deeper than MAX_DEPTH parsed"
    );
    let tag = tlv::tag_num(t);
    let _ = tlv::child_bytes(t, 0x80);
    let _ = tlv::require_bytes(t, 0x5A);
    if let Some(v) = tlv::bytes(t) {
        let _ = tlv::read_uint(tag, v);
    }
    for c in tlv::children(t) {
        walk(c, depth + 1);
    }
}

/// Decodes, re-encodes and decodes again: the value must not change.
macro_rules! round_trip {
    ($ty:ty, $data:expr) => {
        if let Ok(v) = <$ty>::decode($data) {
            let again = <$ty>::decode(&v.encode());
            assert!(
                again.as_ref() == Ok(&v),
                "{} does not survive encode/decode: {:?} -> {:?}",
                stringify!($ty),
                v,
                again
            );
        }
    };
}

/// `es10_decode`: every decoder of the messages the card and the SM exchange.
pub fn es10_decode(data: &[u8]) {
    // ES10 requests (card side).
    if let Ok(req) = Es10Request::decode(data) {
        let again = Es10Request::decode(&req.encode());
        assert!(again.as_ref() == Ok(&req), "{req:?} -> {again:?}");
    }
    // ES10 responses (client side).
    round_trip!(EidResponse, data);
    round_trip!(ChallengeResponse, data);
    round_trip!(EuiccInfo1, data);
    round_trip!(EuiccInfo2, data);
    round_trip!(ConfiguredAddresses, data);
    round_trip!(RatResponse, data);
    round_trip!(ProfileInfoResponse, data);
    round_trip!(NotificationListResponse, data);
    if let [a, b, ..] = data {
        let tag = u32::from(u16::from_be_bytes([*a, *b]));
        if let Ok(rc) = ResultCode::decode(tag, data) {
            let bytes = rc.encode().expect("a decoded result code re-encodes");
            assert_eq!(ResultCode::decode(tag, &bytes), Ok(rc));
            let _ = rc.meaning();
        }
    }
    // Device-change functions and CAT.
    round_trip!(DcRequest, data);
    round_trip!(DcResponse, data);
    round_trip!(ProactiveCommand, data);
    if let Ok(tr) = TerminalResponse::decode(data) {
        let again = TerminalResponse::decode(&tr.encode());
        assert!(again.as_ref() == Ok(&tr), "{tr:?} -> {again:?}");
    }
    if let Ok(p) = OperatorProfile::decode(data) {
        let again = OperatorProfile::decode(&p.encode());
        assert!(again.as_ref() == Ok(&p), "{p:?} -> {again:?}");
    }
    let _ = cat::decode_text(data);
    if let Ok(imei) = cat::imei_from_bcd(data) {
        assert_eq!(cat::imei_to_bcd(&imei).as_deref(), Ok(data));
    }
    // Identifiers.
    if let Ok(i) = Iccid::from_bytes(data) {
        assert_eq!(&i.0[..], data);
    }
    if let Ok(e) = Eid::from_bytes(data) {
        assert_eq!(&e.0[..], data);
    }
    // Crypto wire formats.
    if let Ok(sb) = SealedBox::from_bytes(data) {
        assert_eq!(sb.to_bytes(), data, "SealedBox is byte-exact");
    }
    if let Ok(k) = KdfParams::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data, "KdfParams is byte-exact");
    }
    if let Ok(s) = Salt::from_bytes(data) {
        assert_eq!(&s.0[..], data);
    }
    let _ = Parameter::from_utf8(data);
    if let Ok(pk) = PublicKey::from_der(data) {
        let der = pk.to_der();
        assert_eq!(PublicKey::from_der(&der).as_ref(), Ok(&pk));
        let _ = pk.fingerprint();
    }
}

/// `script_parser`: `Script::parse_bytes`; what parses is written with `to_string`,
/// which reads back as the same items, and writing is a fixpoint.
pub fn script_parser(data: &[u8]) {
    let Ok(script) = Script::parse_bytes("fuzz", data) else {
        return;
    };
    let text = script.to_string();
    let back = match Script::parse("fuzz-written", &text) {
        Ok(b) => b,
        Err(e) => panic!("written script does not parse: {e}\n--- written:\n{text}"),
    };
    let kinds = |s: &Script| s.items.iter().map(|i| i.kind.clone()).collect::<Vec<_>>();
    assert!(
        kinds(&back) == kinds(&script),
        "items change through to_string\n--- written:\n{text}"
    );
    assert_eq!(back.to_string(), text, "writing is not a fixpoint");
    let _ = script.variables();
    let _ = script.scriptor_incompatibilities();
}

//! The `sm_answers` oracle: the parsing sm-cli does on a card's answers, written against
//! the same `apdu` decoders sm-cli calls (sm-cli is a binary crate, so its own functions
//! cannot be linked here; the steps below follow `sm-cli/src/reader/transport.rs`,
//! `lpa/functions.rs`, `sm/service/proof.rs` and the terminal's FETCH handling).
//!
//! Input format:
//!
//! ```text
//! input  := which answer*
//! which  := one byte: which function the answer belongs to (modulo FUNCTIONS.len())
//! answer := hi lo byte{hi*256+lo}   one response APDU (data + SW1 SW2)
//! ```
//!
//! The first answer is the card's reply to the command; `6Cxx` makes the client send it
//! again (next answer), `61xx` makes it send GET RESPONSE (next answer), concatenating
//! the data, with sm-cli's caps on rounds and size. The whole answer is then decoded
//! as that function's response and checked as the SM checks it.

use apdu::cat::{imei_is_valid, ProactiveCommand};
use apdu::crypto::{verify, PublicKey, Purpose, SignedMessage};
use apdu::devchange::DcResponse;
use apdu::sgp22::es10::{
    tags, ChallengeResponse, ConfiguredAddresses, EidResponse, EuiccInfo1, EuiccInfo2,
    NotificationListResponse, ProfileInfoResponse, RatResponse, ResultCode,
};
use apdu::{Response, StatusWord};

/// Most GET RESPONSE rounds sm-cli follows (reader/transport.rs).
pub const MAX_ROUNDS: usize = 512;
/// Largest whole answer sm-cli accumulates (reader/transport.rs).
pub const MAX_ANSWER: usize = 128 * 1024;

/// What the answer is the answer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    ManageChannel,
    Es10(u32),
    DeviceChange,
    Fetch,
}

/// The functions in selector order.
pub const FUNCTIONS: [Function; 18] = [
    Function::ManageChannel,
    Function::Es10(tags::GET_EID),
    Function::Es10(tags::EUICC_INFO1),
    Function::Es10(tags::EUICC_INFO2),
    Function::Es10(tags::CHALLENGE),
    Function::Es10(tags::CONFIGURED_ADDRESSES),
    Function::Es10(tags::GET_RAT),
    Function::Es10(tags::PROFILES_INFO),
    Function::Es10(tags::LIST_NOTIFICATION),
    Function::Es10(tags::ENABLE),
    Function::Es10(tags::DISABLE),
    Function::Es10(tags::DELETE),
    Function::Es10(tags::MEMORY_RESET),
    Function::Es10(tags::SET_NICKNAME),
    Function::Es10(tags::SET_DEFAULT_DP),
    Function::Es10(tags::REMOVE_NOTIFICATION),
    Function::DeviceChange,
    Function::Fetch,
];

/// The selector byte of `f` (for the corpus generator).
pub fn selector(f: Function) -> u8 {
    FUNCTIONS.iter().position(|&g| g == f).unwrap_or(0) as u8
}

/// The challenge, OP ID and IMEI the corpus generator's SM used, so that verification
/// of the seeds' signatures succeeds and mutated ones fail.
pub const CHALLENGE: [u8; 32] = [9; 32];
pub const OP_ID: &str = "+8613800000001";
pub const IMEI: &str = "490154203237518";

/// Writes answers in the input format.
pub fn encode(f: Function, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![selector(f)];
    for a in answers {
        let a = &a[..a.len().min(0xFFFF)];
        out.extend_from_slice(&(a.len() as u16).to_be_bytes());
        out.extend_from_slice(a);
    }
    out
}

/// Splits the answers of an input.
fn split(mut input: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = input.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (a, rest) = rest.split_at(len.min(rest.len()));
        input = rest;
        Some(a)
    })
}

/// The client's side of one exchange: `6Cxx` once, then `61xx` with GET RESPONSE.
/// `None` where sm-cli reports an error (an answer shorter than a SW, too many rounds).
pub fn assemble<'a>(answers: &mut impl Iterator<Item = &'a [u8]>) -> Option<Response> {
    let mut resp = Response::parse(answers.next()?)?;
    if let StatusWord::WrongLe(_) = resp.sw {
        resp = Response::parse(answers.next()?)?;
    }
    let mut data = resp.data;
    let mut sw = resp.sw;
    let mut rounds = 0;
    while let StatusWord::BytesAvailable(_) = sw {
        rounds += 1;
        if rounds > MAX_ROUNDS || data.len() > MAX_ANSWER {
            return None;
        }
        let mut r = Response::parse(answers.next()?)?;
        if let StatusWord::WrongLe(_) = r.sw {
            r = Response::parse(answers.next()?)?;
        }
        data.extend_from_slice(&r.data);
        sw = r.sw;
    }
    assert!(
        data.len() <= MAX_ANSWER + 2 * 0xFFFF,
        "answer cap not applied"
    );
    Some(Response { data, sw })
}

/// The `sm_answers` target.
pub fn sm_answers(input: &[u8]) {
    let Some((&which, rest)) = input.split_first() else {
        return;
    };
    let f = FUNCTIONS[usize::from(which) % FUNCTIONS.len()];
    let mut answers = split(rest);
    let Some(r) = assemble(&mut answers) else {
        return;
    };
    // lpac and sm-cli take 9000 and 91xx as success (lpa/session.rs).
    let ok = matches!(
        r.sw,
        StatusWord::Success | StatusWord::ProactiveCommandPending(_)
    );
    let _ = r.sw.meaning();
    if !ok {
        return;
    }
    let d = &r.data[..];
    match f {
        Function::ManageChannel => {
            let _ = matches!(d, [1..=19]);
        }
        Function::Es10(tag) => es10_answer(tag, d),
        Function::DeviceChange => device_change_answer(d),
        Function::Fetch => {
            if let Ok(pc) = ProactiveCommand::decode(d) {
                let _ = pc.details();
            }
        }
    }
}

fn es10_answer(tag: u32, d: &[u8]) {
    match tag {
        tags::GET_EID => drop(EidResponse::decode(d)),
        tags::EUICC_INFO1 => drop(EuiccInfo1::decode(d)),
        tags::EUICC_INFO2 => {
            if let Ok(i) = EuiccInfo2::decode(d) {
                // `sm-cli info` shows these.
                let _ = (i.ext_card_resource.len(), i.sas_accreditation_number.len());
            }
        }
        tags::CHALLENGE => drop(ChallengeResponse::decode(d)),
        tags::CONFIGURED_ADDRESSES => drop(ConfiguredAddresses::decode(d)),
        tags::GET_RAT => drop(RatResponse::decode(d)),
        tags::PROFILES_INFO => {
            if let Ok(ProfileInfoResponse::List(l)) = ProfileInfoResponse::decode(d) {
                for p in l {
                    let _ = p.iccid.map(|i| i.to_string());
                    let _ = p.class.map(|c| c.name());
                }
            }
        }
        tags::LIST_NOTIFICATION => drop(NotificationListResponse::decode(d)),
        _ => {
            if let Ok(rc) = ResultCode::decode(tag, d) {
                let _ = (rc.is_ok(), rc.meaning(), rc.to_string());
            }
        }
    }
}

/// `SmService::step` on a device-change answer: the claims of BF66 and the signatures
/// of BF67 / BF68 / BF6C checked against the keys the answer carries.
fn device_change_answer(d: &[u8]) {
    let Ok(answer) = DcResponse::decode(d) else {
        return;
    };
    match answer {
        DcResponse::Begun {
            imei, identity_key, ..
        } => {
            let _ = imei_is_valid(&imei);
            let _ = PublicKey::from_der(&identity_key);
        }
        DcResponse::KeyGenerated {
            public_key,
            possession_signature,
            identity_signature,
        } => {
            if let Ok(pk) = PublicKey::from_der(&public_key) {
                check(&pk, Purpose::NewKey, &possession_signature);
                check(&pk, Purpose::IdentityProof, &identity_signature);
            }
        }
        DcResponse::Authenticated {
            parameter_signature,
            identity_signature,
        } => {
            let _ = (
                parameter_signature.map(|s| s.len()),
                identity_signature.len(),
            );
        }
        DcResponse::Identity {
            eid,
            identity_key,
            signature,
        } => {
            if let Ok(pk) = PublicKey::from_der(&identity_key) {
                if let Ok(msg) =
                    SignedMessage::new(Purpose::IdentityProof, &CHALLENGE, "sync", eid, "-")
                {
                    let _ = verify(&pk, &msg, &signature);
                }
            }
        }
        DcResponse::Installed(r) => {
            let _ = r.iccid.map(|i| i.digits());
        }
        DcResponse::Removed { code } | DcResponse::Failed { code, .. } => {
            let _ = apdu::devchange::result::meaning(code);
        }
    }
}

fn check(pk: &PublicKey, purpose: Purpose, sig: &[u8]) {
    let eid = crate::harness::eid();
    if let Ok(msg) = SignedMessage::new(purpose, &CHALLENGE, OP_ID, eid, IMEI) {
        let _ = verify(pk, &msg, sig);
    }
}

//! Helpers for the in-process tests: a card on memory storage, fed raw APDU bytes
//! through the vpcd `Card` trait exactly as the link would, and a terminal that plays
//! the device-change functions' proactive sessions ([`run`]).
#![allow(dead_code)]

use apdu::cat::{Input, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::devchange::{DcRequest, DcResponse};
use apdu::Eid;
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::{MemoryStorage, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::collections::VecDeque;
use std::sync::Arc;
use zeroize::Zeroizing;

pub const ISDR: &str = "A0000005591010FFFFFFFF8900000100";
/// The IMEI the terminal of [`run`] gives.
pub const IMEI: &str = "490154203237518";

pub struct Sim {
    pub card: Transport<Euicc>,
    pub storage: Arc<MemoryStorage>,
}

pub fn eid() -> Eid {
    derive_eid(Some(1), 0)
}

/// A powered-on card with `test_profiles` test profiles and seed 1.
pub fn sim(test_profiles: u8) -> Sim {
    sim_of(eid(), test_profiles)
}

/// A powered-on card with this EID, no test profiles, seed 1.
pub fn sim_with_eid(eid: Eid) -> Sim {
    sim_of(eid, 0)
}

fn sim_of(eid: Eid, test_profiles: u8) -> Sim {
    let storage = Arc::new(MemoryStorage::new());
    let state = new_card(eid, test_profiles);
    storage.save(&state).unwrap();
    let euicc = Euicc::new(
        state,
        Box::new(storage.clone()),
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    );
    let mut card = Transport::new(euicc);
    card.power_on();
    Sim { card, storage }
}

/// Sends one APDU given in hex; returns the response in upper-case hex.
pub fn tx(card: &mut impl Card, h: &str) -> String {
    let raw = hex::decode(h.replace(' ', "")).expect("test hex");
    hex::encode_upper(card.transmit(&raw))
}

/// Splits a hex response into (data, SW).
pub fn split(r: &str) -> (Vec<u8>, String) {
    let n = r.len() - 4;
    (hex::decode(&r[..n]).unwrap(), r[n..].to_string())
}

/// Sends an ES10 message on `ch` in blocks of `block` bytes (as lpac does), follows
/// `61xx` with GET RESPONSE, and returns (whole response data, final SW).
pub fn es10(card: &mut impl Card, ch: u8, msg: &[u8], block: usize) -> (Vec<u8>, String) {
    let cmds = apdu::sgp22::store_data::segment(ch, msg, block, false);
    let n = cmds.len();
    let mut data = Vec::new();
    let mut sw = String::new();
    for (i, c) in cmds.into_iter().enumerate() {
        let bytes = c.to_bytes().expect("a STORE DATA block fits a short APDU");
        let mut r = hex::encode_upper(card.transmit(&bytes));
        loop {
            let (d, s) = split(&r);
            assert!(d.len() <= 256, "more than 256 data bytes in one response");
            data.extend_from_slice(&d);
            if let Some(xx) = s.strip_prefix("61") {
                let cla = apdu::Cla::for_channel(true, ch).unwrap().0;
                r = tx(card, &format!("{cla:02X}C00000{xx}"));
                continue;
            }
            sw = s;
            break;
        }
        if i + 1 < n {
            assert_eq!(sw, "9000", "intermediate block {i}");
            assert!(data.is_empty());
        }
    }
    (data, sw)
}

/// Opens a channel the lpac way and selects the ISD-R on it; returns the channel.
pub fn open_isdr(card: &mut impl Card) -> u8 {
    let r = tx(card, "0070000001");
    assert_eq!(r.len(), 6, "one byte + 9000: {r}");
    assert!(r.ends_with("9000"));
    let ch = u8::from_str_radix(&r[..2], 16).unwrap();
    let r = tx(card, &format!("{ch:02X}A4040010{ISDR}"));
    assert!(r.ends_with("9000"), "{r}");
    ch
}

/// Plays the terminal: sends `req`, answers the card's questions from `typed`
/// (`None` = the user ends the session), then collects the answer with BF6A.
pub fn run(card: &mut impl Card, ch: u8, req: &DcRequest, typed: &[Option<&str>]) -> DcResponse {
    let mut typed: VecDeque<_> = typed.iter().copied().collect();
    let (data, mut sw) = es10(card, ch, &req.encode(), 120);
    if !sw.starts_with("91") {
        assert_eq!(sw, "9000", "{req:?}");
        return DcResponse::decode(&data).unwrap();
    }
    while let Some(len) = sw.strip_prefix("91") {
        let (cmd, fsw) = split(&tx(card, &format!("80120000{len}")));
        assert_eq!(fsw, "9000");
        let pc = ProactiveCommand::decode(&cmd).unwrap();
        let details = pc.details();
        let tr = match pc {
            ProactiveCommand::GetInput { .. } => match typed.pop_front().flatten() {
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
            ProactiveCommand::ProvideImei { .. } => TerminalResponse {
                details,
                result: 0,
                data: TerminalData::Imei(IMEI.into()),
            },
        };
        let body = tr.encode();
        let r = tx(
            card,
            &format!("80140000{:02X}{}", body.len(), hex::encode(&*body)),
        );
        sw = split(&r).1;
    }
    assert_eq!(sw, "9000");
    let (data, sw) = es10(card, ch, &DcRequest::FetchResult.encode(), 120);
    assert_eq!(sw, "9000");
    DcResponse::decode(&data).unwrap()
}

/// The PIN1, PUK1 and ADM1 of [`subscription`].
pub const PIN1: &str = "1234";
pub const PUK1: &str = "12345678";
pub const ADM1: &str = "88888888";
/// Ki and OPc of [`subscription`] (hex).
pub const KI: &str = "465B5CE8B199B49FAA5F0A2EE238A6BC";
pub const OPC: &str = "CD63CB71954A9F4E48A5994E37A02BAF";

/// A Milenage subscription for a package built by `apdu::saip::build`.
pub fn subscription() -> apdu::saip::build::Subscription {
    apdu::saip::build::Subscription {
        iccid: apdu::sgp22::es10::Iccid::from_digits("89490000000000000042").unwrap(),
        imsi: "001010123456063".into(),
        msisdn: Some("+491701234567".into()),
        ki: apdu::saip::Secret::new(hex::decode(KI).unwrap()),
        opc: apdu::saip::Secret::new(hex::decode(OPC).unwrap()),
        algorithm: apdu::saip::Algorithm::Milenage,
        spn: "Sim Test".into(),
        profile_type: "test".into(),
        pin1: PIN1.into(),
        puk1: PUK1.into(),
        adm1: ADM1.into(),
    }
}

/// A new card (seed 1) whose enabled profile holds the package of `sub` (PP#0 disabled).
pub fn state_with_package(
    sub: &apdu::saip::build::Subscription,
) -> card_sim::state::PersistentState {
    use apdu::sgp22::es10::{ProfileClass, ProfileState};
    let mut state = new_card(eid(), 0);
    state.profiles[0].state = ProfileState::Disabled;
    let pkg = apdu::saip::build::build(sub).expect("a valid subscription");
    state.profiles.push(card_sim::state::Profile {
        iccid: sub.iccid,
        aid: card_sim::state::new_card::derive_aid(7),
        state: ProfileState::Enabled,
        class: ProfileClass::Operational,
        nickname: None,
        service_provider: Some("Sim Test".into()),
        name: Some("SIM".into()),
        notification_configs: Vec::new(),
        imsi: None,
        msisdn: None,
        ki: None,
        opc: None,
        package: Some(card_sim::state::Secret::new(pkg.encode())),
        sim: Default::default(),
    });
    state.validate().unwrap();
    state
}

/// A powered-on card (seed 1) with `state`, saving to `storage`.
pub fn card_with(
    state: card_sim::state::PersistentState,
    storage: Box<dyn Storage + Send>,
) -> Transport<Euicc> {
    let mut card = Transport::new(Euicc::new(
        state,
        storage,
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    ));
    card.power_on();
    card
}

/// A card whose enabled profile holds the package of [`subscription`], on memory storage.
pub fn sim_profile() -> Sim {
    let storage = Arc::new(MemoryStorage::new());
    let state = state_with_package(&subscription());
    storage.save(&state).unwrap();
    let card = card_with(state, Box::new(storage.clone()));
    Sim { card, storage }
}

impl Sim {
    /// The card as a restarted card-sim finds it: a new process on what was saved
    /// (nothing volatile survives: selections, verified PINs).
    pub fn restart(&mut self) {
        let saved = self.storage.stored().expect("a saved state");
        self.card = card_with(saved, Box::new(self.storage.clone()));
    }
}

/// A PIN block of TS 102 221 §9.5.1 in hex: ASCII, padded with `FF` to 8 bytes.
pub fn pin_block(pin: &str) -> String {
    let mut b = pin.as_bytes().to_vec();
    b.resize(8, 0xFF);
    hex::encode_upper(b)
}

/// The shipped test SM's CERT.DPpb and key (card-sim/test-pki/DPpb): the cards of these
/// tests trust the shipped test CI, so this SM's authorisations are accepted.
pub fn test_sm() -> (apdu::sgp22::pki::Cert, apdu::sgp22::pki::PrivateKey) {
    let cert = apdu::sgp22::pki::Cert::from_der(include_bytes!(
        "../../test-pki/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der"
    ))
    .unwrap();
    let key = apdu::sgp22::pki::PrivateKey::from_pem(include_str!(
        "../../test-pki/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem"
    ))
    .unwrap();
    (cert, key)
}

/// The card's one-time challenge (BF6D).
pub fn card_challenge(card: &mut impl Card, ch: u8) -> [u8; 16] {
    match run(card, ch, &DcRequest::CardChallenge, &[]) {
        DcResponse::CardChallenge { challenge } => challenge,
        other => panic!("BF6D: {other:?}"),
    }
}

/// The test SM's authorisation of `function` for the card `eid` over `card_challenge`.
pub fn authorise(
    function: apdu::devchange::Function,
    card_challenge: &[u8; 16],
    eid: Eid,
    op_id: &str,
    payload_hash: [u8; 32],
) -> apdu::devchange::SmAuth {
    let (cert, key) = test_sm();
    let sm_challenge = vec![0x5C; 32];
    let msg = apdu::devchange::AuthMessage {
        function,
        card_challenge,
        eid,
        op_id,
        sm_challenge: &sm_challenge,
        payload_hash,
    };
    apdu::devchange::SmAuth {
        signature: msg.sign(&key).unwrap().to_vec(),
        sm_challenge,
        certificate: cert.der().to_vec(),
    }
}

/// BF6D, then a BF69 of `plain` sealed for `pk` with the AAD of `aad_eid`, authorised by
/// the test SM for the card `eid`.
#[allow(clippy::too_many_arguments)]
pub fn authorised_install(
    card: &mut impl Card,
    ch: u8,
    pk: &apdu::crypto::PublicKey,
    plain: &[u8],
    op_id: &str,
    aad_eid: Eid,
    eid: Eid,
    key: apdu::devchange::KeySource,
) -> DcRequest {
    use apdu::crypto;
    let challenge = card_challenge(card, ch);
    let aad = crypto::profile_aad(op_id, &aad_eid, &challenge).unwrap();
    let sealed = crypto::seal(pk, plain, &aad, &mut crypto::SysRng)
        .unwrap()
        .to_bytes();
    let auth = authorise(
        apdu::devchange::Function::InstallProfile,
        &challenge,
        eid,
        op_id,
        apdu::devchange::authorisation::install_payload_hash(key as u8, &sealed),
    );
    DcRequest::InstallProfile {
        op_id: op_id.into(),
        sealed,
        key,
        auth,
    }
}

/// The card's identity encryption key, as the recorded device gives it in flow B: BF66
/// (flow 2, the user types `op_id`), then BF68 without a parameter. Its answer's key is
/// what a profile with key source 1 is sealed to.
pub fn encryption_key(card: &mut impl Card, ch: u8, op_id: &str) -> apdu::crypto::PublicKey {
    use apdu::devchange::Flow;
    let begun = run(
        card,
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(op_id)],
    );
    assert!(matches!(begun, DcResponse::Begun { .. }), "{begun:?}");
    let r = run(
        card,
        ch,
        &DcRequest::Authenticate {
            flow: Flow::DeviceChange,
            op_id: op_id.into(),
            challenge: vec![6; 32],
            salt: vec![7; 16],
            kdf: apdu::crypto::KdfParams::TEST.to_bytes().to_vec(),
            need_parameter: false,
        },
        &[],
    );
    match r {
        DcResponse::Authenticated {
            encryption_key: Some(k),
            ..
        } => apdu::crypto::PublicKey::from_der(&k).unwrap(),
        other => panic!("identity-only BF68: {other:?}"),
    }
}

//! The recorder of card sessions: [`Rec`] plays commands against the card the
//! `card_sequence` target builds ([`euicc_fuzz::harness::Sim`]) and keeps the steps
//! (`card_sequence` seeds), the commands (`apdu_command`) and the messages inside them
//! (`es10_decode`, `ber_tlv`); and the constants and helpers the sessions share, among
//! them the SM's side of BF69 and BF6B (docs/device-change-protocol.md "Signed
//! messages"): the card's challenge (BF6D), the sealed box bound to it and the
//! authorisation signed with the shipped test DPpb (`SmCredential::test`), which the
//! fuzzed card trusts.

use apdu::cat::{Input, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::crypto::{self, PublicKey};
use apdu::devchange::authorisation::{install_payload_hash, removal_payload_hash};
use apdu::devchange::{
    AuthMessage, DcRequest, DcResponse, Function, KeySource, OperatorProfile, SmAuth,
    CARD_CHALLENGE_LEN,
};
use apdu::sgp22::es10::Iccid;
use apdu::{Command, Response, StatusWord};
use euicc_fuzz::answers::{IMEI, OP_ID};
use euicc_fuzz::harness::{eid, Sim};
use euicc_fuzz::sequence::Step;
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

/// The encoding of a command the sessions build (all well-formed).
pub trait Bytes {
    fn bytes(&self) -> Vec<u8>;
}

impl Bytes for Command {
    fn bytes(&self) -> Vec<u8> {
        self.to_bytes().expect("a corpus command encodes")
    }
}

pub const ISDR: &str = "A0000005591010FFFFFFFF8900000100";

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex constant")
}

/// The seeds' operator profile (OP ID = MSISDN).
pub fn operator_profile() -> OperatorProfile {
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

/// The seeds' operator profile sealed for `pk`, bound (AAD) to the OP ID, the EID and
/// the card challenge `card_challenge`.
pub fn seal_for(
    pk: &PublicKey,
    card_challenge: &[u8; CARD_CHALLENGE_LEN],
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let aad = crypto::profile_aad(OP_ID, &eid(), card_challenge).expect("AAD");
    crypto::seal(pk, &operator_profile().encode(), &aad, rng)
        .expect("sealing")
        .to_bytes()
}

/// The SM challenge of the seeds' BF69 / BF6B (the card's signed result covers it).
pub const SM_CHALLENGE: [u8; 32] = [0x5C; 32];

/// The SM's authorisation of `function` over `card_challenge` for the fuzzed card, signed
/// with the shipped test DPpb (`apdu::devchange::authorisation`).
pub fn sm_auth(
    function: Function,
    card_challenge: &[u8; CARD_CHALLENGE_LEN],
    op_id: &str,
    payload_hash: [u8; 32],
) -> SmAuth {
    let cred = sm_cli::sm::credential::SmCredential::test().expect("the test DPpb");
    let msg = AuthMessage {
        function,
        card_challenge,
        eid: eid(),
        op_id,
        sm_challenge: &SM_CHALLENGE,
        payload_hash,
    };
    SmAuth {
        sm_challenge: SM_CHALLENGE.to_vec(),
        certificate: cred.cert.der().to_vec(),
        signature: msg.sign(&cred.key).expect("signing").to_vec(),
    }
}

/// An authorised BF69 of the seeds' profile, sealed for `pk` with key source `key`.
pub fn install_request(
    pk: &PublicKey,
    key: KeySource,
    card_challenge: &[u8; CARD_CHALLENGE_LEN],
    rng: &mut ChaCha20Rng,
) -> DcRequest {
    let sealed = seal_for(pk, card_challenge, rng);
    let auth = sm_auth(
        Function::InstallProfile,
        card_challenge,
        OP_ID,
        install_payload_hash(key as u8, &sealed),
    );
    DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed,
        key,
        auth,
    }
}

/// An authorised BF6B of the seeds' profile.
pub fn removal_request(card_challenge: &[u8; CARD_CHALLENGE_LEN]) -> DcRequest {
    let iccid = operator_profile().iccid;
    DcRequest::RemoveProfile {
        op_id: OP_ID.into(),
        iccid,
        auth: sm_auth(
            Function::RemoveProfile,
            card_challenge,
            OP_ID,
            removal_payload_hash(&iccid),
        ),
    }
}

/// A session against a fresh card that records what went over the wire.
pub struct Rec {
    pub sim: Sim,
    pub steps: Vec<Step>,
    pub commands: Vec<Vec<u8>>,
    /// Whole messages (ES10 / device-change requests and answers, CAT), for the decoders.
    pub messages: Vec<Vec<u8>>,
}

impl Rec {
    pub fn new() -> Rec {
        Rec {
            sim: Sim::new(),
            steps: Vec::new(),
            commands: Vec::new(),
            messages: Vec::new(),
        }
    }

    pub fn tx(&mut self, cmd: &[u8]) -> Response {
        let step = Step::Apdu(cmd.to_vec());
        let r = self.sim.step(&step).expect("an APDU step answers");
        self.steps.push(step);
        self.commands.push(cmd.to_vec());
        Response::parse(&r).expect("at least a SW")
    }

    pub fn txh(&mut self, s: &str) -> Response {
        self.tx(&h(s))
    }

    pub fn control(&mut self, step: Step) {
        self.sim.step(&step);
        self.steps.push(step);
    }

    /// Sends `cmd` and follows 61xx with GET RESPONSE (CLA of the command, Le = xx), as
    /// lpac and sm-cli do.
    pub fn exchange(&mut self, cmd: &[u8]) -> Response {
        let mut r = self.tx(cmd);
        let mut data = std::mem::take(&mut r.data);
        while let StatusWord::BytesAvailable(n) = r.sw {
            let cla = cmd[0] & !0x10;
            r = self.tx(&[cla, 0xC0, 0x00, 0x00, n]);
            data.extend_from_slice(&r.data);
        }
        Response { data, sw: r.sw }
    }

    /// An ES10 or device-change message in STORE DATA blocks of `block` bytes.
    pub fn store_data(&mut self, ch: u8, msg: &[u8], block: usize) -> Response {
        self.messages.push(msg.to_vec());
        let cmds = apdu::sgp22::store_data::segment(ch, msg, block, false);
        let mut last = Response::sw(StatusWord::Success);
        for c in &cmds {
            last = self.exchange(&c.bytes());
        }
        if !last.data.is_empty() {
            self.messages.push(last.data.clone());
        }
        last
    }

    /// BF6D: the card's one-time challenge for the next BF69 / BF6B.
    pub fn card_challenge(&mut self, ch: u8) -> [u8; CARD_CHALLENGE_LEN] {
        let r = self.store_data(ch, &DcRequest::CardChallenge.encode(), 120);
        match DcResponse::decode(&r.data) {
            Ok(DcResponse::CardChallenge { challenge }) => challenge,
            other => panic!("BF6D: no card challenge: {r:?} {other:?}"),
        }
    }

    /// MANAGE CHANNEL open and SELECT ISD-R, the lpac way; returns the channel.
    pub fn open_isdr(&mut self) -> u8 {
        let r = self.exchange(&h("0070000001"));
        let ch = r.data.first().copied().unwrap_or(0);
        self.tx(&Command::new(ch, 0xA4, 0x04, 0x00)
            .with_data(h(ISDR))
            .bytes());
        ch
    }

    /// A device-change function, its proactive session and BF6A, as the terminal in
    /// sm-cli plays it: `typed` answers GET INPUT in order (`None`: the user ends it);
    /// `imei_ok = false` answers PROVIDE LOCAL INFORMATION with "beyond capability".
    pub fn dc(
        &mut self,
        ch: u8,
        req: &DcRequest,
        typed: &[Option<&str>],
        imei_ok: bool,
    ) -> Response {
        let mut typed = typed.iter().copied();
        let mut r = self.store_data(ch, &req.encode(), 120);
        if !matches!(r.sw, StatusWord::ProactiveCommandPending(_)) {
            return r;
        }
        while let StatusWord::ProactiveCommandPending(n) = r.sw {
            let fetched = self.exchange(&[0x80, 0x12, 0x00, 0x00, n]);
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
                .bytes());
        }
        self.store_data(ch, &DcRequest::FetchResult.encode(), 120)
    }
}

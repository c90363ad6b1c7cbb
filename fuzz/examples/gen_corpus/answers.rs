//! The `sm_answers` seeds: each operation of [`euicc_fuzz::answers`] run with sm-cli's
//! own code against the fuzzed card (card-sim on memory storage), recording the answers
//! the card gave in the order sm-cli asked; plus hand-made answer shapes (6Cxx, a 61xx
//! chain, a short answer). BF6C is played in full here and not recorded: the replaying
//! card answers it itself (`euicc_fuzz::answers::link`).

use super::rec::h;
use apdu::cat::ProactiveCommand;
use apdu::devchange::{DcRequest, DcResponse, DcResult};
use apdu::{Command, Response, StatusWord};
use euicc_fuzz::answers::link::identity_challenge;
use euicc_fuzz::answers::{self, Operation, OPERATIONS};
use euicc_fuzz::harness::{eid, Sim};
use euicc_fuzz::sequence::Step;
use sm_cli::errors::CliError;
use sm_cli::reader::{CardLink, Secrecy};

/// card-sim behind sm-cli's card link, keeping its answers.
struct SimLink {
    sim: Sim,
    answers: Vec<Vec<u8>>,
    /// Given instead of the card's answer to BF6B (DcRemoveProfile): the answer's data,
    /// split into response APDUs of at most 256 data bytes (`61xx`, GET RESPONSE).
    removal_answer: Option<Vec<u8>>,
    /// The STORE DATA blocks of the message being sent (sm-cli segments long ones).
    message: Vec<u8>,
    /// The rest of the replaced answer, for the GET RESPONSEs that follow.
    queued: std::collections::VecDeque<Vec<u8>>,
}

/// `data` as response APDUs of at most 256 data bytes each, chained with `61xx` and
/// ending with `9000`.
fn response_apdus(data: &[u8]) -> std::collections::VecDeque<Vec<u8>> {
    let chunks: Vec<&[u8]> = data.chunks(256).collect();
    let mut out = std::collections::VecDeque::new();
    for (i, c) in chunks.iter().enumerate() {
        let sw = match chunks.get(i + 1) {
            Some(next) => [0x61, next.len() as u8],
            None => [0x90, 0x00],
        };
        out.push_back([c, &sw[..]].concat());
    }
    out
}

impl SimLink {
    fn tx(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.sim
            .step(&Step::Apdu(apdu.to_vec()))
            .expect("an APDU step answers")
    }
}

impl CardLink for SimLink {
    fn transmit_raw(&mut self, apdu: &[u8], _: Secrecy) -> Result<Vec<u8>, CliError> {
        let cmd = Command::parse(apdu).ok();
        let ins = cmd.as_ref().map(|c| c.ins);
        if ins == Some(apdu::iso7816::ins::GET_RESPONSE) {
            if let Some(a) = self.queued.pop_front() {
                self.answers.push(a.clone());
                return Ok(a);
            }
        }
        self.queued.clear();
        // A whole STORE DATA message once its last block (P1 b8) is sent.
        let mut message = None;
        if let Some(c) = cmd.filter(|c| c.ins == apdu::iso7816::ins::STORE_DATA) {
            self.message.extend_from_slice(&c.data);
            if c.p1 & 0x80 != 0 {
                message = Some(std::mem::take(&mut self.message));
            }
        }
        let removal = message
            .is_some_and(|m| matches!(DcRequest::decode(&m), Ok(DcRequest::RemoveProfile { .. })));
        if let (true, Some(a)) = (removal, self.removal_answer.clone()) {
            self.tx(apdu);
            self.queued = response_apdus(&a);
            let first = self.queued.pop_front().unwrap_or_default();
            self.answers.push(first.clone());
            return Ok(first);
        }
        if identity_challenge(apdu).is_none() {
            let r = self.tx(apdu);
            self.answers.push(r.clone());
            return Ok(r);
        }
        // BF6C: the whole answer at once (GET RESPONSE followed here), not recorded.
        let mut r = Response::parse(&self.tx(apdu)).expect("a status word");
        let mut data = std::mem::take(&mut r.data);
        while let StatusWord::BytesAvailable(n) = r.sw {
            let cla = apdu[0] & !0x10;
            r = Response::parse(&self.tx(&[cla, 0xC0, 0x00, 0x00, n])).expect("a status word");
            data.extend_from_slice(&r.data);
        }
        Ok(Response { data, sw: r.sw }.to_bytes())
    }
}

/// Runs `op` against a fresh card; the input that replays it.
fn record(op: Operation, removal_answer: Option<Vec<u8>>) -> Vec<u8> {
    let mut link = SimLink {
        sim: Sim::new(),
        answers: Vec::new(),
        removal_answer,
        message: Vec::new(),
        queued: Default::default(),
    };
    let outcome = answers::run(op, &mut link);
    link.sim.finish();
    println!("sm_answers {op:?}: {outcome:?}");
    answers::encode(op, &link.answers)
}

/// One seed per operation, then the hand-made shapes.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for op in OPERATIONS {
        let name = format!("{op:?}").to_lowercase();
        out.push((format!("{name}.ans"), record(op, None)));
    }
    // The card refuses the removal (result 3): it must stay pending. The signature is
    // made valid over the SM's challenge as the input is replayed (`answers::sm`).
    let refused = DcResponse::Removed {
        code: DcResult::ParameterMismatch,
        signature: vec![0; apdu::crypto::signature::SIGNATURE_LEN],
    };
    out.push((
        "smsync-removal-refused.ans".into(),
        record(Operation::SmSync, Some(refused.encode())),
    ));
    // The session's opening and closing around a hand-made answer.
    let around = |op: Operation, middle: &[Vec<u8>]| {
        let mut all = vec![h("9000"), h("019000"), h("9000")];
        all.extend_from_slice(middle);
        all.push(h("9000"));
        answers::encode(op, &all)
    };
    out.push((
        "6cxx-then-eid.ans".into(),
        around(
            Operation::GetEid,
            &[
                h("6C15"),
                [h("BF3E125A10"), eid().0.to_vec(), h("9000")].concat(),
            ],
        ),
    ));
    out.push((
        "61xx-chain.ans".into(),
        around(
            Operation::GetProfiles,
            &[h("BF2D04A06102"), h("6C02"), h("02E36101"), h("009000")],
        ),
    ));
    out.push(("short.ans".into(), around(Operation::DcBegin, &[h("90")])));
    // A card that asks one question more than the terminal answers.
    let q = ProactiveCommand::GetInput {
        number: 1,
        prompt: "OP ID".into(),
        hidden: false,
        alphabet: false,
        min: 3,
        max: 20,
    }
    .encode();
    let pending = vec![0x91, q.len() as u8];
    let mut asked = vec![pending.clone()];
    for _ in 0..sm_cli::terminal::MAX_QUESTIONS {
        asked.push(Response::ok(q.clone()).to_bytes());
        asked.push(pending.clone());
    }
    out.push((
        "one-question-too-many.ans".into(),
        around(Operation::DcBegin, &asked),
    ));
    out.push((
        "no-channel.ans".into(),
        answers::encode(Operation::OpenSession, &[h("9000"), h("6881"), h("9000")]),
    ));
    out
}

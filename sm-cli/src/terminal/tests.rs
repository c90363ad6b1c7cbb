//! The terminal against a fake proactive card: what it answers to each question, what
//! it marks secret, and how it ends a session it cannot serve.
//!
//! Long because it goes through every question the card can ask, with the fake card
//! and keypad they share at the top.

use super::prompt::{NoPrompter, Prompter};
use super::*;
use crate::reader::Secrecy;
use crate::terminal::answers::GivenParameter;
use apdu::cat::{Input, ProactiveCommand, TerminalData};
use apdu::devchange::{DcResult, Flow};
use apdu::{Eid, Response};
use std::collections::VecDeque;

/// A card that asks `questions` (encoded proactive commands) then answers `answer`.
struct FakeCard {
    questions: VecDeque<Vec<u8>>,
    current: Vec<u8>,
    seen: Vec<(TerminalResponse, Secrecy)>,
    answer: Vec<u8>,
    store_data: Vec<Vec<u8>>,
}

impl FakeCard {
    fn new(questions: Vec<ProactiveCommand>, answer: DcResponse) -> FakeCard {
        FakeCard {
            questions: questions.iter().map(ProactiveCommand::encode).collect(),
            current: Vec::new(),
            seen: Vec::new(),
            answer: answer.encode(),
            store_data: Vec::new(),
        }
    }

    fn next(&mut self) -> Response {
        match self.questions.pop_front() {
            Some(q) => {
                let len = q.len() as u8;
                self.current = q;
                Response {
                    data: vec![],
                    sw: StatusWord::ProactiveCommandPending(len),
                }
            }
            None => Response::sw(StatusWord::Success),
        }
    }
}

impl DcCard for FakeCard {
    fn store_data(&mut self, _: &str, msg: &[u8], _: Secrecy) -> Result<Response, CliError> {
        self.store_data.push(msg.to_vec());
        if msg.starts_with(&[0xBF, 0x6A]) {
            return Ok(Response::ok(self.answer.clone()));
        }
        if self.questions.is_empty() {
            return Ok(Response::ok(self.answer.clone()));
        }
        Ok(self.next())
    }

    fn command(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError> {
        assert_eq!(cmd.cla.0, CAT_CLA);
        match cmd.ins {
            cat::INS_FETCH => {
                assert_eq!(cmd.le, Some(self.current.len()));
                Ok(Response::ok(self.current.clone()))
            }
            cat::INS_TERMINAL_RESPONSE => {
                let tr = TerminalResponse::decode(&cmd.data).unwrap();
                let ok = tr.result == cat::results::OK;
                self.seen.push((tr, secrecy));
                if !ok {
                    self.questions.clear();
                }
                Ok(self.next())
            }
            other => panic!("unexpected INS {other:02X}"),
        }
    }
}

fn op_id_question() -> ProactiveCommand {
    ProactiveCommand::GetInput {
        number: 1,
        prompt: "Enter the phone number (OP ID)".into(),
        hidden: false,
        alphabet: false,
        min: 3,
        max: 20,
    }
}

fn param_question(n: u8) -> ProactiveCommand {
    ProactiveCommand::GetInput {
        number: n,
        prompt: "Enter the key parameter".into(),
        hidden: true,
        alphabet: true,
        min: 4,
        max: 128,
    }
}

fn begun() -> DcResponse {
    DcResponse::Begun {
        flow: Flow::DeviceChange,
        op_id: Some("+8613800000001".into()),
        eid: Eid::test_eid(1),
        imei: "490154203237518".into(),
        identity_key: vec![0x30],
    }
}

fn answers(prompter: Box<dyn Prompter>) -> Answers {
    Answers {
        op_id: Some("+8613800000001".into()),
        imei: Some("490154203237518".into()),
        current: Some(GivenParameter::new(Zeroizing::new("123456".into()), "stdin").unwrap()),
        new: Some(GivenParameter::new(Zeroizing::new("abcdefgh".into()), "stdin").unwrap()),
        prompter,
    }
}

#[test]
fn begin_answers_op_id_and_imei_then_collects_with_bf6a() {
    let mut card = FakeCard::new(
        vec![
            op_id_question(),
            ProactiveCommand::ProvideImei { number: 2 },
        ],
        begun(),
    );
    let mut t = Terminal::new(&mut card, answers(Box::new(NoPrompter)));
    let got = t
        .run(&DcRequest::Begin {
            flow: Flow::DeviceChange,
        })
        .unwrap();
    assert_eq!(got, begun());
    let timing = &t.timings[0];
    assert_eq!(timing.function, "BF66");
    // STORE DATA, 2 x (FETCH + TERMINAL RESPONSE), BF6A.
    assert_eq!(timing.apdus, 6);
    assert!(!timing.derived_key);
    let seen = &card.seen;
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].0.data,
        TerminalData::Text(Input(Zeroizing::new("+8613800000001".into())))
    );
    assert_eq!(seen[0].0.details, [1, cat::TYPE_GET_INPUT, 0]);
    assert_eq!(seen[0].1, Secrecy::Public);
    assert_eq!(seen[1].0.data, TerminalData::Imei("490154203237518".into()));
    assert_eq!(card.store_data.last().unwrap(), &vec![0xBF, 0x6A, 0x00]);
}

#[test]
fn parameters_are_answered_from_their_source_and_marked_secret() {
    let answer = DcResponse::KeyGenerated {
        public_key: vec![1],
        possession_signature: vec![2],
        identity_signature: vec![3],
    };
    let mut card = FakeCard::new(vec![param_question(3), param_question(4)], answer.clone());
    let mut t = Terminal::new(&mut card, answers(Box::new(NoPrompter)));
    let req = DcRequest::GenerateKey {
        flow: Flow::KeyChange,
        op_id: "+8613800000001".into(),
        challenge: vec![0; 32],
        salt: vec![0; 16],
        kdf: vec![0; 7],
    };
    assert_eq!(t.run(&req).unwrap(), answer);
    assert!(t.timings[0].derived_key);
    for (tr, secrecy) in &card.seen {
        assert_eq!(*secrecy, Secrecy::Command);
        // BF67 asks for the NEW parameter, both times.
        assert_eq!(
            tr.data,
            TerminalData::Text(Input(Zeroizing::new("abcdefgh".into())))
        );
    }

    let answer = DcResponse::Authenticated {
        parameter_signature: Some(vec![1]),
        identity_signature: vec![2],
        encryption_key: None,
    };
    let mut card = FakeCard::new(vec![param_question(5)], answer.clone());
    let mut t = Terminal::new(&mut card, answers(Box::new(NoPrompter)));
    let req = DcRequest::Authenticate {
        flow: Flow::KeyChange,
        op_id: "+8613800000001".into(),
        challenge: vec![0; 32],
        salt: vec![0; 16],
        kdf: vec![0; 7],
        need_parameter: true,
    };
    assert_eq!(t.run(&req).unwrap(), answer);
    assert_eq!(
        card.seen[0].0.data,
        TerminalData::Text(Input(Zeroizing::new("123456".into())))
    );
}

#[test]
fn no_source_and_no_terminal_ends_the_session_with_a_clear_error() {
    let failed = DcResponse::Failed {
        tag: Function::Authenticate,
        code: DcResult::UserAborted,
    };
    let mut card = FakeCard::new(vec![param_question(1)], failed);
    let mut a = answers(Box::new(NoPrompter));
    a.current = None;
    let mut t = Terminal::new(&mut card, a);
    let e = t
        .run(&DcRequest::Authenticate {
            flow: Flow::DeviceChange,
            op_id: "+8613800000001".into(),
            challenge: vec![0; 32],
            salt: vec![0; 16],
            kdf: vec![0; 7],
            need_parameter: true,
        })
        .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("--param-stdin"), "{e}");
    assert_eq!(card.seen[0].0.result, cat::results::TERMINATED_BY_USER);
    assert_eq!(card.seen[0].0.data, TerminalData::None);
}

#[test]
fn missing_imei_and_unknown_commands_are_beyond_capability() {
    let failed = DcResponse::Failed {
        tag: Function::Begin,
        code: DcResult::NoImei,
    };
    let mut card = FakeCard::new(vec![ProactiveCommand::ProvideImei { number: 1 }], failed);
    let mut a = answers(Box::new(NoPrompter));
    a.imei = None;
    let mut t = Terminal::new(&mut card, a);
    let e = t
        .run(&DcRequest::Begin {
            flow: Flow::Provision,
        })
        .unwrap_err();
    assert!(e.to_string().contains("--imei"), "{e}");
    assert_eq!(
        card.seen[0].0.result,
        cat::results::BEYOND_TERMINAL_CAPABILITY
    );

    // DISPLAY TEXT (type 21): not ours.
    let mut card = FakeCard::new(vec![], begun());
    card.questions
        .push_back(hex::decode("D009810301210082028102").unwrap());
    let mut t = Terminal::new(&mut card, answers(Box::new(NoPrompter)));
    let e = t
        .run(&DcRequest::Begin {
            flow: Flow::DeviceChange,
        })
        .unwrap_err();
    assert!(e.to_string().contains("type 21"), "{e}");
    assert_eq!(card.seen[0].0.details, [1, 0x21, 0]);
}

#[test]
fn direct_answers_need_no_bf6a() {
    let answer = DcResponse::Removed {
        code: DcResult::Ok,
        signature: vec![7; 256],
    };
    let mut card = FakeCard::new(vec![], answer.clone());
    let mut t = Terminal::new(&mut card, answers(Box::new(NoPrompter)));
    let req = DcRequest::RemoveProfile {
        op_id: "+8613800000001".into(),
        iccid: apdu::sgp22::es10::Iccid::from_digits("89999100000000000009").unwrap(),
        auth: apdu::devchange::SmAuth {
            sm_challenge: vec![1; 32],
            certificate: vec![0x30, 0x00],
            signature: vec![2; 64],
        },
    };
    assert_eq!(t.run(&req).unwrap(), answer);
    assert_eq!(t.timings[0].apdus, 1);
    assert_eq!(card.store_data.len(), 1);
}

#[test]
fn the_session_knows_which_parameter_is_due_and_what_is_secret() {
    use super::session::{Due, ParameterDue, Refusal};
    use apdu::devchange::Function;
    assert_eq!(
        ParameterDue::first(Function::GenerateKey),
        ParameterDue::New
    );
    assert_eq!(ParameterDue::New.next(), ParameterDue::Confirm);
    assert_eq!(ParameterDue::Confirm.next(), ParameterDue::Confirm);
    assert_eq!(
        ParameterDue::first(Function::Authenticate),
        ParameterDue::Current
    );
    assert_eq!(ParameterDue::Current.next(), ParameterDue::Current);

    let mut s = CatSession::new(&DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: "+8613800000001".into(),
        challenge: vec![0; 32],
        salt: vec![0; 16],
        kdf: vec![0; 7],
    });
    let first = s.question(&param_question(3).encode()).unwrap();
    assert_eq!(first.details, [3, cat::TYPE_GET_INPUT, 0x05]);
    assert!(matches!(
        first.due,
        Due::Parameter {
            which: ParameterDue::New,
            ..
        }
    ));
    assert_eq!(secrecy::terminal_response(&first), Secrecy::Command);
    // A refused entry does not move on; a given one does.
    let refuse = |why: &str| {
        Err(Refusal {
            result: cat::results::TERMINATED_BY_USER,
            why: why.into(),
        })
    };
    assert_eq!(
        s.answered(&first, refuse("first reason")),
        (cat::results::TERMINATED_BY_USER, TerminalData::None)
    );
    assert!(!s.derived_key());
    let typed = TerminalData::Text(Input(Zeroizing::new("abcdefgh".into())));
    assert_eq!(
        s.answered(&first, Ok(typed.clone())),
        (cat::results::OK, typed)
    );
    assert!(s.derived_key());
    let second = s.question(&param_question(4).encode()).unwrap();
    assert!(matches!(
        second.due,
        Due::Parameter {
            which: ParameterDue::Confirm,
            ..
        }
    ));
    s.answered(&second, refuse("second reason"));
    let e = s.finish().unwrap_err();
    assert!(e.to_string().contains("first reason"), "{e}");

    // Visible entries and unknown commands are public; no details is malformed.
    let q = s.question(&op_id_question().encode()).unwrap();
    assert!(matches!(
        q.due,
        Due::OpId {
            min: 3,
            max: 20,
            ..
        }
    ));
    assert_eq!(secrecy::terminal_response(&q), Secrecy::Public);
    let q = s
        .question(&hex::decode("D009810301210082028102").unwrap())
        .unwrap();
    assert_eq!(
        q.due,
        Due::Unsupported {
            kind: 0x21,
            qualifier: 0
        }
    );
    assert_eq!(secrecy::terminal_response(&q), Secrecy::Public);
    assert_eq!(
        s.question(&hex::decode("D0028201").unwrap())
            .unwrap_err()
            .kind(),
        "malformed_answer"
    );
    // BF6A's answer holds the derived key's public half and signatures; the salt, KDF
    // parameters and sealed profile of BF67/BF68/BF69 are secret (issue 10, finding 4).
    assert_eq!(secrecy::request(&DcRequest::FetchResult), Secrecy::Answer);
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    };
    assert_eq!(secrecy::request(&begin), Secrecy::Public);
}

/// A keypad that answers every prompt the same way.
struct Keypad(fn() -> super::prompt::Entry<()>);

impl Prompter for Keypad {
    fn hidden(&mut self, _: &str) -> super::prompt::Entry<Zeroizing<String>> {
        (self.0)().map(|()| Zeroizing::new("typed-param".into()))
    }
    fn visible(&mut self, _: &str) -> super::prompt::Entry<String> {
        (self.0)().map(|()| "+8613800000009".into())
    }
}

#[test]
fn what_the_keypad_did_is_what_the_user_is_told() {
    use super::prompt::Entry;
    use super::reply::reply;
    use super::session::{Due, ParameterDue};
    let param = Due::Parameter {
        which: ParameterDue::Current,
        prompt: "Enter the key parameter".into(),
        min: 4,
        max: 128,
    };
    let op = Due::OpId {
        prompt: "OP ID".into(),
        min: 1,
        max: 20,
    };
    let told = |entry: fn() -> Entry<()>, due: &Due| {
        let mut a = answers(Box::new(Keypad(entry)));
        a.current = None;
        a.op_id = None;
        reply(&mut a, due)
    };
    assert!(told(|| Entry::Typed(()), &param).is_ok());
    assert!(told(|| Entry::Typed(()), &op).is_ok());
    let why = |entry, due| told(entry, due).unwrap_err().why;
    assert_eq!(
        why(|| Entry::Cancelled, &param),
        "the entry of the key-generation parameter was cancelled (Ctrl-C)"
    );
    assert_eq!(
        why(|| Entry::Nothing, &param),
        "no key-generation parameter given"
    );
    assert_eq!(
        why(|| Entry::Nothing, &op),
        "no OP ID (the phone number) given"
    );
    assert!(why(|| Entry::NoTerminal, &param)
        .contains("there is no terminal to type it on: pass --param-stdin"));
    assert!(why(|| Entry::Cancelled, &op).contains("cancelled"));
}

//! A hostile terminal between the SM and the card (issue 10, findings 2, 3, 9): sm-cli's
//! own SM (`sm_cli::sm::service`, with a store file) talks to a real card-sim through
//! pcscd, but every request and answer passes through this relay, which may log them
//! (to replay them later), change them or answer in the card's place.
//!
//! The relay plays the terminal with [`Attacker`] (raw APDUs, its own answers to the
//! card's questions), so the card sees exactly what a relay on the PC/SC socket sends.

use crate::attacker::{answers, Attacker};
use anyhow::{anyhow, Result};
use apdu::devchange::{DcRequest, DcResponse};
use sm_cli::sm::credential::SmCredential;
use sm_cli::sm::service::{FlowReport, Next, Order, Policy, SmError, SmService};
use sm_cli::sm::store::Store;

/// What the relay does with one request: `Forward` it, `Send` another one to the card
/// in its place, or answer in the card's place.
pub enum Act {
    Forward,
    Send(DcRequest),
    Answer(DcResponse),
}

/// One request the SM sent and the answer the SM got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: DcRequest,
    pub answer: DcResponse,
}

/// The user at the relayed terminal: the IMEI, OP ID and parameter it types.
pub struct User<'a> {
    pub imei: &'a str,
    pub op_id: &'a str,
    pub parameter: &'a str,
}

/// Runs `order` between `sm` and the card behind `card` (EID `eid`); `before` sees each request
/// first (and may answer it itself), `after` may change each answer the card gave.
/// Returns the SM's verdict and every exchange as the SM saw it.
pub fn drive(
    sm: &SmService<'_>,
    card: &Attacker,
    eid: apdu::Eid,
    order: Order,
    user: &User<'_>,
    mut before: impl FnMut(&DcRequest) -> Act,
    mut after: impl FnMut(&DcRequest, DcResponse) -> DcResponse,
) -> Result<(Result<FlowReport, SmError>, Vec<Exchange>)> {
    let mut log = Vec::new();
    let (mut conv, mut req) = match sm.start(order, eid) {
        Ok(x) => x,
        Err(e) => return Ok((Err(e), log)),
    };
    loop {
        let answer = match before(&req) {
            Act::Answer(a) => a,
            Act::Forward => {
                let a = card.request(&req, answers(user.imei, user.op_id, user.parameter))?;
                after(&req, a)
            }
            Act::Send(other) => {
                let a = card.request(&other, answers(user.imei, user.op_id, user.parameter))?;
                after(&other, a)
            }
        };
        log.push(Exchange {
            request: req.clone(),
            answer: answer.clone(),
        });
        match sm.step(&mut conv, answer) {
            Ok(Next::Send(r)) => req = r,
            Ok(Next::Finished(report)) => return Ok((Ok(*report), log)),
            Err(e) => return Ok((Err(e), log)),
        }
    }
}

/// The SM of these tests: the store at `db` and the credential of `pki` (a
/// `card-sim pki init` folder), with the default policy.
pub struct TestSm {
    pub store: Store,
    pub credential: SmCredential,
}

impl TestSm {
    pub fn open(db: &std::path::Path, pki: &std::path::Path) -> Result<TestSm> {
        Ok(TestSm {
            store: Store::open(db).map_err(|e| anyhow!("{e}"))?,
            credential: SmCredential::load(pki).map_err(|e| anyhow!("{e}"))?,
        })
    }

    /// The store at `db` and sm-cli's shipped test credential (`SmCredential::test`),
    /// which cards made without `--pki` trust.
    pub fn with_test_credential(db: &std::path::Path) -> Result<TestSm> {
        Ok(TestSm {
            store: Store::open(db).map_err(|e| anyhow!("{e}"))?,
            credential: SmCredential::test().map_err(|e| anyhow!("{e}"))?,
        })
    }

    pub fn service(&self) -> SmService<'_> {
        SmService::new(&self.store, Policy::default(), &self.credential)
    }
}

/// [`drive`] with an honest relay: every request forwarded, every answer as the card gave it.
pub fn forward(
    sm: &SmService<'_>,
    card: &Attacker,
    eid: apdu::Eid,
    order: Order,
    user: &User<'_>,
) -> Result<(Result<FlowReport, SmError>, Vec<Exchange>)> {
    drive(sm, card, eid, order, user, |_| Act::Forward, |_, a| a)
}

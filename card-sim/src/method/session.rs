//! The volatile device-change session: which function runs, which question the
//! terminal has been asked, what it answered, and the key derived from the parameter
//! until the sealed profile arrives (device-change.md A.6-A.7, B.8, C.5). One method per
//! request of docs/device-change-protocol.md §Functions; the key work is in
//! [`super::keys`].

use super::keys::{identity_signature, Derived, KeyJob};
use super::prompts::Ask;
use super::{CardView, Outcome, ResultContext};
use apdu::cat::{self, TerminalData, TerminalResponse};
use apdu::crypto::{self, Parameter, PrivateKey, SealedBox};
use apdu::devchange::authorisation::{install_payload_hash, removal_payload_hash};
use apdu::devchange::{
    AuthMessage, DcRequest, DcResponse, DcResult, Flow, Function, KeySource, OperatorProfile,
    SmAuth, CARD_CHALLENGE_LEN, SYNC_IMEI, SYNC_OP_ID,
};
use apdu::StatusWord;
use std::collections::VecDeque;

/// What BF66 established: the flow, the OP ID typed by the user and the IMEI.
#[derive(Debug, Clone)]
struct FlowCtx {
    flow: Flow,
    op_id: Option<String>,
    imei: String,
}

/// The function a proactive session runs for.
#[derive(Debug)]
enum Job {
    Begin { flow: Flow },
    GenerateKey(KeyJob),
    Authenticate(KeyJob),
}

impl Job {
    fn function(&self) -> Function {
        match self {
            Job::Begin { .. } => Function::Begin,
            Job::GenerateKey(_) => Function::GenerateKey,
            Job::Authenticate(_) => Function::Authenticate,
        }
    }
}

/// A function waiting for the terminal.
#[derive(Debug)]
struct Pending {
    job: Job,
    asks: VecDeque<Ask>,
    /// The question on the table and its encoded proactive command.
    current: Option<(Ask, [u8; 3], Vec<u8>)>,
    op_id: Option<String>,
    imei: Option<String>,
    parameters: Vec<Parameter>,
}

/// The method's volatile state. Dropping it (reset, power off) forgets every derived key.
#[derive(Debug, Default)]
pub struct MethodSession {
    ctx: Option<FlowCtx>,
    pending: Option<Pending>,
    result: Option<Vec<u8>>,
    session_key: Option<(String, PrivateKey)>,
    /// The challenge of the last BF6D, until the next BF69 or BF6B takes it (once,
    /// whatever that command's outcome).
    card_challenge: Option<[u8; CARD_CHALLENGE_LEN]>,
    number: u8,
}

fn failed(function: Function, code: DcResult) -> Vec<u8> {
    DcResponse::Failed {
        tag: function,
        code,
    }
    .encode()
}

fn answer(function: Function, r: Result<DcResponse, DcResult>) -> Outcome {
    Outcome::Answer(match r {
        Ok(a) => a.encode(),
        Err(code) => failed(function, code),
    })
}

impl MethodSession {
    /// Executes a complete device-change request.
    pub fn request(&mut self, req: DcRequest, card: &dyn CardView) -> Outcome {
        match req {
            DcRequest::Begin { flow } => self.begin(flow),
            DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => match self
                .in_session(flow, &op_id)
                .and_then(|()| KeyJob::new(flow, op_id, challenge, &salt, &kdf, card))
            {
                Ok(job) => self.generate_key(job),
                Err(code) => Outcome::Answer(failed(Function::GenerateKey, code)),
            },
            DcRequest::Authenticate {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
                need_parameter,
            } => match self
                .in_session(flow, &op_id)
                .and_then(|()| KeyJob::new(flow, op_id, challenge, &salt, &kdf, card))
            {
                Ok(job) if need_parameter => self.authenticate(job),
                // Only flow B has the recorded device prove itself without the parameter
                // ([0074]); elsewhere an identity-only proof is refused (issue 10,
                // finding 5).
                Ok(job) if flow == Flow::DeviceChange => self.identity_proof(&job, card),
                Ok(_) => Outcome::Answer(failed(Function::Authenticate, DcResult::BadRequest)),
                Err(code) => Outcome::Answer(failed(Function::Authenticate, code)),
            },
            DcRequest::InstallProfile {
                op_id,
                sealed,
                key,
                auth,
            } => {
                let profile = self
                    .install_profile(&op_id, &sealed, key, &auth, card)
                    .map(Box::new);
                Outcome::Install {
                    profile,
                    ctx: ResultContext {
                        op_id,
                        sm_challenge: auth.sm_challenge,
                    },
                }
            }
            DcRequest::FetchResult => Outcome::Answer(self.fetch_result()),
            DcRequest::RemoveProfile { op_id, iccid, auth } => {
                let authorised = self.authorise(
                    Function::RemoveProfile,
                    &op_id,
                    &auth,
                    removal_payload_hash(&iccid),
                    card,
                );
                Outcome::Remove {
                    iccid,
                    authorised: authorised.map(|_| ()),
                    ctx: ResultContext {
                        op_id,
                        sm_challenge: auth.sm_challenge,
                    },
                }
            }
            // The card draws the challenge (it owns the RNG) and gives it to
            // [`MethodSession::set_card_challenge`]; reaching here is a card bug.
            DcRequest::CardChallenge => {
                Outcome::Answer(failed(Function::CardChallenge, DcResult::Undefined))
            }
            DcRequest::Identity { challenge } => answer(
                Function::Identity,
                identity_signature(card, &challenge, SYNC_OP_ID, SYNC_IMEI, &[]).map(|signature| {
                    DcResponse::Identity {
                        eid: card.eid(),
                        identity_key: card.identity().public_key().to_der(),
                        signature,
                    }
                }),
            ),
        }
    }

    /// BF66: a new session; the terminal is asked for the OP ID (flows B, C) and the
    /// IMEI. Whatever an earlier session established is forgotten.
    fn begin(&mut self, flow: Flow) -> Outcome {
        let mut asks = VecDeque::new();
        if matches!(flow, Flow::DeviceChange | Flow::KeyChange) {
            asks.push_back(Ask::OpId);
        }
        asks.push_back(Ask::Imei);
        self.ctx = None;
        self.session_key = None;
        self.start(Job::Begin { flow }, asks, None)
    }

    /// BF67: the new parameter, asked twice.
    fn generate_key(&mut self, job: KeyJob) -> Outcome {
        let op_id = job.op_id.clone();
        let asks = VecDeque::from([Ask::NewParameter, Ask::ConfirmParameter]);
        self.start(Job::GenerateKey(job), asks, Some(op_id))
    }

    /// BF68 with a parameter: the current parameter, asked once.
    fn authenticate(&mut self, job: KeyJob) -> Outcome {
        let op_id = job.op_id.clone();
        self.start(
            Job::Authenticate(job),
            VecDeque::from([Ask::Parameter]),
            Some(op_id),
        )
    }

    /// BF68 without a parameter: the SM only wants the identity proof ([0074], the
    /// recorded device), answered directly.
    fn identity_proof(&self, job: &KeyJob, card: &dyn CardView) -> Outcome {
        let imei = self.ctx.as_ref().map_or("", |c| c.imei.as_str());
        let Some(enc) = card.encryption_key() else {
            return Outcome::Answer(failed(Function::Authenticate, DcResult::Undefined));
        };
        let der = enc.public_key().to_der();
        answer(
            Function::Authenticate,
            job.identity_with_encryption_key(card, imei, &der)
                .map(|identity_signature| DcResponse::Authenticated {
                    parameter_signature: None,
                    identity_signature,
                    encryption_key: Some(der),
                }),
        )
    }

    /// BF6D: `challenge` (fresh from the card's RNG) replaces any earlier one.
    pub fn set_card_challenge(&mut self, challenge: [u8; CARD_CHALLENGE_LEN]) {
        self.card_challenge = Some(challenge);
    }

    /// Takes the card's challenge (so it serves one command only) and checks the SM's
    /// authorisation of `function` over it; returns the challenge.
    fn authorise(
        &mut self,
        function: Function,
        op_id: &str,
        auth: &SmAuth,
        payload_hash: [u8; 32],
        card: &dyn CardView,
    ) -> Result<[u8; CARD_CHALLENGE_LEN], DcResult> {
        let Some(card_challenge) = self.card_challenge.take() else {
            eprintln!("card-sim: {function} without a card challenge (BF6D) first: refused");
            return Err(DcResult::NotAuthorised);
        };
        let msg = AuthMessage {
            function,
            card_challenge: &card_challenge,
            eid: card.eid(),
            op_id,
            sm_challenge: &auth.sm_challenge,
            payload_hash,
        };
        msg.verify(&auth.certificate, &auth.signature, &card.trusted_cis())
            .map_err(|e| {
                eprintln!("card-sim: {function} refused: {e}");
                DcResult::NotAuthorised
            })?;
        Ok(card_challenge)
    }

    /// BF69: checks the SM's authorisation, then opens the sealed profile with the
    /// session's derived key or the identity key; the card installs what this returns.
    fn install_profile(
        &mut self,
        op_id: &str,
        sealed: &[u8],
        key: KeySource,
        auth: &SmAuth,
        card: &dyn CardView,
    ) -> Result<OperatorProfile, DcResult> {
        let card_challenge = self.authorise(
            Function::InstallProfile,
            op_id,
            auth,
            install_payload_hash(key as u8, sealed),
            card,
        )?;
        let sealed = SealedBox::from_bytes(sealed).map_err(|_| DcResult::DecryptionFailed)?;
        let aad = crypto::profile_aad(op_id, &card.eid(), &card_challenge)
            .map_err(|_| DcResult::BadRequest)?;
        let opened = match key {
            KeySource::Parameter => match self.session_key.take() {
                // The derived key is used once and dropped here, whatever the outcome
                // (A step 414, B step 523).
                Some((for_op, k)) if for_op == op_id => crypto::open(&k, &sealed, &aad),
                _ => return Err(DcResult::NoSession),
            },
            // Sealed to the identity encryption key, never to the signing key.
            KeySource::Identity => match card.encryption_key() {
                Some(k) => k.open(&sealed, &aad),
                None => return Err(DcResult::DecryptionFailed),
            },
        };
        let plain = opened.map_err(|_| DcResult::DecryptionFailed)?;
        let profile = OperatorProfile::decode(&plain).map_err(|_| DcResult::BadRequest)?;
        if profile.msisdn != op_id {
            return Err(DcResult::BadRequest);
        }
        if card.holds_op(op_id) {
            return Err(DcResult::AlreadyInstalled);
        }
        self.ctx = None;
        Ok(profile)
    }

    /// BF6A: the answer of the finished BF66/BF67/BF68, once.
    fn fetch_result(&mut self) -> Vec<u8> {
        match (&self.pending, self.result.take()) {
            (None, Some(r)) => r,
            _ => failed(Function::FetchResult, DcResult::NoSession),
        }
    }

    /// Checks that BF66 ran for this flow and OP ID (BF67, BF68 come after it).
    fn in_session(&self, flow: Flow, op_id: &str) -> Result<(), DcResult> {
        let ctx = self.ctx.as_ref().ok_or(DcResult::NoSession)?;
        if ctx.flow != flow || ctx.op_id.as_deref().is_some_and(|o| o != op_id) {
            return Err(DcResult::NoSession);
        }
        Ok(())
    }

    fn start(&mut self, job: Job, asks: VecDeque<Ask>, op_id: Option<String>) -> Outcome {
        self.result = None;
        self.pending = Some(Pending {
            job,
            asks,
            current: None,
            op_id,
            imei: None,
            parameters: Vec::new(),
        });
        match self.next_question() {
            Some(cmd) => Outcome::Proactive(cmd),
            None => Outcome::Answer(failed(Function::FetchResult, DcResult::Undefined)),
        }
    }

    fn next_question(&mut self) -> Option<Vec<u8>> {
        let p = self.pending.as_mut()?;
        let ask = p.asks.pop_front()?;
        self.number = self.number.wrapping_add(1).max(1);
        let cmd = ask.command(self.number);
        let bytes = cmd.encode();
        p.current = Some((ask, cmd.details(), bytes.clone()));
        Some(bytes)
    }

    /// FETCH: the pending proactive command, if any.
    pub fn fetch(&self) -> Option<&[u8]> {
        self.pending
            .as_ref()
            .and_then(|p| p.current.as_ref())
            .map(|(_, _, b)| b.as_slice())
    }

    /// TERMINAL RESPONSE. `Ok(Some(cmd))`: the next proactive command (answer `91xx`);
    /// `Ok(None)`: the session ended (answer `9000`, the result waits for BF6A).
    pub fn terminal_response(
        &mut self,
        body: &[u8],
        card: &dyn CardView,
    ) -> Result<Option<Vec<u8>>, StatusWord> {
        let Some(p) = self.pending.as_mut() else {
            return Err(StatusWord::ConditionsNotSatisfied);
        };
        let Some((ask, details, _)) = p.current.clone() else {
            return Err(StatusWord::ConditionsNotSatisfied);
        };
        let tr = TerminalResponse::decode(body).map_err(|_| StatusWord::IncorrectData)?;
        if tr.details != details {
            return Err(StatusWord::IncorrectData);
        }
        let function = p.job.function();
        let stored = if tr.result != cat::results::OK {
            Err(if ask == Ask::Imei {
                DcResult::NoImei
            } else {
                DcResult::UserAborted
            })
        } else {
            p.store(ask, tr.data)
        };
        if let Err(code) = stored {
            return Ok(self.end(failed(function, code)));
        }
        if let Some(next) = self.next_question() {
            return Ok(Some(next));
        }
        let answer = self.finish(card);
        Ok(self.end(answer))
    }

    fn end(&mut self, answer: Vec<u8>) -> Option<Vec<u8>> {
        self.pending = None;
        self.result = Some(answer);
        None
    }

    /// All questions answered: do the work of the function.
    fn finish(&mut self, card: &dyn CardView) -> Vec<u8> {
        let Some(p) = self.pending.take() else {
            return failed(Function::FetchResult, DcResult::NoSession);
        };
        let function = p.job.function();
        match self.finish_job(p, card) {
            Ok(answer) => answer.encode(),
            Err(code) => failed(function, code),
        }
    }

    fn finish_job(&mut self, p: Pending, card: &dyn CardView) -> Result<DcResponse, DcResult> {
        let imei = self.ctx.as_ref().map(|c| c.imei.clone());
        match p.job {
            Job::Begin { flow } => {
                let imei = p.imei.ok_or(DcResult::NoImei)?;
                self.ctx = Some(FlowCtx {
                    flow,
                    op_id: p.op_id.clone(),
                    imei: imei.clone(),
                });
                Ok(DcResponse::Begun {
                    flow,
                    op_id: p.op_id,
                    eid: card.eid(),
                    imei,
                    identity_key: card.identity().public_key().to_der(),
                })
            }
            Job::GenerateKey(job) => {
                let imei = imei.ok_or(DcResult::NoSession)?;
                let derived = job.new_key(p.parameters, card, &imei)?;
                // Flow A keeps the key for the profile to come; flow C keeps it only when
                // the profile is not on this card yet ([0196]); otherwise it is dropped now.
                let keep = job.flow == Flow::Provision || !card.holds_op(&job.op_id);
                Ok(self.keep_key(keep, job, derived))
            }
            Job::Authenticate(job) => {
                let imei = imei.ok_or(DcResult::NoSession)?;
                let derived = job.authenticate(p.parameters, card, &imei)?;
                // Kept to open the profile sealed for the stored key (B step 520).
                let keep = job.flow == Flow::DeviceChange;
                Ok(self.keep_key(keep, job, derived))
            }
        }
    }

    /// Keeps the derived key for BF69 when `keep`, else drops it (zeroized); returns
    /// the answer.
    fn keep_key(&mut self, keep: bool, job: KeyJob, derived: Derived) -> DcResponse {
        if keep {
            self.session_key = Some((job.op_id, derived.key));
        }
        derived.answer
    }
}

impl Pending {
    /// Keeps the terminal's answer to `ask`, or says why it is not acceptable.
    fn store(&mut self, ask: Ask, data: TerminalData) -> Result<(), DcResult> {
        match (ask, data) {
            (Ask::OpId, TerminalData::Text(t)) => {
                let s = t.0.trim().to_string();
                let ok = !s.is_empty()
                    && s.len() <= apdu::devchange::MAX_OP_ID
                    && s.bytes().all(|b| b.is_ascii_digit() || b == b'+');
                self.op_id = Some(s);
                ok.then_some(()).ok_or(DcResult::InputInvalid)
            }
            (Ask::Imei, TerminalData::Imei(i)) => {
                self.imei = Some(i);
                Ok(())
            }
            (Ask::Parameter | Ask::NewParameter | Ask::ConfirmParameter, TerminalData::Text(t)) => {
                let param = Parameter::new(t.0).map_err(|_| DcResult::ParameterInvalid)?;
                self.parameters.push(param);
                Ok(())
            }
            (Ask::Imei, _) => Err(DcResult::NoImei),
            _ => Err(DcResult::InputInvalid),
        }
    }
}

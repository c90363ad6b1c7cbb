//! The volatile device-change session: which function runs, which question the
//! terminal has been asked, what it answered, and the key derived from the parameter
//! until the sealed profile arrives (device-change.md A.6-A.7, B.8, C.5).

use super::prompts::Ask;
use super::{CardView, Outcome};
use apdu::cat::{self, TerminalData, TerminalResponse};
use apdu::crypto::{
    self, key_pair_from_parameter, KdfParams, Parameter, PrivateKey, Purpose, SealedBox,
    SignedMessage,
};
use apdu::devchange::{result, tags, DcRequest, DcResponse, Flow, KeySource, OperatorProfile};
use apdu::StatusWord;
use std::collections::VecDeque;

/// `op_id` and `imei` of the identity proof answered to BF6C, which has no session.
pub const SYNC_OP_ID: &str = "sync";
pub const SYNC_IMEI: &str = "-";

/// What BF66 established: the flow, the OP ID typed by the user and the IMEI.
#[derive(Debug, Clone)]
struct FlowCtx {
    flow: Flow,
    op_id: Option<String>,
    imei: String,
}

#[derive(Debug)]
enum Job {
    Begin {
        flow: Flow,
    },
    GenerateKey {
        flow: Flow,
        op_id: String,
        challenge: Vec<u8>,
        salt: crypto::Salt,
        kdf: KdfParams,
    },
    Authenticate {
        flow: Flow,
        op_id: String,
        challenge: Vec<u8>,
        salt: crypto::Salt,
        kdf: KdfParams,
    },
}

impl Job {
    fn tag(&self) -> u32 {
        match self {
            Job::Begin { .. } => tags::BEGIN,
            Job::GenerateKey { .. } => tags::GENERATE_KEY,
            Job::Authenticate { .. } => tags::AUTHENTICATE,
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
    number: u8,
}

fn failed(tag: u32, code: u8) -> Vec<u8> {
    DcResponse::Failed { tag, code }.encode()
}

impl MethodSession {
    /// True while a proactive session waits for the terminal.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Executes a complete device-change request.
    pub fn request(&mut self, req: DcRequest, card: &dyn CardView) -> Outcome {
        match req {
            DcRequest::Begin { flow } => {
                let mut asks = VecDeque::new();
                if matches!(flow, Flow::DeviceChange | Flow::KeyChange) {
                    asks.push_back(Ask::OpId);
                }
                asks.push_back(Ask::Imei);
                self.ctx = None;
                self.session_key = None;
                self.start(Job::Begin { flow }, asks, None)
            }
            DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => match self.check_ctx(flow, &op_id, &challenge, &salt, &kdf) {
                Err(code) => Outcome::Answer(failed(tags::GENERATE_KEY, code)),
                Ok((salt, kdf)) => {
                    let asks = VecDeque::from([Ask::NewParameter, Ask::ConfirmParameter]);
                    let job = Job::GenerateKey {
                        flow,
                        op_id: op_id.clone(),
                        challenge,
                        salt,
                        kdf,
                    };
                    self.start(job, asks, Some(op_id))
                }
            },
            DcRequest::Authenticate {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
                need_parameter,
            } => match self.check_ctx(flow, &op_id, &challenge, &salt, &kdf) {
                Err(code) => Outcome::Answer(failed(tags::AUTHENTICATE, code)),
                Ok(_) if !need_parameter => {
                    // The SM only wants the identity proof ([0074], recorded device).
                    let imei = self
                        .ctx
                        .as_ref()
                        .map(|c| c.imei.clone())
                        .unwrap_or_default();
                    match identity_signature(card, &challenge, &op_id, &imei) {
                        Ok(sig) => Outcome::Answer(
                            DcResponse::Authenticated {
                                parameter_signature: None,
                                identity_signature: sig,
                            }
                            .encode(),
                        ),
                        Err(code) => Outcome::Answer(failed(tags::AUTHENTICATE, code)),
                    }
                }
                Ok((salt, kdf)) => {
                    let job = Job::Authenticate {
                        flow,
                        op_id: op_id.clone(),
                        challenge,
                        salt,
                        kdf,
                    };
                    self.start(job, VecDeque::from([Ask::Parameter]), Some(op_id))
                }
            },
            DcRequest::InstallProfile { op_id, sealed, key } => {
                let code = |c| Outcome::Answer(failed(tags::INSTALL_PROFILE, c));
                let Ok(sealed) = SealedBox::from_bytes(&sealed) else {
                    return code(result::DECRYPTION_FAILED);
                };
                let Ok(aad) = crypto::profile_aad(&op_id, &card.eid()) else {
                    return code(result::BAD_REQUEST);
                };
                let opened = match key {
                    KeySource::Parameter => match self.session_key.take() {
                        // The derived key is used once and dropped here, whatever the
                        // outcome (A step 414, B step 523).
                        Some((for_op, k)) if for_op == op_id => crypto::open(&k, &sealed, &aad),
                        _ => return code(result::NO_SESSION),
                    },
                    KeySource::Identity => card.identity().open(&sealed, &aad),
                };
                let Ok(plain) = opened else {
                    return code(result::DECRYPTION_FAILED);
                };
                let Ok(profile) = OperatorProfile::decode(&plain) else {
                    return code(result::BAD_REQUEST);
                };
                if profile.msisdn != op_id {
                    return code(result::BAD_REQUEST);
                }
                if card.holds_op(&op_id) {
                    return code(result::ALREADY_INSTALLED);
                }
                self.ctx = None;
                Outcome::Install(Box::new(profile))
            }
            DcRequest::FetchResult => Outcome::Answer(match (&self.pending, self.result.take()) {
                (None, Some(r)) => r,
                _ => failed(tags::FETCH_RESULT, result::NO_SESSION),
            }),
            DcRequest::RemoveProfile { op_id, iccid } => Outcome::Remove { op_id, iccid },
            DcRequest::Identity { challenge } => {
                match identity_signature(card, &challenge, SYNC_OP_ID, SYNC_IMEI) {
                    Ok(sig) => Outcome::Answer(
                        DcResponse::Identity {
                            eid: card.eid(),
                            identity_key: card.identity().public_key().to_der(),
                            signature: sig,
                        }
                        .encode(),
                    ),
                    Err(code) => Outcome::Answer(failed(tags::IDENTITY, code)),
                }
            }
        }
    }

    /// Checks that BF66 ran for this flow and OP ID and that the SM's values are sane.
    fn check_ctx(
        &self,
        flow: Flow,
        op_id: &str,
        challenge: &[u8],
        salt: &[u8],
        kdf: &[u8],
    ) -> Result<(crypto::Salt, KdfParams), u8> {
        let ctx = self.ctx.as_ref().ok_or(result::NO_SESSION)?;
        if ctx.flow != flow || ctx.op_id.as_deref().is_some_and(|o| o != op_id) {
            return Err(result::NO_SESSION);
        }
        if !(16..=64).contains(&challenge.len()) {
            return Err(result::BAD_REQUEST);
        }
        let salt = crypto::Salt::from_bytes(salt).map_err(|_| result::BAD_REQUEST)?;
        let kdf = KdfParams::from_bytes(kdf).map_err(|_| result::BAD_REQUEST)?;
        Ok((salt, kdf))
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
            None => Outcome::Answer(failed(tags::FETCH_RESULT, result::UNDEFINED)),
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
        let tag = p.job.tag();
        if tr.result != cat::results::OK {
            let code = if ask == Ask::Imei {
                result::NO_IMEI
            } else {
                result::USER_ABORTED
            };
            return Ok(self.end(failed(tag, code)));
        }
        let stored = match (ask, tr.data) {
            (Ask::OpId, TerminalData::Text(t)) => {
                let s = t.0.trim().to_string();
                let ok = !s.is_empty()
                    && s.len() <= apdu::devchange::MAX_OP_ID
                    && s.bytes().all(|b| b.is_ascii_digit() || b == b'+');
                p.op_id = Some(s);
                ok.then_some(()).ok_or(result::INPUT_INVALID)
            }
            (Ask::Imei, TerminalData::Imei(i)) => {
                p.imei = Some(i);
                Ok(())
            }
            (Ask::Parameter | Ask::NewParameter | Ask::ConfirmParameter, TerminalData::Text(t)) => {
                match Parameter::new(t.0) {
                    Ok(param) => {
                        p.parameters.push(param);
                        Ok(())
                    }
                    Err(_) => Err(result::PARAMETER_INVALID),
                }
            }
            (Ask::Imei, _) => Err(result::NO_IMEI),
            _ => Err(result::INPUT_INVALID),
        };
        if let Err(code) = stored {
            return Ok(self.end(failed(tag, code)));
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
            return failed(tags::FETCH_RESULT, result::NO_SESSION);
        };
        let tag = p.job.tag();
        match self.finish_job(p, card) {
            Ok(bytes) => bytes,
            Err(code) => failed(tag, code),
        }
    }

    fn finish_job(&mut self, p: Pending, card: &dyn CardView) -> Result<Vec<u8>, u8> {
        let imei = self.ctx.as_ref().map(|c| c.imei.clone());
        match p.job {
            Job::Begin { flow } => {
                let imei = p.imei.ok_or(result::NO_IMEI)?;
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
                }
                .encode())
            }
            Job::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => {
                let imei = imei.ok_or(result::NO_SESSION)?;
                let [first, second] =
                    <[Parameter; 2]>::try_from(p.parameters).map_err(|_| result::UNDEFINED)?;
                if first.expose_bytes() != second.expose_bytes() {
                    return Err(result::PARAMETER_MISMATCH);
                }
                drop(second);
                let key =
                    key_pair_from_parameter(&first, &salt, &kdf).map_err(|_| result::UNDEFINED)?;
                drop(first);
                let msg =
                    SignedMessage::new(Purpose::NewKey, &challenge, &op_id, card.eid(), &imei)
                        .map_err(|_| result::BAD_REQUEST)?;
                let possession = crypto::sign(&key, &msg).map_err(|_| result::UNDEFINED)?;
                let identity = identity_signature(card, &challenge, &op_id, &imei)?;
                let public_key = key.public_key().to_der();
                // Flow A keeps the key for the profile to come; flow C keeps it only when
                // the profile is not on this card yet ([0196]); otherwise it is dropped now.
                if flow == Flow::Provision || !card.holds_op(&op_id) {
                    self.session_key = Some((op_id, key));
                }
                Ok(DcResponse::KeyGenerated {
                    public_key,
                    possession_signature: possession,
                    identity_signature: identity,
                }
                .encode())
            }
            Job::Authenticate {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => {
                let imei = imei.ok_or(result::NO_SESSION)?;
                let param = p.parameters.into_iter().next().ok_or(result::UNDEFINED)?;
                let key =
                    key_pair_from_parameter(&param, &salt, &kdf).map_err(|_| result::UNDEFINED)?;
                drop(param);
                let purpose = if flow == Flow::KeyChange {
                    Purpose::KeyChange
                } else {
                    Purpose::DeviceChange
                };
                let msg = SignedMessage::new(purpose, &challenge, &op_id, card.eid(), &imei)
                    .map_err(|_| result::BAD_REQUEST)?;
                let signature = crypto::sign(&key, &msg).map_err(|_| result::UNDEFINED)?;
                let identity = identity_signature(card, &challenge, &op_id, &imei)?;
                if flow == Flow::DeviceChange {
                    // Kept to open the profile sealed for the stored key (B step 520).
                    self.session_key = Some((op_id, key));
                }
                Ok(DcResponse::Authenticated {
                    parameter_signature: Some(signature),
                    identity_signature: identity,
                }
                .encode())
            }
        }
    }
}

fn identity_signature(
    card: &dyn CardView,
    challenge: &[u8],
    op_id: &str,
    imei: &str,
) -> Result<Vec<u8>, u8> {
    let msg = SignedMessage::new(Purpose::IdentityProof, challenge, op_id, card.eid(), imei)
        .map_err(|_| result::BAD_REQUEST)?;
    card.identity().prove(&msg).map_err(|_| result::UNDEFINED)
}

//! The SM policy against a message-level software card that does what
//! card-sim/src/method/session.rs does (derive, sign, open, install), with an
//! in-memory store: the whole story of issue 3 at the level of `apdu::devchange`.
//!
//! Long because it tells the whole story, flow by flow, against one fake card; each
//! test stands alone.

use super::super::store::{AuditAction, Store};
use super::*;
use apdu::crypto::{
    self, key_pair_from_parameter, IdentityKey, KdfParams, Parameter, PrivateKey, Purpose, Salt,
    SealedBox, SignedMessage, SysRng,
};
use apdu::devchange::authorisation::{install_payload_hash, removal_payload_hash};
use apdu::devchange::AuthMessage;
use apdu::devchange::{
    DcRequest, DcResponse, DcResult, Flow, Function, InstallResult, KeySource, OperatorProfile,
    SYNC_IMEI, SYNC_OP_ID,
};
use apdu::sgp22::pki::Cert;
use apdu::Eid;
use std::collections::VecDeque;
use std::sync::OnceLock;

/// The SM's test credential (the shipped test DPpb), for every SmService here.
fn cred() -> &'static crate::sm::credential::SmCredential {
    static C: OnceLock<crate::sm::credential::SmCredential> = OnceLock::new();
    C.get_or_init(|| crate::sm::credential::SmCredential::test().unwrap())
}

/// The CI the fake card trusts: the shipped test CI.
fn test_ci() -> Vec<Cert> {
    vec![Cert::from_der(include_bytes!(
        "../../../../card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.der"
    ))
    .unwrap()]
}

const OP: &str = "+8613800000001";
const IMEI_OLD: &str = "490154203237518";
const IMEI_NEW: &str = "356938035643809";

/// A card and its user, at message level.
struct FakeCard {
    eid: Eid,
    identity: IdentityKey,
    /// The identity encryption key, apart from the signing key.
    encryption: IdentityKey,
    imei: String,
    /// What the user types for the OP ID.
    op_id_input: String,
    /// What the user types for each hidden entry, in order.
    typed: VecDeque<String>,
    ctx: Option<(Flow, Option<String>)>,
    session_key: Option<(String, PrivateKey)>,
    installed: Vec<OperatorProfile>,
    parameter_prompts: usize,
    /// The last BF6D challenge, until a BF69/BF6B takes it.
    card_challenge: Option<[u8; 16]>,
}

impl FakeCard {
    fn new(serial: u64, imei: &str) -> FakeCard {
        FakeCard {
            eid: Eid::test_eid(serial),
            identity: IdentityKey::generate(&mut SysRng).unwrap(),
            encryption: IdentityKey::generate(&mut SysRng).unwrap(),
            imei: imei.into(),
            op_id_input: OP.into(),
            typed: VecDeque::new(),
            ctx: None,
            session_key: None,
            installed: Vec::new(),
            parameter_prompts: 0,
            card_challenge: None,
        }
    }

    fn types(&mut self, entries: &[&str]) -> &mut Self {
        self.typed = entries.iter().map(|s| s.to_string()).collect();
        self
    }

    fn holds(&self, op: &str) -> bool {
        self.installed.iter().any(|p| p.msisdn == op)
    }

    fn sign_id(&self, challenge: &[u8], op: &str, imei: &str, bound: &[u8]) -> Vec<u8> {
        let m = SignedMessage::new(Purpose::IdentityProof, challenge, op, self.eid, imei)
            .unwrap()
            .bound(bound)
            .unwrap();
        self.identity.prove(&m).unwrap()
    }

    /// A BF69/BF6B result signed as card-sim signs it.
    fn sign_result(
        &self,
        purpose: Purpose,
        sm_challenge: &[u8],
        op: &str,
        code: DcResult,
        iccid: Option<&apdu::sgp22::es10::Iccid>,
    ) -> Vec<u8> {
        let bound = crypto::result_binding(code.code(), iccid.map(|i| &i.0));
        let m = SignedMessage::new(purpose, sm_challenge, op, self.eid, SYNC_IMEI)
            .unwrap()
            .bound(&bound)
            .unwrap();
        self.identity.prove(&m).unwrap()
    }

    /// Takes the card challenge and checks the SM's authorisation as card-sim does.
    fn authorised(
        &mut self,
        function: Function,
        op_id: &str,
        auth: &apdu::devchange::SmAuth,
        payload_hash: [u8; 32],
    ) -> Option<[u8; 16]> {
        let ch = self.card_challenge.take()?;
        AuthMessage {
            function,
            card_challenge: &ch,
            eid: self.eid,
            op_id,
            sm_challenge: &auth.sm_challenge,
            payload_hash,
        }
        .verify(&auth.certificate, &auth.signature, &test_ci())
        .ok()?;
        Some(ch)
    }

    fn next_param(&mut self) -> Option<Parameter> {
        self.parameter_prompts += 1;
        self.typed.pop_front().map(|s| Parameter::new(s).unwrap())
    }

    fn derive(&self, p: &Parameter, salt: &[u8], kdf: &[u8]) -> PrivateKey {
        key_pair_from_parameter(
            p,
            &Salt::from_bytes(salt).unwrap(),
            &KdfParams::from_bytes(kdf).unwrap(),
        )
        .unwrap()
    }

    fn answer(&mut self, req: DcRequest) -> DcResponse {
        let imei = self.imei.clone();
        match req {
            DcRequest::Identity { challenge } => DcResponse::Identity {
                eid: self.eid,
                identity_key: self.identity.public_key().to_der(),
                signature: self.sign_id(&challenge, SYNC_OP_ID, SYNC_IMEI, &[]),
            },
            DcRequest::CardChallenge => {
                let c: [u8; 16] = crypto::new_challenge(&mut SysRng).unwrap()[..16]
                    .try_into()
                    .unwrap();
                self.card_challenge = Some(c);
                DcResponse::CardChallenge { challenge: c }
            }
            DcRequest::Begin { flow } => {
                let op = (flow != Flow::Provision).then(|| self.op_id_input.clone());
                self.ctx = Some((flow, op.clone()));
                self.session_key = None;
                DcResponse::Begun {
                    flow,
                    op_id: op,
                    eid: self.eid,
                    imei,
                    identity_key: self.identity.public_key().to_der(),
                }
            }
            DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => {
                assert_eq!(self.ctx.as_ref().map(|c| c.0), Some(flow));
                let (Some(a), Some(b)) = (self.next_param(), self.next_param()) else {
                    return DcResponse::Failed {
                        tag: Function::GenerateKey,
                        code: DcResult::UserAborted,
                    };
                };
                if a.expose_bytes() != b.expose_bytes() {
                    return DcResponse::Failed {
                        tag: Function::GenerateKey,
                        code: DcResult::ParameterMismatch,
                    };
                }
                let key = self.derive(&a, &salt, &kdf);
                let pk = key.public_key().to_der();
                let bound = crypto::key_binding(&pk, &salt, &kdf);
                let m = SignedMessage::new(Purpose::NewKey, &challenge, &op_id, self.eid, &imei)
                    .unwrap()
                    .bound(&bound)
                    .unwrap();
                let resp = DcResponse::KeyGenerated {
                    public_key: pk,
                    possession_signature: crypto::sign(&key, &m).unwrap(),
                    identity_signature: self.sign_id(&challenge, &op_id, &imei, &bound),
                };
                if flow == Flow::Provision || !self.holds(&op_id) {
                    self.session_key = Some((op_id, key));
                }
                resp
            }
            DcRequest::Authenticate {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
                need_parameter,
            } => {
                let bound = crypto::kdf_binding(&salt, &kdf);
                if !need_parameter {
                    let enc = self.encryption.public_key().to_der();
                    let b = crypto::encryption_key_binding(&bound, &enc);
                    return DcResponse::Authenticated {
                        parameter_signature: None,
                        identity_signature: self.sign_id(&challenge, &op_id, &imei, &b),
                        encryption_key: Some(enc),
                    };
                }
                let identity_signature = self.sign_id(&challenge, &op_id, &imei, &bound);
                let Some(p) = self.next_param() else {
                    return DcResponse::Failed {
                        tag: Function::Authenticate,
                        code: DcResult::UserAborted,
                    };
                };
                let key = self.derive(&p, &salt, &kdf);
                let purpose = if flow == Flow::KeyChange {
                    Purpose::KeyChange
                } else {
                    Purpose::DeviceChange
                };
                let m = SignedMessage::new(purpose, &challenge, &op_id, self.eid, &imei)
                    .unwrap()
                    .bound(&bound)
                    .unwrap();
                let sig = crypto::sign(&key, &m).unwrap();
                if flow == Flow::DeviceChange {
                    self.session_key = Some((op_id, key));
                }
                DcResponse::Authenticated {
                    parameter_signature: Some(sig),
                    identity_signature,
                    encryption_key: None,
                }
            }
            DcRequest::InstallProfile {
                op_id,
                sealed,
                key,
                auth,
            } => {
                let sm_ch = auth.sm_challenge.clone();
                let failed = |card: &FakeCard, code| {
                    DcResponse::Installed(InstallResult {
                        code,
                        iccid: None,
                        signature: card.sign_result(
                            Purpose::InstallResult,
                            &sm_ch,
                            &op_id,
                            code,
                            None,
                        ),
                    })
                };
                let payload = install_payload_hash(key as u8, &sealed);
                let Some(card_ch) =
                    self.authorised(Function::InstallProfile, &op_id, &auth, payload)
                else {
                    return failed(self, DcResult::NotAuthorised);
                };
                let sb = SealedBox::from_bytes(&sealed).unwrap();
                let aad = crypto::profile_aad(&op_id, &self.eid, &card_ch).unwrap();
                let opened = match key {
                    KeySource::Parameter => match self.session_key.take() {
                        Some((o, k)) if o == op_id => crypto::open(&k, &sb, &aad),
                        _ => return failed(self, DcResult::NoSession),
                    },
                    KeySource::Identity => self.encryption.open(&sb, &aad),
                };
                let Ok(plain) = opened else {
                    return failed(self, DcResult::DecryptionFailed);
                };
                let p = OperatorProfile::decode(&plain).unwrap();
                assert_eq!(p.msisdn, op_id);
                if self.holds(&op_id) {
                    return failed(self, DcResult::AlreadyInstalled);
                }
                let iccid = p.iccid;
                self.installed.push(p);
                DcResponse::Installed(InstallResult {
                    code: DcResult::Ok,
                    iccid: Some(iccid),
                    signature: self.sign_result(
                        Purpose::InstallResult,
                        &auth.sm_challenge,
                        &op_id,
                        DcResult::Ok,
                        Some(&iccid),
                    ),
                })
            }
            DcRequest::RemoveProfile { op_id, iccid, auth } => {
                let code = if self
                    .authorised(
                        Function::RemoveProfile,
                        &op_id,
                        &auth,
                        removal_payload_hash(&iccid),
                    )
                    .is_none()
                {
                    DcResult::NotAuthorised
                } else {
                    let before = self.installed.len();
                    self.installed
                        .retain(|p| !(p.msisdn == op_id && p.iccid == iccid));
                    if self.installed.len() < before {
                        DcResult::Ok
                    } else {
                        DcResult::NotFound
                    }
                };
                DcResponse::Removed {
                    code,
                    signature: self.sign_result(
                        Purpose::RemovalResult,
                        &auth.sm_challenge,
                        &op_id,
                        code,
                        None,
                    ),
                }
            }
            DcRequest::FetchResult => DcResponse::Failed {
                tag: Function::FetchResult,
                code: DcResult::NoSession,
            },
        }
    }
}

fn run(sm: &SmService<'_>, card: &mut FakeCard, order: Order) -> Result<FlowReport, SmError> {
    let (mut conv, mut req) = sm.start(order, card.eid)?;
    loop {
        let answer = card.answer(req);
        match sm.step(&mut conv, answer)? {
            Next::Send(r) => req = r,
            Next::Finished(rep) => return Ok(*rep),
        }
    }
}

fn provision_order() -> Order {
    Order::Provision {
        op_id: OP.into(),
        kdf: KdfParams::TEST,
        profile: ProfileSpec::default(),
    }
}

fn actions(store: &Store) -> Vec<String> {
    store
        .audit(OP)
        .unwrap()
        .into_iter()
        .map(|a| a.action.as_str().to_string())
        .collect()
}

/// A store with OP provisioned on `old` with parameter "123456".
fn provisioned() -> (Store, FakeCard) {
    let store = crate::sm::store::test_store();
    let mut old = FakeCard::new(1, IMEI_OLD);
    {
        let sm = SmService::new(&store, Policy::default(), cred());
        old.types(&["123456", "123456"]);
        let rep = run(&sm, &mut old, provision_order()).unwrap();
        assert_eq!(rep.key_source, Some("parameter"));
    }
    (store, old)
}

#[test]
fn provision_records_and_delivers_a_real_profile() {
    let (store, old) = provisioned();
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!(sub.device.imei, IMEI_OLD);
    assert_eq!(sub.device.eid, old.eid.to_string());
    assert_eq!(
        sub.device.identity_public_key,
        old.identity.public_key().to_der()
    );
    assert_eq!(sub.key.kdf_params, KdfParams::TEST.to_bytes().to_vec());
    assert_eq!(sub.key.kdf_salt.len(), 16);
    assert!(matches!(
        sub.delivery,
        crate::sm::store::Delivery::Delivered { .. }
    ));
    let p = &old.installed[0];
    assert_eq!(p.iccid.digits(), sub.profile.iccid);
    assert_eq!(p.imsi, sub.profile.imsi);
    assert_eq!(p.ki.as_slice(), sub.profile.ki.expose());
    assert_eq!(actions(&store), ["provision", "profile-delivered"]);
    // The card dropped the derived key (A step 414).
    assert!(old.session_key.is_none());

    // A second provisioning of the same OP ID is refused before anything is asked.
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut other = FakeCard::new(9, IMEI_NEW);
    let e = run(&sm, &mut other, provision_order()).unwrap_err();
    assert_eq!(e.exit_code(), 33, "{e}");
    assert_eq!(other.parameter_prompts, 0);
}

#[test]
fn device_change_story_wrong_then_right_then_sync_and_rekey() {
    let (store, mut old) = provisioned();
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut new = FakeCard::new(2, IMEI_NEW);

    // Wrong parameter: refused, counter 1.
    new.types(&["000000"]);
    let e = run(&sm, &mut new, Order::DeviceChange).unwrap_err();
    assert!(
        matches!(e, SmError::WrongParameter { remaining: 2, .. }),
        "{e}"
    );
    assert_eq!(store.get(OP).unwrap().unwrap().failures, 1);
    assert!(new.installed.is_empty());

    // Right parameter: the profile moves, the old binding stops.
    new.types(&["123456"]);
    let rep = run(&sm, &mut new, Order::DeviceChange).unwrap();
    assert_eq!(rep.failures_cleared, Some(1));
    assert_eq!(
        rep.previous_device.as_ref().map(|d| d.imei.as_str()),
        Some(IMEI_OLD)
    );
    assert!(new.holds(OP));
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!((sub.device.imei.as_str(), sub.failures), (IMEI_NEW, 0));
    assert_eq!(sub.pending_removals.len(), 1);
    let bindings = store.bindings(OP).unwrap();
    assert_eq!(bindings.len(), 2);
    assert_eq!(bindings[0].imei, IMEI_OLD);
    assert!(bindings[0].stopped_at.is_some());

    // The old card's sync removes the moved profile.
    assert!(old.holds(OP));
    let rep = run(&sm, &mut old, Order::Sync).unwrap();
    assert_eq!(rep.removed.len(), 1);
    assert!(rep.removed[0].was_on_card);
    assert!(!old.holds(OP));
    assert!(store.get(OP).unwrap().unwrap().pending_removals.is_empty());
    assert!(actions(&store).contains(&"old-profile-removed".to_string()));
    // Nothing left: a second sync removes nothing.
    assert!(run(&sm, &mut old, Order::Sync).unwrap().removed.is_empty());

    // Rekey from the new terminal: current then new parameter twice.
    new.types(&["123456", "24681357", "24681357"]);
    let rep = run(&sm, &mut new, Order::Rekey { kdf: None }).unwrap();
    assert_eq!(rep.kdf.as_ref().map(|k| k.profile), Some("test"));
    assert!(actions(&store).contains(&"rekey".to_string()));
    // The new card holds the OP: the rekey key was dropped at once ([0196]).
    assert!(new.session_key.is_none());

    // A device change with the old parameter now fails, the new one works.
    let mut third = FakeCard::new(3, "353918050000005");
    assert!(apdu::cat::imei_is_valid("353918050000005"));
    third.types(&["123456"]);
    let e = run(&sm, &mut third, Order::DeviceChange).unwrap_err();
    assert_eq!(e.exit_code(), 31, "{e}");
    third.types(&["24681357"]);
    run(&sm, &mut third, Order::DeviceChange).unwrap();
    assert!(third.holds(OP));
}

#[test]
fn the_bound_card_is_served_by_identity_without_parameter() {
    let (store, mut old) = provisioned();
    let sm = SmService::new(&store, Policy::default(), cred());
    // The profile was lost (say a memory reset): the bound card gets it back.
    old.installed.clear();
    old.types(&[]);
    let prompts = old.parameter_prompts;
    let rep = run(&sm, &mut old, Order::DeviceChange).unwrap();
    assert_eq!(rep.key_source, Some("identity"));
    assert_eq!(old.parameter_prompts, prompts);
    assert!(old.holds(OP));
    // Asking again while it holds it: the card refuses, the SM says so.
    let e = run(&sm, &mut old, Order::DeviceChange).unwrap_err();
    assert_eq!(e.exit_code(), 34, "{e}");

    // Another card that claims the bound EID but has another identity key must give
    // the parameter.
    let mut impostor = FakeCard::new(1, IMEI_OLD);
    impostor.types(&[]);
    let e = run(&sm, &mut impostor, Order::DeviceChange).unwrap_err();
    assert_eq!(impostor.parameter_prompts, 1, "asked for the parameter");
    assert_eq!(e.exit_code(), 42, "user ended the session: {e}");
}

#[test]
fn a_lost_install_answer_is_completed_by_the_bound_cards_retry() {
    let store = crate::sm::store::test_store();
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut card = FakeCard::new(1, IMEI_OLD);
    card.types(&["123456", "123456"]);
    // Flow A up to BF69: the card installs the profile, its answer never reaches the SM
    // (card-sim killed after its state write; tests/tests/faults_kill.rs).
    let (mut conv, mut req) = sm.start(provision_order(), card.eid).unwrap();
    loop {
        let install = matches!(req, DcRequest::InstallProfile { .. });
        let answer = card.answer(req);
        if install {
            break;
        }
        match sm.step(&mut conv, answer).unwrap() {
            Next::Send(r) => req = r,
            Next::Finished(_) => panic!("the flow finished before BF69"),
        }
    }
    assert!(card.holds(OP));
    let pending = store.get(OP).unwrap().unwrap().delivery;
    assert_eq!(pending, crate::sm::store::Delivery::Pending);
    // Provisioning again is refused; the bound card's device change finds the profile
    // on the card: still refused (nothing installed), but the record is now delivered.
    card.types(&["123456", "123456"]);
    let e = run(&sm, &mut card, provision_order()).unwrap_err();
    assert_eq!(e.exit_code(), 33, "{e}");
    card.types(&[]);
    let e = run(&sm, &mut card, Order::DeviceChange).unwrap_err();
    assert_eq!(e.exit_code(), 34, "{e}");
    match store.get(OP).unwrap().unwrap().delivery {
        crate::sm::store::Delivery::Delivered { eid, .. } => assert_eq!(eid, card.eid.to_string()),
        other => panic!("still {other:?}"),
    }
    assert!(
        actions(&store).iter().any(|a| a == "profile-delivered"),
        "{:?}",
        actions(&store)
    );
}

#[test]
fn three_failures_lock_durably_and_unlock_is_audited() {
    let dir = std::env::temp_dir().join(format!("sm-service-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sm.sqlite3");
    let mut old = FakeCard::new(1, IMEI_OLD);
    let mut new = FakeCard::new(2, IMEI_NEW);
    {
        let store = Store::open(&db).unwrap();
        let sm = SmService::new(&store, Policy::default(), cred());
        old.types(&["123456", "123456"]);
        run(&sm, &mut old, provision_order()).unwrap();
        for remaining in [2, 1] {
            new.types(&["999999"]);
            match run(&sm, &mut new, Order::DeviceChange) {
                Err(SmError::WrongParameter { remaining: r, .. }) => assert_eq!(r, remaining),
                other => panic!("{other:?}"),
            }
        }
        new.types(&["999999"]);
        let e = run(&sm, &mut new, Order::DeviceChange).unwrap_err();
        assert!(matches!(e, SmError::Locked { just_now: true, .. }), "{e}");
    }
    // A new process (store reopened): still locked, even with the right parameter,
    // which is not even asked for.
    let store = Store::open(&db).unwrap();
    let sm = SmService::new(&store, Policy::default(), cred());
    new.types(&["123456"]);
    let prompts = new.parameter_prompts;
    let e = run(&sm, &mut new, Order::DeviceChange).unwrap_err();
    assert!(
        matches!(
            e,
            SmError::Locked {
                just_now: false,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(new.parameter_prompts, prompts);
    let e = run(&sm, &mut new, Order::Rekey { kdf: None }).unwrap_err();
    assert_eq!(e.exit_code(), 32);
    store
        .unlock(OP, &crate::sm::store::Actor::Operator("test".into()))
        .unwrap();
    new.types(&["123456"]);
    run(&sm, &mut new, Order::DeviceChange).unwrap();
    let a = store.audit(OP).unwrap();
    assert!(a.iter().any(|e| e.action == AuditAction::Unlock));
    assert!(a
        .iter()
        .any(|e| e.action.as_str() == "request-refused" && e.details.contains("locked")));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replayed_answer_is_refused() {
    let (store, _old) = provisioned();
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut new = FakeCard::new(2, IMEI_NEW);
    new.types(&["123456"]);
    // Run a device change by hand and keep the BF68 answer.
    let (mut conv, req) = sm.start(Order::DeviceChange, new.eid).unwrap();
    let Next::Send(begin) = sm.step(&mut conv, new.answer(req)).unwrap() else {
        panic!("sync done")
    };
    let Next::Send(auth) = sm.step(&mut conv, new.answer(begin)).unwrap() else {
        panic!("BF68")
    };
    let captured = new.answer(auth);
    // The same answer twice in the same conversation is impossible (the phase moved
    // on); in a fresh conversation it meets a fresh challenge.
    let (mut conv2, req2) = sm.start(Order::DeviceChange, new.eid).unwrap();
    let Next::Send(begin2) = sm.step(&mut conv2, new.answer(req2)).unwrap() else {
        panic!("sync done")
    };
    let Next::Send(_auth2) = sm.step(&mut conv2, new.answer(begin2)).unwrap() else {
        panic!("BF68")
    };
    let e = sm.step(&mut conv2, captured.clone()).unwrap_err();
    // The card's signatures are over the old challenge: refused and counted as a failed
    // attempt (issue 10: a replayed signature is refused, counted, audited).
    assert!(
        matches!(e, SmError::WrongParameter { .. }),
        "replayed signature fails verification: {e}"
    );
    assert_eq!(store.get(OP).unwrap().unwrap().failures, 1);
    // And the captured answer in its own conversation after its challenge was burnt
    // by another use is refused as a replay.
    let AuthChallenge(ch) = auth_challenge(&conv);
    store
        .consume_challenge(
            &crate::sm::store::ChallengeSubject::OpId(OP.into()),
            crate::sm::store::Purpose::DeviceChange,
            &ch,
        )
        .unwrap();
    let e = sm.step(&mut conv, captured).unwrap_err();
    assert_eq!(e.exit_code(), 37, "{e}");
}

struct AuthChallenge(Vec<u8>);

fn auth_challenge(conv: &Conversation) -> AuthChallenge {
    match &conv.phase {
        conversation::Phase::Authenticate(a) => AuthChallenge(a.challenge.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_op_ids_and_card_errors_are_refusals() {
    let (store, _old) = provisioned();
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut new = FakeCard::new(2, IMEI_NEW);
    new.op_id_input = "+8613899999999".into();
    let e = run(&sm, &mut new, Order::DeviceChange).unwrap_err();
    assert_eq!(e.exit_code(), 30, "{e}");
    assert_eq!(store.audit("+8613899999999").unwrap().len(), 1);

    // A new parameter typed differently twice: the card's result code 3.
    let store = crate::sm::store::test_store();
    let sm = SmService::new(&store, Policy::default(), cred());
    let mut card = FakeCard::new(5, IMEI_OLD);
    card.types(&["123456", "654321"]);
    let e = run(&sm, &mut card, provision_order()).unwrap_err();
    assert_eq!(e.exit_code(), 43, "{e}");
    assert!(store.get(OP).unwrap().is_none());

    // A terminal with a bad IMEI.
    let mut bad = FakeCard::new(6, "490154203237519");
    bad.types(&["123456", "123456"]);
    let e = run(&sm, &mut bad, provision_order()).unwrap_err();
    assert_eq!(e.exit_code(), 36, "{e}");

    assert_eq!(check_op_id("12").unwrap_err().exit_code(), 2);
    assert!(check_op_id("+86abc").is_err());
    check_op_id("+8613800000001").unwrap();
}

#[test]
fn answers_of_the_wrong_function_are_protocol_errors() {
    let store = crate::sm::store::test_store();
    let sm = SmService::new(&store, Policy::default(), cred());
    let card = FakeCard::new(7, IMEI_OLD);
    let (mut conv, _req) = sm.start(Order::Sync, card.eid).unwrap();
    let e = sm
        .step(
            &mut conv,
            DcResponse::Removed {
                code: DcResult::Ok,
                signature: vec![0; 256],
            },
        )
        .unwrap_err();
    assert_eq!(e.exit_code(), 38, "{e}");
    // An identity proof signed by another card's key for this EID is refused.
    let (mut conv, req) = sm.start(Order::Sync, card.eid).unwrap();
    let DcRequest::Identity { challenge } = req else {
        panic!()
    };
    let other = FakeCard::new(8, IMEI_OLD);
    let forged = DcResponse::Identity {
        eid: card.eid,
        identity_key: card.identity.public_key().to_der(),
        signature: other.sign_id(&challenge, SYNC_OP_ID, SYNC_IMEI, &[]),
    };
    assert_eq!(sm.step(&mut conv, forged).unwrap_err().exit_code(), 35);
}

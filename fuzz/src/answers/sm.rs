//! The SM flows of the `sm_answers` target: `sm_cli::commands::method::drive` (the loop
//! `sm-cli sync` and `sm-cli device-change` run) with `sm_cli::sm::service::SmService`
//! on an in-memory store prepared for the fuzzed card, and the checks on the outcome:
//!
//! - sync: a removal is pending for the fuzzed card (its EID and identity key); it is
//!   closed in the store exactly when the flow succeeds, and only after the card
//!   answered BF6B with "removed" or "not found";
//! - device change: the subscription is bound to another card and its stored key is one
//!   whose private half the fuzzed card never uses for a parameter signature, so no
//!   answer may finish the flow or move the subscription to the fuzzed card. The card
//!   does prove its identity (BF6C, and the identity signature of BF68 is made valid
//!   here), so what stops it is the SM's check of the parameter signature;
//! - device change on the recorded device: the subscription is bound to the fuzzed card
//!   (EID and identity key), so the SM asks for the identity proof only and re-serves
//!   the profile sealed to the card's identity encryption key (BF6D, BF69 key source 1).
//!   The subscription stays bound to the fuzzed card; it is marked delivered only after
//!   the card answered BF69 with "installed" or "already installed", and always when
//!   the flow succeeds.
//!
//! Every sync first removes the moved profile (BF6D, BF6B). The SM's challenges are new
//! on every run, so the signed results of BF69 and BF6B (purpose install / removal
//! result, over the request's SM challenge) are made valid here too, with the fuzzed
//! card's identity key, whenever the answer's signature has the length of a real one:
//! the codes and ICCIDs stay the input's, and a signature of another length still
//! reaches the SM's refusal.

use super::operation::{answers, Operation, IMEI, OP_ID};
use crate::harness;
use apdu::crypto::signature::SIGNATURE_LEN;
use apdu::crypto::{result_binding, KdfParams, Purpose, SignedMessage};
use apdu::devchange::{DcRequest, DcResponse, DcResult, InstallResult, SYNC_IMEI};
use apdu::{Command, Eid, Response};
use sm_cli::commands::method::drive;
use sm_cli::errors::CliError;
use sm_cli::reader::Secrecy;
use sm_cli::sm::service::{Order, Policy, SmService};
use sm_cli::sm::store::{
    Actor, Delivery, Device, KeyMaterial, NewSubscription, OperatorProfile, SecretBytes, Store,
};
use sm_cli::terminal::{DcCard, Terminal};
use std::time::Duration;

/// The OP ID whose profile the fuzzed card still holds after it moved away.
pub const MOVED_OP_ID: &str = "+8613800000002";

/// The other card the subscriptions are (or end up) bound to.
fn other_card() -> Device {
    Device {
        imei: "356938035643809".into(),
        eid: Eid::test_eid(2).to_string(),
        identity_public_key: vec![0x30; 294],
    }
}

/// The fuzzed card as the SM records it.
fn fuzzed_card() -> Device {
    Device {
        imei: IMEI.into(),
        eid: harness::eid().to_string(),
        identity_public_key: harness::identity_key().public_key().to_der(),
    }
}

fn subscription(op_id: &str, iccid: &str, device: Device) -> NewSubscription {
    NewSubscription {
        op_id: op_id.into(),
        profile: OperatorProfile {
            iccid: iccid.into(),
            imsi: "460001234567890".into(),
            msisdn: op_id.into(),
            ki: SecretBytes::from_slice(&[0x11; 16]),
            opc: SecretBytes::from_slice(&[0x22; 16]),
            spn: "Example Mobile".into(),
            profile_name: "Example 5G".into(),
        },
        // The identity key's public half: the fuzzed card signs only identity proofs
        // (BF6C) with it, never the parameter signature a device change needs.
        key: KeyMaterial {
            public_key: harness::identity_key().public_key().to_der(),
            kdf_salt: vec![0x5A; 16],
            kdf_params: KdfParams::TEST.to_bytes().to_vec(),
        },
        device,
    }
}

/// The card `OP_ID` is bound to for `op`: the fuzzed card for
/// [`Operation::SmRecordedDevice`], the other card otherwise.
fn op_id_card(op: Operation) -> Device {
    match op {
        Operation::SmRecordedDevice => fuzzed_card(),
        _ => other_card(),
    }
}

/// A store with `OP_ID` bound to [`op_id_card`], and `MOVED_OP_ID` moved from the fuzzed
/// card to the other one (so a removal is pending for the fuzzed card).
pub fn store(op: Operation) -> Store {
    let store = Store::open_in_memory().expect("an in-memory store");
    let actor = Actor::Operator("fuzz".into());
    store
        .create_subscription(
            &subscription(OP_ID, "89860000000000000018", op_id_card(op)),
            &actor,
        )
        .expect("creating the bound subscription");
    store
        .create_subscription(
            &subscription(MOVED_OP_ID, "89860000000000000026", fuzzed_card()),
            &actor,
        )
        .expect("creating the moved subscription");
    store
        .change_device(MOVED_OP_ID, &other_card(), &actor)
        .expect("moving it away from the fuzzed card");
    store
}

/// The card as the flow uses it. It notes the result codes of the card's BF69 and BF6B
/// answers, makes the identity signature of a BF68 answer (DcAuthenticate) valid (the
/// fuzzed card holds its identity key, so what the SM must refuse is its parameter
/// signature) and the signed results of BF69 and BF6B (module docs).
struct Watched<'c, C: DcCard> {
    card: &'c mut C,
    removals: Vec<DcResult>,
    installs: Vec<DcResult>,
    /// The OP ID and SM challenge of the last BF69 or BF6B, which its result covers.
    result_for: Option<(String, Vec<u8>)>,
    /// The IMEI the card claimed in its last BF66 answer.
    imei: Option<String>,
    /// The OP ID, challenge and bound data (salt and KDF parameters) of the last BF68.
    authenticate: Option<(String, Vec<u8>, Vec<u8>)>,
}

impl<C: DcCard> Watched<'_, C> {
    /// The card's answer data `data`, with a valid identity signature when it is a BF68
    /// answer.
    fn honest_identity(&mut self, data: Vec<u8>) -> Vec<u8> {
        let (Some(imei), Some((op_id, challenge, bound))) = (&self.imei, &self.authenticate) else {
            return data;
        };
        let Ok(DcResponse::Authenticated {
            parameter_signature,
            encryption_key,
            ..
        }) = DcResponse::decode(&data)
        else {
            return data;
        };
        // An identity-only answer vouches for its encryption key too.
        let bound = match &encryption_key {
            Some(k) => apdu::crypto::encryption_key_binding(bound, k),
            None => bound.clone(),
        };
        let Ok(msg) = SignedMessage::new(
            Purpose::IdentityProof,
            challenge,
            op_id,
            harness::eid(),
            imei,
        )
        .and_then(|m| m.bound(&bound)) else {
            return data;
        };
        let identity_signature = harness::identity_key()
            .prove(&msg)
            .expect("signing the identity signature");
        DcResponse::Authenticated {
            parameter_signature,
            identity_signature,
            encryption_key,
        }
        .encode()
    }

    /// The fuzzed card's signature over the result `code` (and `iccid`) of the last
    /// BF69 / BF6B; `None` when `signature` does not have a real one's length or the
    /// request's values do not make a message (the SM refuses those anyway).
    fn honest_result(
        &self,
        purpose: Purpose,
        code: DcResult,
        iccid: Option<&[u8; 10]>,
        signature: &[u8],
    ) -> Option<Vec<u8>> {
        let (op_id, sm_challenge) = self.result_for.as_ref()?;
        if signature.len() != SIGNATURE_LEN {
            return None;
        }
        let bound = result_binding(code.code(), iccid);
        let msg = SignedMessage::new(purpose, sm_challenge, op_id, harness::eid(), SYNC_IMEI)
            .and_then(|m| m.bound(&bound))
            .ok()?;
        Some(
            harness::identity_key()
                .prove(&msg)
                .expect("signing the result"),
        )
    }
}

impl<C: DcCard> DcCard for Watched<'_, C> {
    fn store_data(
        &mut self,
        what: &str,
        msg: &[u8],
        secrecy: Secrecy,
    ) -> Result<Response, CliError> {
        let mut r = self.card.store_data(what, msg, secrecy)?;
        match DcRequest::decode(msg) {
            Ok(DcRequest::Authenticate {
                op_id,
                challenge,
                salt,
                kdf,
                ..
            }) => {
                let bound = apdu::crypto::kdf_binding(&salt, &kdf);
                self.authenticate = Some((op_id, challenge, bound))
            }
            Ok(DcRequest::Begin { .. }) => self.authenticate = None,
            Ok(
                DcRequest::InstallProfile { op_id, auth, .. }
                | DcRequest::RemoveProfile { op_id, auth, .. },
            ) => self.result_for = Some((op_id, auth.sm_challenge)),
            _ => {}
        }
        match DcResponse::decode(&r.data) {
            Ok(DcResponse::Removed { code, signature }) => {
                self.removals.push(code);
                if let Some(signature) =
                    self.honest_result(Purpose::RemovalResult, code, None, &signature)
                {
                    r.data = DcResponse::Removed { code, signature }.encode();
                }
            }
            Ok(DcResponse::Installed(i)) => {
                self.installs.push(i.code);
                let iccid = i.iccid.map(|c| c.0);
                if let Some(signature) =
                    self.honest_result(Purpose::InstallResult, i.code, iccid.as_ref(), &i.signature)
                {
                    r.data = DcResponse::Installed(InstallResult { signature, ..i }).encode();
                }
            }
            Ok(DcResponse::Begun { imei, .. }) => self.imei = Some(imei),
            Ok(DcResponse::Authenticated { .. }) => r.data = self.honest_identity(r.data),
            _ => {}
        }
        Ok(r)
    }

    fn command(&mut self, cmd: &Command, secrecy: Secrecy) -> Result<Response, CliError> {
        self.card.command(cmd, secrecy)
    }
}

/// Runs the SM flow of `op` with `card` and checks its outcome (module docs).
pub fn flow<C: DcCard>(op: Operation, card: &mut C) -> Result<(), CliError> {
    let store = store(op);
    let credential = sm_cli::sm::credential::SmCredential::test().expect("the test credential");
    let sm = SmService::new(&store, Policy::default(), &credential);
    let eid = harness::eid();
    let order = match op {
        Operation::SmDeviceChange | Operation::SmRecordedDevice => Order::DeviceChange,
        _ => Order::Sync,
    };
    let mut card = Watched {
        card,
        removals: Vec::new(),
        installs: Vec::new(),
        result_for: None,
        imei: None,
        authenticate: None,
    };
    let mut terminal = Terminal::new(&mut card, answers());
    let mut sm_time = Duration::ZERO;
    let result = drive(&sm, &mut terminal, order, eid, &mut sm_time);
    drop(terminal);
    let pending = store
        .pending_removals_for(&eid.to_string())
        .expect("reading the removals");
    for (op_id, device) in [(OP_ID, op_id_card(op)), (MOVED_OP_ID, other_card())] {
        let bound = store
            .get(op_id)
            .expect("reading the subscription")
            .expect("the subscription exists");
        assert_eq!(
            bound.device.eid, device.eid,
            "a fuzzed answer moved {op_id} to another card"
        );
    }
    let delivered = matches!(
        store
            .get(OP_ID)
            .expect("reading the subscription")
            .map(|s| s.delivery),
        Some(Delivery::Delivered { .. })
    );
    if delivered {
        assert!(
            matches!(
                card.installs.last(),
                Some(DcResult::Ok | DcResult::AlreadyInstalled)
            ),
            "marked delivered without the card's installed / already installed: {:?}",
            card.installs
        );
    }
    if pending.is_empty() {
        assert!(
            matches!(
                card.removals.last(),
                Some(DcResult::Ok | DcResult::NotFound)
            ),
            "a removal was closed without the card's removed / not found: {:?}",
            card.removals
        );
    }
    match op {
        Operation::SmDeviceChange => {
            assert!(
                result.is_err(),
                "a device change finished without a parameter proof"
            );
        }
        Operation::SmRecordedDevice => {
            if result.is_ok() {
                assert!(delivered, "re-served but not marked delivered");
                assert!(pending.is_empty(), "re-served before the sync's removal");
            }
        }
        _ => assert_eq!(
            pending.is_empty(),
            result.is_ok(),
            "the removal is closed exactly when the sync succeeds ({result:?})"
        ),
    }
    result.map(drop)
}

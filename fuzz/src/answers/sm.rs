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
//!   here), so what stops it is the SM's check of the parameter signature.

use super::operation::{answers, Operation, IMEI, OP_ID};
use crate::harness;
use apdu::crypto::{KdfParams, Purpose, SignedMessage};
use apdu::devchange::{DcRequest, DcResponse, DcResult};
use apdu::{Command, Eid, Response};
use sm_cli::commands::method::drive;
use sm_cli::errors::CliError;
use sm_cli::reader::Secrecy;
use sm_cli::sm::service::{Order, Policy, SmService};
use sm_cli::sm::store::{
    Actor, Device, KeyMaterial, NewSubscription, OperatorProfile, SecretBytes, Store,
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

/// A store with `OP_ID` bound to the other card, and `MOVED_OP_ID` moved from the fuzzed
/// card to the other one (so a removal is pending for the fuzzed card).
pub fn store() -> Store {
    let store = Store::open_in_memory().expect("an in-memory store");
    let actor = Actor::Operator("fuzz".into());
    store
        .create_subscription(
            &subscription(OP_ID, "89860000000000000018", other_card()),
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

/// The card as the flow uses it. It notes the result codes of the card's BF6B answers,
/// and makes the identity signature of a BF68 answer (DcAuthenticate) valid: the fuzzed
/// card holds its identity key, so what the SM must refuse is its parameter signature.
struct Watched<'c, C: DcCard> {
    card: &'c mut C,
    removals: Vec<DcResult>,
    /// The IMEI the card claimed in its last BF66 answer.
    imei: Option<String>,
    /// The OP ID, challenge and bound data (salt and KDF parameters) of the last BF68.
    authenticate: Option<(String, Vec<u8>, Vec<u8>)>,
}

impl<C: DcCard> Watched<'_, C> {
    /// The card's answer data `data`, with a valid identity signature when it is a BF68
    /// answer.
    fn honest_identity(&mut self, data: Vec<u8>) -> Vec<u8> {
        let (Some(imei), Some((op_id, challenge, bound))) = (&self.imei, &self.authenticate)
        else {
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
            _ => {}
        }
        match DcResponse::decode(&r.data) {
            Ok(DcResponse::Removed { code, .. }) => self.removals.push(code),
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
    let store = store();
    let credential = sm_cli::sm::credential::SmCredential::test().expect("the test credential");
    let sm = SmService::new(&store, Policy::default(), &credential);
    let eid = harness::eid();
    let order = match op {
        Operation::SmDeviceChange => Order::DeviceChange,
        _ => Order::Sync,
    };
    let mut card = Watched {
        card,
        removals: Vec::new(),
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
    for op_id in [OP_ID, MOVED_OP_ID] {
        let bound = store
            .get(op_id)
            .expect("reading the subscription")
            .expect("the subscription exists");
        assert_eq!(
            bound.device.eid,
            other_card().eid,
            "a fuzzed answer moved {op_id} to another card"
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
        _ => assert_eq!(
            pending.is_empty(),
            result.is_ok(),
            "the removal is closed exactly when the sync succeeds ({result:?})"
        ),
    }
    result.map(drop)
}

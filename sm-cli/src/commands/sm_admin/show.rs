//! `sm-cli sm show OPID`: one subscription as the operator sees it: the profile without
//! its secrets (Ki and OPc are never shown), key and KDF, device and previous device,
//! counters, delivery, pending removals and the binding history.

use super::fields::{delivery, sm_err};
use crate::errors::CliError;
use crate::output::{rows, Report};
use crate::sm::service::report::kdf_profile_name;
use crate::sm::store::{Delivery, Device, Store, Subscription};
use apdu::crypto::{KdfParams, PublicKey};
use serde::{Deserialize, Serialize};

fn fingerprint(der: &[u8]) -> String {
    PublicKey::from_der(der)
        .map(|k| k.fingerprint().to_string())
        .unwrap_or_else(|_| format!("<unreadable, {} bytes>", der.len()))
}

#[derive(Debug, Serialize, Deserialize)]
struct DeviceView {
    imei: String,
    eid: String,
    identity_key_sha256: String,
}

impl From<&Device> for DeviceView {
    fn from(d: &Device) -> DeviceView {
        DeviceView {
            imei: d.imei.clone(),
            eid: d.eid.clone(),
            identity_key_sha256: fingerprint(&d.identity_public_key),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct BindingView {
    imei: String,
    eid: String,
    state: String,
    started_at: String,
    stopped_at: Option<String>,
    stop_reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Show {
    op_id: String,
    iccid: String,
    imsi: String,
    msisdn: String,
    spn: String,
    profile_name: String,
    public_key_sha256: String,
    kdf: String,
    kdf_salt: String,
    device: DeviceView,
    previous_device: Option<DeviceView>,
    failures: u32,
    total_failures: u64,
    locked: bool,
    locked_at: Option<String>,
    delivery: String,
    delivered_at: Option<String>,
    pending_removals: Vec<String>,
    bindings: Vec<BindingView>,
    created_at: String,
    updated_at: String,
}

fn kdf_text(bytes: &[u8]) -> String {
    match KdfParams::from_bytes(bytes) {
        Ok(k) => format!(
            "{} (argon2id, {} KiB, t={}, p={})",
            kdf_profile_name(&k),
            k.memory_kib(),
            k.time_cost(),
            k.parallelism()
        ),
        Err(_) => format!("<unreadable: {}>", hex::encode(bytes)),
    }
}

impl Show {
    pub(super) fn new(s: Subscription, store: &Store) -> Result<Show, CliError> {
        let bindings = store
            .bindings(&s.op_id)
            .map_err(sm_err)?
            .into_iter()
            .map(|b| BindingView {
                imei: b.imei,
                eid: b.eid,
                state: b.state.as_str().to_string(),
                started_at: b.started_at,
                stopped_at: b.stopped_at,
                stop_reason: b.stop_reason,
            })
            .collect();
        let delivered_at = match &s.delivery {
            Delivery::Delivered { at, .. } => Some(at.clone()),
            Delivery::Pending => None,
        };
        Ok(Show {
            iccid: s.profile.iccid.clone(),
            imsi: s.profile.imsi.clone(),
            msisdn: s.profile.msisdn.clone(),
            spn: s.profile.spn.clone(),
            profile_name: s.profile.profile_name.clone(),
            public_key_sha256: fingerprint(&s.key.public_key),
            kdf: kdf_text(&s.key.kdf_params),
            kdf_salt: hex::encode(&s.key.kdf_salt),
            device: DeviceView::from(&s.device),
            previous_device: s
                .previous_device
                .as_ref()
                .map(|p| DeviceView::from(&p.device)),
            failures: s.failures,
            total_failures: s.total_failures,
            locked: s.locked,
            locked_at: s.locked_at.clone(),
            delivery: delivery(&s.delivery),
            delivered_at,
            pending_removals: s
                .pending_removals
                .iter()
                .map(|r| {
                    format!(
                        "ICCID {} on EID {} (since {})",
                        r.iccid, r.eid, r.requested_at
                    )
                })
                .collect(),
            bindings,
            created_at: s.created_at.clone(),
            updated_at: s.updated_at.clone(),
            op_id: s.op_id,
        })
    }
}

impl Report for Show {
    fn human(&self) -> String {
        let mut r = vec![
            ("OP ID", self.op_id.clone()),
            ("ICCID", self.iccid.clone()),
            ("IMSI", self.imsi.clone()),
            ("MSISDN", self.msisdn.clone()),
            ("SPN", self.spn.clone()),
            ("Profile name", self.profile_name.clone()),
            ("Ki, OPc", "<secret, not shown>".into()),
            ("Public key", format!("sha256 {}", self.public_key_sha256)),
            ("KDF", self.kdf.clone()),
            ("KDF salt", self.kdf_salt.clone()),
            ("Device IMEI", self.device.imei.clone()),
            ("Device EID", self.device.eid.clone()),
            (
                "Identity key",
                format!("sha256 {}", self.device.identity_key_sha256),
            ),
        ];
        if let Some(p) = &self.previous_device {
            r.push(("Previous device", format!("IMEI {} EID {}", p.imei, p.eid)));
        }
        r.push((
            "Failures",
            format!(
                "{} consecutive, {} in all",
                self.failures, self.total_failures
            ),
        ));
        r.push((
            "Locked",
            match (&self.locked, &self.locked_at) {
                (true, Some(at)) => format!("yes, since {at}"),
                (true, None) => "yes".into(),
                _ => "no".into(),
            },
        ));
        r.push((
            "Delivery",
            match &self.delivered_at {
                Some(at) => format!("{} ({at})", self.delivery),
                None => self.delivery.clone(),
            },
        ));
        for p in &self.pending_removals {
            r.push(("Removal pending", p.clone()));
        }
        for b in &self.bindings {
            r.push((
                "Binding",
                format!(
                    "{} IMEI {} EID {} from {}{}",
                    b.state,
                    b.imei,
                    b.eid,
                    b.started_at,
                    b.stopped_at
                        .as_ref()
                        .map(|s| format!(
                            " to {s} ({})",
                            b.stop_reason.as_deref().unwrap_or("stopped")
                        ))
                        .unwrap_or_default()
                ),
            ));
        }
        r.push(("Created", self.created_at.clone()));
        r.push(("Updated", self.updated_at.clone()));
        rows(&r)
    }
}

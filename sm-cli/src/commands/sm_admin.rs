//! `sm-cli sm list | show OPID | audit OPID | unlock OPID` (issue 3, CLI: "for the
//! operator"): the SM's records, read from the store at `--sm-db`, without a card.
//! Ki and OPc are never shown; `unlock` is audited with the operator's name.

use crate::commands::method::open_store;
use crate::commands::App;
use crate::errors::CliError;
use crate::output::{rows, table, Report};
use crate::sm::service::report::kdf_profile_name;
use crate::sm::service::SmError;
use crate::sm::store::{Actor, Delivery, Store, Subscription};
use apdu::crypto::{KdfParams, PublicKey};
use clap::Subcommand;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum SmCmd {
    /// List the subscriptions
    List,
    /// Show one subscription: profile (without its secrets), key, device, counters
    Show {
        /// The OP ID (phone number)
        op_id: String,
    },
    /// Show the audit log of one subscription
    Audit {
        /// The OP ID (phone number)
        op_id: String,
    },
    /// Lift the lock after 3 failed authentications (audited)
    Unlock {
        /// The OP ID (phone number)
        op_id: String,
        /// Who unlocks, for the audit log (default: $USER)
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
    },
}

fn sm_err(e: crate::sm::store::StoreError) -> CliError {
    CliError::Sm(SmError::from(e))
}

fn delivery(d: &Delivery) -> String {
    match d {
        Delivery::Pending => "pending".into(),
        Delivery::Delivered { .. } => "delivered".into(),
    }
}

fn fingerprint(der: &[u8]) -> String {
    PublicKey::from_der(der)
        .map(|k| k.fingerprint().to_string())
        .unwrap_or_else(|_| format!("<unreadable, {} bytes>", der.len()))
}

#[derive(Serialize)]
struct ListView {
    op_id: String,
    iccid: String,
    imei: String,
    eid: String,
    failures: u32,
    locked: bool,
    delivery: String,
    pending_removals: u32,
    updated_at: String,
}

#[derive(Serialize)]
struct List {
    subscriptions: Vec<ListView>,
}

impl Report for List {
    fn human(&self) -> String {
        if self.subscriptions.is_empty() {
            return "No subscriptions.".into();
        }
        let body: Vec<Vec<String>> = self
            .subscriptions
            .iter()
            .map(|s| {
                vec![
                    s.op_id.clone(),
                    s.iccid.clone(),
                    s.imei.clone(),
                    s.eid.clone(),
                    s.failures.to_string(),
                    if s.locked { "LOCKED" } else { "" }.into(),
                    s.delivery.clone(),
                    s.pending_removals.to_string(),
                ]
            })
            .collect();
        table(
            &[
                "OP ID", "ICCID", "IMEI", "EID", "FAIL", "LOCK", "DELIVERY", "REMOVALS",
            ],
            &body,
        )
    }
}

#[derive(Serialize)]
struct DeviceView {
    imei: String,
    eid: String,
    identity_key_sha256: String,
}

#[derive(Serialize)]
struct BindingView {
    imei: String,
    eid: String,
    state: &'static str,
    started_at: String,
    stopped_at: Option<String>,
    stop_reason: Option<String>,
}

#[derive(Serialize)]
struct Show {
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
    fn new(s: Subscription, store: &Store) -> Result<Show, CliError> {
        let bindings = store
            .bindings(&s.op_id)
            .map_err(sm_err)?
            .into_iter()
            .map(|b| BindingView {
                imei: b.imei,
                eid: b.eid,
                state: b.state.as_str(),
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
            device: DeviceView {
                imei: s.device.imei.clone(),
                eid: s.device.eid.clone(),
                identity_key_sha256: fingerprint(&s.device.identity_public_key),
            },
            previous_device: s.previous_device.as_ref().map(|p| DeviceView {
                imei: p.device.imei.clone(),
                eid: p.device.eid.clone(),
                identity_key_sha256: fingerprint(&p.device.identity_public_key),
            }),
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

#[derive(Serialize)]
struct AuditView {
    at: String,
    actor: String,
    action: String,
    result: &'static str,
    details: String,
}

#[derive(Serialize)]
struct Audit {
    op_id: String,
    entries: Vec<AuditView>,
}

impl Report for Audit {
    fn human(&self) -> String {
        if self.entries.is_empty() {
            return format!("No audit entries for {}.", self.op_id);
        }
        let body: Vec<Vec<String>> = self
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.result.into(),
                    e.details.clone(),
                ]
            })
            .collect();
        table(&["AT", "ACTOR", "ACTION", "RESULT", "DETAILS"], &body)
    }
}

#[derive(Serialize)]
struct Unlocked {
    op_id: String,
    operator: String,
    failures_cleared: u32,
}

impl Report for Unlocked {
    fn human(&self) -> String {
        format!(
            "Unlocked {} ({} failed attempt(s) cleared, by {})",
            self.op_id, self.failures_cleared, self.operator
        )
    }
}

fn get(store: &Store, op_id: &str) -> Result<Subscription, CliError> {
    store
        .get(op_id)
        .map_err(sm_err)?
        .ok_or_else(|| CliError::Sm(SmError::UnknownOpId(op_id.to_string())))
}

pub fn run(app: &App, cmd: SmCmd) -> Result<(), CliError> {
    let store = open_store(app)?;
    match cmd {
        SmCmd::List => {
            let subscriptions = store
                .list()
                .map_err(sm_err)?
                .into_iter()
                .map(|s| ListView {
                    delivery: delivery(&s.delivery),
                    op_id: s.op_id,
                    iccid: s.iccid,
                    imei: s.imei,
                    eid: s.eid,
                    failures: s.failures,
                    locked: s.locked,
                    pending_removals: s.pending_removals,
                    updated_at: s.updated_at,
                })
                .collect();
            app.out.emit(&List { subscriptions })
        }
        SmCmd::Show { op_id } => {
            let s = get(&store, &op_id)?;
            app.out.emit(&Show::new(s, &store)?)
        }
        SmCmd::Audit { op_id } => {
            let entries: Vec<AuditView> = store
                .audit(&op_id)
                .map_err(sm_err)?
                .into_iter()
                .map(|e| AuditView {
                    at: e.at,
                    actor: e.actor.to_string(),
                    action: e.action.as_str().to_string(),
                    result: e.result.as_str(),
                    details: e.details,
                })
                .collect();
            if entries.is_empty() {
                get(&store, &op_id)?;
            }
            app.out.emit(&Audit { op_id, entries })
        }
        SmCmd::Unlock { op_id, operator } => {
            let name = operator
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_default();
            let actor = Actor::Operator(name);
            let failures_cleared = store.unlock(&op_id, &actor).map_err(|e| match e {
                crate::sm::store::StoreError::NotLocked(op) => {
                    CliError::Usage(format!("subscription {op} is not locked: nothing to do"))
                }
                e => sm_err(e),
            })?;
            app.out.emit(&Unlocked {
                op_id,
                operator: actor.to_string(),
                failures_cleared,
            })
        }
    }
}

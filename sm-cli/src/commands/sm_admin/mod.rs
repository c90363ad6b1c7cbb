//! `sm-cli sm list | show OPID | audit OPID | unlock OPID` (issue 3, CLI: "for the
//! operator"): the SM's records, read from the store at `--sm-db`, without a card.
//! Ki and OPc are never shown (`show`); `unlock` is audited with the operator's name.

mod fields;
mod show;

use crate::commands::method::open_existing_store;
use crate::context::App;
use crate::errors::CliError;
use crate::output::{listing, Report};
use crate::sm::service::SmError;
use crate::sm::store::{Actor, Store, Subscription};
use clap::Subcommand;
use fields::{delivery, sm_err};
use serde::Serialize;
use show::Show;

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
        listing(
            &self.subscriptions,
            "No subscriptions.",
            &[
                "OP ID", "ICCID", "IMEI", "EID", "FAIL", "LOCK", "DELIVERY", "REMOVALS",
            ],
            |s| {
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
            },
        )
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
        listing(
            &self.entries,
            &format!("No audit entries for {}.", self.op_id),
            &["AT", "ACTOR", "ACTION", "RESULT", "DETAILS"],
            |e| {
                vec![
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.result.into(),
                    e.details.clone(),
                ]
            },
        )
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
    let store = open_existing_store(app)?;
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

//! The operator commands' reports and the functions that build them from the store
//! (`sm list | show | audit | unlock`): used by the local commands ([`super`]) and by
//! the remote SM's admin endpoints (`crate::sm::remote::admin`), so both print the
//! same. The clap subcommands are here too, so that [`super::remote`] needs only this
//! file.

use super::fields::{delivery, sm_err};
pub(crate) use super::show::Show;
use crate::errors::CliError;
use crate::output::{listing, Report};
use crate::sm::service::SmError;
use crate::sm::store::{Actor, Store, Subscription};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ListView {
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

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct List {
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

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AuditView {
    at: String,
    actor: String,
    action: String,
    result: String,
    details: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Audit {
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
                    e.result.clone(),
                    e.details.clone(),
                ]
            },
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Unlocked {
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

/// `sm list`.
pub(crate) fn list(store: &Store) -> Result<List, CliError> {
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
    Ok(List { subscriptions })
}

/// `sm show OPID`.
pub(crate) fn show(store: &Store, op_id: &str) -> Result<Show, CliError> {
    let s = get(store, op_id)?;
    Show::new(s, store)
}

/// `sm audit OPID`.
pub(crate) fn audit(store: &Store, op_id: &str) -> Result<Audit, CliError> {
    let entries: Vec<AuditView> = store
        .audit(op_id)
        .map_err(sm_err)?
        .into_iter()
        .map(|e| AuditView {
            at: e.at,
            actor: e.actor.to_string(),
            action: e.action.as_str().to_string(),
            result: e.result.as_str().to_string(),
            details: e.details,
        })
        .collect();
    if entries.is_empty() {
        get(store, op_id)?;
    }
    Ok(Audit {
        op_id: op_id.to_string(),
        entries,
    })
}

/// `sm unlock OPID`: by `operator`, audited with `via` after the details when given
/// (the remote SM's `remote`).
pub(crate) fn unlock(
    store: &Store,
    op_id: &str,
    operator: String,
    via: Option<&str>,
) -> Result<Unlocked, CliError> {
    let actor = Actor::Operator(operator);
    let failures_cleared = store.unlock_via(op_id, &actor, via).map_err(|e| match e {
        crate::sm::store::StoreError::NotLocked(op) => {
            CliError::Usage(format!("subscription {op} is not locked: nothing to do"))
        }
        e => sm_err(e),
    })?;
    Ok(Unlocked {
        op_id: op_id.to_string(),
        operator: actor.to_string(),
        failures_cleared,
    })
}

/// The operator's name: `--operator`, else `$USER`, else none.
pub(crate) fn operator_name(operator: Option<String>) -> String {
    operator
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default()
}

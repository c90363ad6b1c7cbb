//! The audit log (issue 3: "an audit log of every step (who, when, result)"): who acted
//! ([`Actor`]), what ([`AuditAction`]), how it ended ([`AuditResult`]) and free-text
//! details that never carry secrets. Rows are append-only (the schema refuses UPDATE
//! and DELETE); every mutating store call writes its rows in its own transaction.
//!
//! Rows are keyed by OP ID without a foreign key, so requests for unknown OP IDs can be
//! logged too.

use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::stored_words;
use super::validate;
use super::Store;
use std::fmt;
use zeroize::Zeroizing;

/// Who performed a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The subscription manager itself (`sm`).
    Sm,
    /// A human operator (`operator` or `operator:<name>`).
    Operator(String),
    /// A card, by EID (`card:<EID>`).
    Card(String),
    /// A terminal, by IMEI (`terminal:<IMEI>`).
    Terminal(String),
}

impl Actor {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        match self {
            Actor::Sm => Ok(()),
            Actor::Operator(name) if name.is_empty() => Ok(()),
            Actor::Operator(name) => validate::id("operator name", name),
            Actor::Card(eid) => validate::id("actor EID", eid),
            Actor::Terminal(imei) => validate::id("actor IMEI", imei),
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Actor, StoreError> {
        match s.split_once(':') {
            None if s == "sm" => Ok(Actor::Sm),
            None if s == "operator" => Ok(Actor::Operator(String::new())),
            Some(("operator", name)) => Ok(Actor::Operator(name.to_string())),
            Some(("card", eid)) => Ok(Actor::Card(eid.to_string())),
            Some(("terminal", imei)) => Ok(Actor::Terminal(imei.to_string())),
            _ => Err(StoreError::Corrupt(format!("audit actor {s:?}"))),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Sm => f.write_str("sm"),
            Actor::Operator(name) if name.is_empty() => f.write_str("operator"),
            Actor::Operator(name) => write!(f, "operator:{name}"),
            Actor::Card(eid) => write!(f, "card:{eid}"),
            Actor::Terminal(imei) => write!(f, "terminal:{imei}"),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAction {
    Provision,
    AuthFailure,
    AuthSuccess,
    Lock,
    Unlock,
    DeviceChange,
    Rekey,
    BindingStarted,
    BindingStopped,
    ProfileDelivered,
    RemovalRequested,
    RemovalCancelled,
    OldProfileRemoved,
    /// Any other step a flow wants on record: lowercase letters, digits and `-`.
    Other(String),
}

impl AuditAction {
    pub fn as_str(&self) -> &str {
        match self {
            AuditAction::Provision => "provision",
            AuditAction::AuthFailure => "auth-failure",
            AuditAction::AuthSuccess => "auth-success",
            AuditAction::Lock => "lock",
            AuditAction::Unlock => "unlock",
            AuditAction::DeviceChange => "device-change",
            AuditAction::Rekey => "rekey",
            AuditAction::BindingStarted => "binding-started",
            AuditAction::BindingStopped => "binding-stopped",
            AuditAction::ProfileDelivered => "profile-delivered",
            AuditAction::RemovalRequested => "removal-requested",
            AuditAction::RemovalCancelled => "removal-cancelled",
            AuditAction::OldProfileRemoved => "old-profile-removed",
            AuditAction::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> AuditAction {
        const KNOWN: [AuditAction; 13] = [
            AuditAction::Provision,
            AuditAction::AuthFailure,
            AuditAction::AuthSuccess,
            AuditAction::Lock,
            AuditAction::Unlock,
            AuditAction::DeviceChange,
            AuditAction::Rekey,
            AuditAction::BindingStarted,
            AuditAction::BindingStopped,
            AuditAction::ProfileDelivered,
            AuditAction::RemovalRequested,
            AuditAction::RemovalCancelled,
            AuditAction::OldProfileRemoved,
        ];
        KNOWN
            .into_iter()
            .find(|a| a.as_str() == s)
            .unwrap_or_else(|| AuditAction::Other(s.to_string()))
    }

    fn validate(&self) -> Result<(), StoreError> {
        if let AuditAction::Other(s) = self {
            let ok = !s.is_empty()
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(StoreError::invalid(
                    "audit action",
                    "1 to 32 characters of a-z, 0-9 and '-'",
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditResult {
    Ok,
    /// The SM said no (wrong signature, locked, unknown OP ID, ...).
    Refused,
    /// Something broke (card error, I/O).
    Failed,
}

stored_words!(AuditResult, "audit result", {
    Ok => "ok",
    Refused => "refused",
    Failed => "failed",
});

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub op_id: String,
    /// RFC 3339 UTC.
    pub at: String,
    pub actor: Actor,
    pub action: AuditAction,
    pub result: AuditResult,
    pub details: String,
}

/// Writes one audit row inside the caller's transaction; returns its id.
pub(crate) fn insert(
    tx: &Tx<'_>,
    now: &Now,
    op_id: &str,
    actor: &Actor,
    action: &AuditAction,
    result: AuditResult,
    details: &str,
) -> Result<i64, StoreError> {
    tx.query_one(
        "INSERT INTO audit (op_id, at, actor, action, result, details) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![
            op_id,
            now.text,
            actor.to_string(),
            action.as_str(),
            result.as_str(),
            details
        ],
        |r| r.get(0),
    )
}

/// True if `details` contains the hex form of the subscription's Ki or OPc, in either
/// case: a caller mistake that must not reach the log.
fn leaks_secret(tx: &Tx<'_>, op_id: &str, details: &str) -> Result<bool, StoreError> {
    if details.len() < 32 {
        return Ok(false);
    }
    type Secret = Zeroizing<Vec<u8>>;
    let secrets: Option<(Secret, Secret)> = tx.query_opt(
        "SELECT ki, opc FROM subscriptions WHERE op_id = ?1",
        args![op_id],
        |r| Ok((Zeroizing::new(r.get(0)?), Zeroizing::new(r.get(1)?))),
    )?;
    let Some((ki, opc)) = secrets else {
        return Ok(false);
    };
    let ki = Zeroizing::new(hex::encode(ki.as_slice()));
    let opc = Zeroizing::new(hex::encode(opc.as_slice()));
    let lowered = Zeroizing::new(details.to_ascii_lowercase());
    Ok(lowered.contains(ki.as_str()) || lowered.contains(opc.as_str()))
}

impl Store {
    /// The audit log of one OP ID, oldest first.
    pub fn audit(&self, op_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|tx| {
            tx.query_all(
                "SELECT id, op_id, at, actor, action, result, details FROM audit \
                 WHERE op_id = ?1 ORDER BY id",
                args![op_id],
                |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        op_id: r.get(1)?,
                        at: r.get(2)?,
                        actor: Actor::parse(&r.get::<String>(3)?)?,
                        action: AuditAction::parse(&r.get::<String>(4)?),
                        result: AuditResult::parse(&r.get::<String>(5)?)?,
                        details: r.get(6)?,
                    })
                },
            )
        })
    }
    /// Records a step the store does not record by itself (a refusal, a re-served
    /// profile, ...). `op_id` need not exist: probes for unknown OP IDs are worth
    /// keeping. Refuses details that contain the record's Ki or OPc in hex.
    pub fn append_audit(
        &self,
        op_id: &str,
        actor: &Actor,
        action: AuditAction,
        result: AuditResult,
        details: &str,
    ) -> Result<i64, StoreError> {
        validate::id("OP ID", op_id)?;
        actor.validate()?;
        action.validate()?;
        validate::text("audit details", details, validate::MAX_DETAILS_LEN, true)?;
        self.write(|tx, now| {
            if leaks_secret(tx, op_id, details)? {
                return Err(StoreError::invalid(
                    "audit details",
                    "contains the subscription's Ki or OPc",
                ));
            }
            insert(tx, now, op_id, actor, &action, result, details)
        })
    }
}

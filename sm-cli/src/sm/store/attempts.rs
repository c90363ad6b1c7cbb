//! The durable attempt counter and lock (spec B.6 and C.3: at most 3 attempts, [0155],
//! [0192]; spec "Attempt counters are durable"). Each call is one `BEGIN IMMEDIATE`
//! transaction whose increment happens in SQL, so parallel processes never lose a
//! failure; the lifetime count only grows (a trigger enforces it). A success resets
//! the consecutive count but never lifts a lock: only an operator's `unlock` does.

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::error::StoreError;
use super::model::{FailureOutcome, Purpose};
use super::Store;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Counts one failed authentication; the `max_attempts`-th consecutive failure
    /// locks the record (use [`super::MAX_ATTEMPTS`]). Failures on a locked record are
    /// still counted and audited. Audited as `auth-failure`, plus `lock` when this
    /// failure locks.
    pub fn record_failure(
        &self,
        op_id: &str,
        actor: &Actor,
        purpose: Purpose,
        max_attempts: u32,
    ) -> Result<FailureOutcome, StoreError> {
        actor.validate()?;
        if max_attempts == 0 {
            return Err(StoreError::invalid("max attempts", "must be at least 1"));
        }
        self.write(|tx, now| {
            let was_locked: bool = tx
                .prepare_cached("SELECT locked FROM subscriptions WHERE op_id = ?1")?
                .query_row([op_id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            let (attempts, total, locked): (i64, i64, bool) = tx
                .prepare_cached(
                    "UPDATE subscriptions SET failures = failures + 1, \
                     total_failures = total_failures + 1, \
                     locked = CASE WHEN failures + 1 >= ?2 THEN 1 ELSE locked END, \
                     locked_at = CASE WHEN locked = 0 AND failures + 1 >= ?2 THEN ?3 ELSE locked_at END, \
                     updated_at = ?3 \
                     WHERE op_id = ?1 RETURNING failures, total_failures, locked",
                )?
                .query_row(params![op_id, max_attempts, now.text], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            let attempts = u32::try_from(attempts)
                .map_err(|_| StoreError::Corrupt(format!("failure count {attempts}")))?;
            let total_failures = u64::try_from(total)
                .map_err(|_| StoreError::Corrupt(format!("total failures {total}")))?;
            let newly_locked = locked && !was_locked;
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::AuthFailure,
                AuditResult::Refused,
                &format!("{purpose}: attempt {attempts} of {max_attempts}"),
            )?;
            if newly_locked {
                audit::insert(
                    tx,
                    now,
                    op_id,
                    &Actor::Sm,
                    &AuditAction::Lock,
                    AuditResult::Ok,
                    &format!("locked after {attempts} failed authentications"),
                )?;
            }
            Ok(FailureOutcome {
                attempts,
                max_attempts,
                total_failures,
                locked,
                newly_locked,
            })
        })
    }

    /// Counts a successful authentication: resets the consecutive failures and audits
    /// `auth-success`. Refused with [`StoreError::Locked`] if the record was locked in
    /// the meantime (e.g. by another process), so a verification that started before
    /// the lock cannot lift it. Returns the number of failures cleared.
    pub fn record_success(
        &self,
        op_id: &str,
        actor: &Actor,
        purpose: Purpose,
    ) -> Result<u32, StoreError> {
        actor.validate()?;
        self.write(|tx, now| {
            let (failures, locked) = tx
                .prepare_cached("SELECT failures, locked FROM subscriptions WHERE op_id = ?1")?
                .query_row([op_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)))
                .optional()?
                .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            if locked {
                return Err(StoreError::Locked(op_id.to_string()));
            }
            tx.prepare_cached(
                "UPDATE subscriptions SET failures = 0, updated_at = ?2 WHERE op_id = ?1",
            )?
            .execute(params![op_id, now.text])?;
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::AuthSuccess,
                AuditResult::Ok,
                &format!("{purpose}: {failures} earlier failure(s) cleared"),
            )?;
            u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt(format!("failure count {failures}")))
        })
    }

    /// Whether the record is locked.
    pub fn is_locked(&self, op_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT locked FROM subscriptions WHERE op_id = ?1")?
            .query_row([op_id], |r| r.get::<_, bool>(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(op_id.to_string()))
    }

    /// The operator's unlock: clears the lock and the consecutive failures (the
    /// lifetime count stays), audited as `unlock`. Only an [`Actor::Operator`] may.
    /// Returns the number of failures cleared.
    pub fn unlock(&self, op_id: &str, operator: &Actor) -> Result<u32, StoreError> {
        operator.validate()?;
        if !matches!(operator, Actor::Operator(_)) {
            return Err(StoreError::invalid("actor", "only an operator may unlock"));
        }
        self.write(|tx, now| {
            let (failures, locked_at) = tx
                .prepare_cached("SELECT failures, locked_at FROM subscriptions WHERE op_id = ?1")?
                .query_row([op_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()?
                .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            let Some(locked_at) = locked_at else {
                return Err(StoreError::NotLocked(op_id.to_string()));
            };
            tx.prepare_cached(
                "UPDATE subscriptions SET failures = 0, locked = 0, locked_at = NULL, \
                 updated_at = ?2 WHERE op_id = ?1",
            )?
            .execute(params![op_id, now.text])?;
            audit::insert(
                tx,
                now,
                op_id,
                operator,
                &AuditAction::Unlock,
                AuditResult::Ok,
                &format!("locked since {locked_at} after {failures} failures"),
            )?;
            u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt(format!("failure count {failures}")))
        })
    }
}

//! The durable attempt counter and lock (spec B.6 and C.3: at most 3 attempts, [0155],
//! [0192]; spec "Attempt counters are durable"). Each call is one `BEGIN IMMEDIATE`
//! transaction whose increment happens in SQL, so parallel processes never lose a
//! failure; the lifetime count only grows (a trigger enforces it). A success resets
//! the consecutive count but never lifts a lock: only an operator's `unlock` does.
//!
//! [`Store::attempt`] is how the SM judges a guess of the parameter (issue 10, finding
//! 6): consuming the challenge, verifying the proof (the caller's closure) and counting
//! the verdict are one transaction, so a busy or failing database, or a crash, at any
//! point keeps all of it or none of it. None of it means the challenge is still
//! outstanding but no verdict left the SM (the caller only learns it after the commit),
//! and the SM never presents a challenge twice: no guess was made. A challenge is
//! therefore never used up without its guess counted.

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::challenges::{self, ChallengeSubject};
use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::{FailureOutcome, Purpose, Subscription};
use super::subscriptions;
use super::Store;

/// One answer to a challenge that carries a guess of the parameter (flows B and C).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The record guessed at; the challenge must have been issued for this OP ID.
    pub op_id: &'a str,
    pub actor: &'a Actor,
    /// The challenge's purpose, and the purpose the verdict is audited with.
    pub purpose: Purpose,
    /// The challenge value the proof was made over.
    pub challenge: &'a [u8],
    /// Consecutive failures that lock ([`super::MAX_ATTEMPTS`]).
    pub max_attempts: u32,
}

/// What the caller's check made of the proof.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<E> {
    /// The proof verifies: the consecutive failures are cleared.
    Verified,
    /// A wrong guess: counted, the `max_attempts`-th locks.
    Wrong,
    /// Refused for a reason that is no guess (a malformed answer, an unusable record):
    /// not counted, but the challenge is used up all the same.
    Refused(E),
}

/// What [`Store::attempt`] committed.
#[derive(Debug, PartialEq, Eq)]
pub enum AttemptOutcome<E> {
    /// Verified; this many earlier failures were cleared.
    Verified { failures_cleared: u32 },
    /// Counted as a failure.
    Wrong(FailureOutcome),
    /// The check's refusal, not counted.
    Refused(E),
}

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
        self.write(|tx, now| count_failure(tx, now, op_id, actor, purpose, max_attempts))
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
            let locked = tx
                .query_opt(
                    "SELECT locked FROM subscriptions WHERE op_id = ?1",
                    args![op_id],
                    |r| r.get::<bool>(0),
                )?
                .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            if locked {
                return Err(StoreError::Locked(op_id.to_string()));
            }
            count_success(tx, now, op_id, actor, purpose)
        })
    }

    /// Judges one guess in one `BEGIN IMMEDIATE` transaction (issue 10, finding 6):
    /// consumes the challenge (it must be outstanding, unexpired and issued for this OP
    /// ID and purpose), loads the record, runs `check` on it, and counts its verdict
    /// (`Wrong` as [`Store::record_failure`], `Verified` as [`Store::record_success`]),
    /// then commits. An error or panic anywhere before the commit rolls all of it back:
    /// the challenge stays outstanding and nothing is counted, and the caller gets no
    /// verdict. Refusals that are not guesses commit with the challenge used up and
    /// nothing counted: a bad challenge (`ChallengeUnknown`, `-Mismatch`, `-Expired`),
    /// an unknown record (`NotFound`), the check's [`Verdict::Refused`], and a verified
    /// proof on a record that is locked (`Locked`: a verification cannot lift a lock).
    /// A wrong guess on a locked record is still counted and audited.
    ///
    /// `check` runs while the write lock is held: it should only verify (milliseconds)
    /// and must not use the store.
    pub fn attempt<E>(
        &self,
        attempt: &Attempt<'_>,
        mut check: impl FnMut(&Subscription) -> Verdict<E>,
    ) -> Result<AttemptOutcome<E>, StoreError> {
        let Attempt {
            op_id,
            actor,
            purpose,
            challenge,
            max_attempts,
        } = *attempt;
        actor.validate()?;
        if max_attempts == 0 {
            return Err(StoreError::invalid("max attempts", "must be at least 1"));
        }
        let subject = ChallengeSubject::OpId(op_id.to_string());
        // Refusals that must commit (the challenge burnt) travel inside Ok.
        self.write(|tx, now| {
            if let Err(refusal) = challenges::take(tx, now, &subject, purpose, challenge)? {
                return Ok(Err(refusal));
            }
            let Some(sub) = subscriptions::load(tx, op_id)? else {
                return Ok(Err(StoreError::NotFound(op_id.to_string())));
            };
            Ok(Ok(match check(&sub) {
                Verdict::Refused(e) => AttemptOutcome::Refused(e),
                Verdict::Wrong => AttemptOutcome::Wrong(count_failure(
                    tx,
                    now,
                    op_id,
                    actor,
                    purpose,
                    max_attempts,
                )?),
                Verdict::Verified if sub.locked => {
                    return Ok(Err(StoreError::Locked(op_id.to_string())))
                }
                Verdict::Verified => AttemptOutcome::Verified {
                    failures_cleared: count_success(tx, now, op_id, actor, purpose)?,
                },
            }))
        })?
    }

    /// Whether the record is locked.
    pub fn is_locked(&self, op_id: &str) -> Result<bool, StoreError> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT locked FROM subscriptions WHERE op_id = ?1",
                args![op_id],
                |r| r.get::<bool>(0),
            )?
            .ok_or_else(|| StoreError::NotFound(op_id.to_string()))
        })
    }

    /// The operator's unlock: clears the lock and the consecutive failures (the
    /// lifetime count stays), audited as `unlock`. Only an [`Actor::Operator`] may.
    /// Returns the number of failures cleared.
    pub fn unlock(&self, op_id: &str, operator: &Actor) -> Result<u32, StoreError> {
        self.unlock_via(op_id, operator, None)
    }

    /// [`Store::unlock`], with `via` (how the operator reached the SM: `remote` for the
    /// admin endpoints of issue 12) after the audit entry's details.
    pub fn unlock_via(
        &self,
        op_id: &str,
        operator: &Actor,
        via: Option<&str>,
    ) -> Result<u32, StoreError> {
        operator.validate()?;
        if !matches!(operator, Actor::Operator(_)) {
            return Err(StoreError::invalid("actor", "only an operator may unlock"));
        }
        self.write(|tx, now| {
            let (failures, locked_at) = tx
                .query_opt(
                    "SELECT failures, locked_at FROM subscriptions WHERE op_id = ?1",
                    args![op_id],
                    |r| Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?)),
                )?
                .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            let Some(locked_at) = locked_at else {
                return Err(StoreError::NotLocked(op_id.to_string()));
            };
            tx.execute(
                "UPDATE subscriptions SET failures = 0, locked = 0, locked_at = NULL, \
                 updated_at = ?2 WHERE op_id = ?1",
                args![op_id, now.text],
            )?;
            audit::insert(
                tx,
                now,
                op_id,
                operator,
                &AuditAction::Unlock,
                AuditResult::Ok,
                &match via {
                    Some(via) => {
                        format!("locked since {locked_at} after {failures} failures ({via})")
                    }
                    None => format!("locked since {locked_at} after {failures} failures"),
                },
            )?;
            u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt(format!("failure count {failures}")))
        })
    }
}

/// Counts one failure inside the caller's write transaction (see
/// [`Store::record_failure`]).
fn count_failure(
    tx: &Tx<'_>,
    now: &Now,
    op_id: &str,
    actor: &Actor,
    purpose: Purpose,
    max_attempts: u32,
) -> Result<FailureOutcome, StoreError> {
    let was_locked: bool = tx
        .query_opt(
            "SELECT locked FROM subscriptions WHERE op_id = ?1",
            args![op_id],
            |r| r.get(0),
        )?
        .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
    let (attempts, total, locked): (i64, i64, bool) = tx.query_one(
        "UPDATE subscriptions SET failures = failures + 1, \
             total_failures = total_failures + 1, \
             locked = CASE WHEN failures + 1 >= ?2 THEN 1 ELSE locked END, \
             locked_at = CASE WHEN locked = 0 AND failures + 1 >= ?2 THEN ?3 ELSE locked_at END, \
             updated_at = ?3 \
             WHERE op_id = ?1 RETURNING failures, total_failures, locked",
        args![op_id, max_attempts, now.text],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let attempts = u32::try_from(attempts)
        .map_err(|_| StoreError::Corrupt(format!("failure count {attempts}")))?;
    let total_failures =
        u64::try_from(total).map_err(|_| StoreError::Corrupt(format!("total failures {total}")))?;
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
}

/// Clears the consecutive failures of an unlocked record inside the caller's write
/// transaction and audits `auth-success`; returns how many were cleared.
fn count_success(
    tx: &Tx<'_>,
    now: &Now,
    op_id: &str,
    actor: &Actor,
    purpose: Purpose,
) -> Result<u32, StoreError> {
    let failures: i64 = tx
        .query_opt(
            "SELECT failures FROM subscriptions WHERE op_id = ?1",
            args![op_id],
            |r| r.get(0),
        )?
        .ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
    tx.execute(
        "UPDATE subscriptions SET failures = 0, updated_at = ?2 WHERE op_id = ?1",
        args![op_id, now.text],
    )?;
    audit::insert(
        tx,
        now,
        op_id,
        actor,
        &AuditAction::AuthSuccess,
        AuditResult::Ok,
        &format!("{purpose}: {failures} earlier failure(s) cleared"),
    )?;
    u32::try_from(failures).map_err(|_| StoreError::Corrupt(format!("failure count {failures}")))
}

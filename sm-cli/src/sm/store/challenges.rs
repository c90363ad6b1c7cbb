//! Outstanding SM challenges (spec "No replay"; issue 3: a signature captured from one
//! session is rejected in any other). The caller draws the random value; the store
//! keeps it with its subject (an OP ID or a card's EID), purpose and expiry, and
//! `consume_challenge` deletes it in the same transaction that checks it, so a value
//! is accepted at most once across all sm-cli processes sharing the store. A presented
//! value is burnt even when the check fails. A challenge answered with a guess of the
//! parameter is consumed by [`Store::attempt`](super::Store::attempt) instead, in the
//! transaction that counts the guess ([`take`]).

use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::Purpose;
use super::validate;
use super::Store;
use std::time::Duration;

/// Who a challenge was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeSubject {
    OpId(String),
    Eid(String),
}

impl ChallengeSubject {
    fn kind(&self) -> &'static str {
        match self {
            ChallengeSubject::OpId(_) => "op-id",
            ChallengeSubject::Eid(_) => "eid",
        }
    }

    fn value(&self) -> &str {
        match self {
            ChallengeSubject::OpId(v) | ChallengeSubject::Eid(v) => v,
        }
    }

    fn validate(&self) -> Result<(), StoreError> {
        match self {
            ChallengeSubject::OpId(v) => validate::id("OP ID", v),
            ChallengeSubject::Eid(v) => validate::id("EID", v),
        }
    }

    fn from_parts(kind: &str, value: String) -> Result<ChallengeSubject, StoreError> {
        match kind {
            "op-id" => Ok(ChallengeSubject::OpId(value)),
            "eid" => Ok(ChallengeSubject::Eid(value)),
            other => Err(StoreError::Corrupt(format!("challenge subject {other:?}"))),
        }
    }
}

/// An issued challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub value: Vec<u8>,
    pub subject: ChallengeSubject,
    pub purpose: Purpose,
    /// Unix milliseconds.
    pub issued_at_ms: i64,
    /// Unix milliseconds; the challenge is refused from this instant on.
    pub expires_at_ms: i64,
}

impl Store {
    /// Stores a fresh challenge `value` (16 to 64 random bytes drawn by the caller) for
    /// `subject` and `purpose`, valid for `ttl`. Also drops expired challenges.
    pub fn issue_challenge(
        &self,
        subject: &ChallengeSubject,
        purpose: Purpose,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Challenge, StoreError> {
        subject.validate()?;
        validate::bytes("challenge", value, validate::CHALLENGE_LEN)?;
        let ttl_ms = i64::try_from(ttl.as_millis())
            .map_err(|_| StoreError::invalid("challenge lifetime", "too long"))?;
        // The purge in a transaction of its own: on PostgreSQL its range scan inside the
        // SERIALIZABLE insert made two servers' inserts collide (measured: about half the
        // retries of a two-server run).
        self.sweep("DELETE FROM challenges WHERE expires_at_ms <= ?1")?;
        self.write(|tx, now| {
            let challenge = Challenge {
                value: value.to_vec(),
                subject: subject.clone(),
                purpose,
                issued_at_ms: now.ms,
                expires_at_ms: now.ms.saturating_add(ttl_ms),
            };
            let inserted = tx.execute(
                "INSERT INTO challenges (value, subject_kind, subject, purpose, \
                 issued_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT DO NOTHING",
                args![
                    value,
                    subject.kind(),
                    subject.value(),
                    purpose.as_str(),
                    challenge.issued_at_ms,
                    challenge.expires_at_ms
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::invalid(
                    "challenge",
                    "this value is already outstanding",
                ));
            }
            Ok(challenge)
        })
    }

    /// Accepts `value` once: it must be outstanding, unexpired, and issued for this
    /// `subject` and `purpose`. The value is deleted whatever the verdict.
    pub fn consume_challenge(
        &self,
        subject: &ChallengeSubject,
        purpose: Purpose,
        value: &[u8],
    ) -> Result<Challenge, StoreError> {
        // The deletion must commit even when the verdict is a refusal, so the verdict
        // is returned inside Ok and unpacked after the commit.
        self.write(|tx, now| take(tx, now, subject, purpose, value))?
    }
}

/// Deletes `value` inside the caller's write transaction and judges it: `Ok(Err(_))` is
/// a refusal (unknown, mismatched or expired) that must still commit, so the value is
/// burnt; `Err(_)` a database failure. Shared by [`Store::consume_challenge`] and
/// [`Store::attempt`](super::Store::attempt), which consumes in the transaction that
/// counts (issue 10, finding 6).
pub(crate) fn take(
    tx: &Tx<'_>,
    now: &Now,
    subject: &ChallengeSubject,
    purpose: Purpose,
    value: &[u8],
) -> Result<Result<Challenge, StoreError>, StoreError> {
    let row: Option<(String, String, String, i64, i64)> = tx.query_opt(
        "DELETE FROM challenges WHERE value = ?1 \
         RETURNING subject_kind, subject, purpose, issued_at_ms, expires_at_ms",
        args![value],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let Some((kind, who, what, issued_at_ms, expires_at_ms)) = row else {
        return Ok(Err(StoreError::ChallengeUnknown));
    };
    let challenge = Challenge {
        value: value.to_vec(),
        subject: ChallengeSubject::from_parts(&kind, who)?,
        purpose: Purpose::parse(&what)?,
        issued_at_ms,
        expires_at_ms,
    };
    if challenge.subject != *subject || challenge.purpose != purpose {
        return Ok(Err(StoreError::ChallengeMismatch));
    }
    if now.ms >= challenge.expires_at_ms {
        return Ok(Err(StoreError::ChallengeExpired));
    }
    Ok(Ok(challenge))
}

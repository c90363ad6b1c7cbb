//! ES9+ sessions of the SM-DP+ (issue 11; SGP.22 §3.1.3, §5.6), keyed by transactionId,
//! each with an expiry: `initiated` (initiateAuthentication issued the serverChallenge)
//! -> `authenticated` (authenticateClient checked the eUICC and found the order) ->
//! `bound` (getBoundProfilePackage bound the order's BPP to it). Every step is one
//! conditional update, so a replayed or concurrent call for the same step finds the
//! session no longer in the state it needs and is refused. Expired rows are refused and
//! purged; the rows live in the store, so a restarted server refuses stale sessions the
//! same way. Binding, the install result and cancellation change the session and its
//! order in one transaction, with their audit rows ([`super::orders`]).

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::stored_words;
use super::orders::{self, audit_text, Order, OrderState};
use super::Store;
use std::time::Duration;

/// State of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Initiated,
    Authenticated,
    Bound,
}

stored_words!(SessionState, "session state", {
    Initiated => "initiated",
    Authenticated => "authenticated",
    Bound => "bound",
});

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmdpSession {
    pub transaction_id: Vec<u8>,
    pub state: SessionState,
    pub server_challenge: [u8; 16],
    /// The CI key identifier agreed in initiateAuthentication.
    pub ci_pkid: Vec<u8>,
    pub matching_id: Option<String>,
    pub eid: Option<String>,
    /// CERT.EUICC (DER), verified.
    pub euicc_cert: Option<Vec<u8>>,
    /// The smdpSignature2 value (r||s) sent in authenticateClient's answer.
    pub smdp_signature2: Option<Vec<u8>>,
    pub cc_required: bool,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// What authenticateClient adds to a session.
#[derive(Debug, Clone)]
pub struct Authenticated<'a> {
    pub matching_id: &'a str,
    pub eid: &'a str,
    pub euicc_cert: &'a [u8],
    pub smdp_signature2: &'a [u8],
    pub cc_required: bool,
}

/// Why getBoundProfilePackage cannot bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindRefusal {
    /// No live session in state `authenticated` with this transactionId.
    NoSession,
    /// The order is gone or not `released`.
    OrderNotReleased(Option<OrderState>),
}

fn ms(ttl: Duration) -> Result<i64, StoreError> {
    i64::try_from(ttl.as_millis()).map_err(|_| StoreError::invalid("session lifetime", "too long"))
}

fn live(tx: &Tx<'_>, now_ms: i64, tid: &[u8]) -> Result<Option<SmdpSession>, StoreError> {
    tx.query_opt(
        "SELECT state, server_challenge, ci_pkid, matching_id, eid, euicc_cert, \
             smdp_signature2, cc_required, created_at_ms, expires_at_ms \
             FROM smdp_sessions WHERE transaction_id = ?1 AND expires_at_ms > ?2",
        args![tid, now_ms],
        |r| {
            Ok(SmdpSession {
                transaction_id: tid.to_vec(),
                state: SessionState::parse(&r.get::<String>(0)?)?,
                server_challenge: <[u8; 16]>::try_from(r.get::<Vec<u8>>(1)?.as_slice())
                    .map_err(|_| StoreError::Corrupt("session server_challenge".into()))?,
                ci_pkid: r.get(2)?,
                matching_id: r.get(3)?,
                eid: r.get(4)?,
                euicc_cert: r.get(5)?,
                smdp_signature2: r.get(6)?,
                cc_required: r.get::<i64>(7)? != 0,
                created_at_ms: r.get(8)?,
                expires_at_ms: r.get(9)?,
            })
        },
    )
}

impl Store {
    /// Starts a session (initiateAuthentication) valid for `ttl`; purges expired ones.
    pub fn create_session(
        &self,
        transaction_id: &[u8],
        server_challenge: &[u8; 16],
        ci_pkid: &[u8],
        ttl: Duration,
    ) -> Result<SmdpSession, StoreError> {
        if transaction_id.is_empty() || transaction_id.len() > 16 {
            return Err(StoreError::invalid("transactionId", "1 to 16 bytes"));
        }
        if ci_pkid.is_empty() || ci_pkid.len() > 32 {
            return Err(StoreError::invalid("CI key identifier", "1 to 32 bytes"));
        }
        let ttl = ms(ttl)?;
        // Purged in a transaction of its own (as challenges are): no range scan in the
        // SERIALIZABLE insert for two servers to collide on.
        self.sweep("DELETE FROM smdp_sessions WHERE expires_at_ms <= ?1")?;
        self.write(|tx, now| {
            let n = tx.execute(
                "INSERT INTO smdp_sessions (transaction_id, state, \
                     server_challenge, ci_pkid, created_at_ms, expires_at_ms) \
                     VALUES (?1, 'initiated', ?2, ?3, ?4, ?5)",
                args![
                    transaction_id,
                    server_challenge.as_slice(),
                    ci_pkid,
                    now.ms,
                    now.ms.saturating_add(ttl)
                ],
            )?;
            if n == 0 {
                return Err(StoreError::invalid("transactionId", "already in use"));
            }
            live(tx, now.ms, transaction_id)?
                .ok_or_else(|| StoreError::Corrupt("the new session vanished".into()))
        })
    }

    /// The session, if it exists and has not expired.
    pub fn live_session(&self, transaction_id: &[u8]) -> Result<Option<SmdpSession>, StoreError> {
        let now = Now::read();
        self.read(|tx| live(tx, now.ms, transaction_id))
    }

    /// `initiated` -> `authenticated` (authenticateClient); `false` when the session is
    /// gone, expired or past that step (a replay).
    pub fn authenticate_session(
        &self,
        transaction_id: &[u8],
        a: &Authenticated<'_>,
    ) -> Result<bool, StoreError> {
        self.write(|tx, now| {
            let n = tx.execute(
                "UPDATE smdp_sessions SET state = 'authenticated', matching_id = ?2, \
                     eid = ?3, euicc_cert = ?4, smdp_signature2 = ?5, cc_required = ?6 \
                     WHERE transaction_id = ?1 AND state = 'initiated' AND expires_at_ms > ?7",
                args![
                    transaction_id,
                    a.matching_id,
                    a.eid,
                    a.euicc_cert,
                    a.smdp_signature2,
                    a.cc_required,
                    now.ms
                ],
            )?;
            Ok(n == 1)
        })
    }

    /// Ends a session without touching its order (a refusal that leaves the order as
    /// it was).
    pub fn drop_session(&self, transaction_id: &[u8]) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.execute(
                "DELETE FROM smdp_sessions WHERE transaction_id = ?1",
                args![transaction_id],
            )?;
            Ok(())
        })
    }

    /// getBoundProfilePackage: the session (`authenticated`, live) and its order
    /// (`released`) become `bound` together, in one transaction; audit `smdp-bound`.
    pub fn bind_download(
        &self,
        transaction_id: &[u8],
        actor: &Actor,
    ) -> Result<Result<Order, BindRefusal>, StoreError> {
        self.write(|tx, now| {
            let Some(s) = live(tx, now.ms, transaction_id)? else {
                return Ok(Err(BindRefusal::NoSession));
            };
            let (SessionState::Authenticated, Some(mid), Some(cert)) =
                (s.state, s.matching_id.as_deref(), s.euicc_cert.as_deref())
            else {
                return Ok(Err(BindRefusal::NoSession));
            };
            let order = orders::get(tx, mid)?;
            match &order {
                Some(o) if o.state == OrderState::Released => {}
                other => {
                    return Ok(Err(BindRefusal::OrderNotReleased(
                        other.as_ref().map(|o| o.state),
                    )))
                }
            }
            tx.execute(
                "UPDATE smdp_orders SET state = 'bound', transaction_id = ?2, bound_eid = ?3, \
                 euicc_cert = ?4, updated_at = ?5 WHERE matching_id = ?1",
                args![mid, transaction_id, s.eid, cert, now.text],
            )?;
            tx.execute(
                "UPDATE smdp_sessions SET state = 'bound' WHERE transaction_id = ?1",
                args![transaction_id],
            )?;
            let order = orders::get(tx, mid)?
                .ok_or_else(|| StoreError::Corrupt("the bound order vanished".into()))?;
            let details = format!(
                "BPP of order {mid} (ICCID {}) bound to EID {} in session {}",
                order.iccid,
                s.eid.as_deref().unwrap_or("?"),
                hex::encode_upper(transaction_id)
            );
            audit::insert(
                tx,
                now,
                &order.audit_key(),
                actor,
                &AuditAction::Other("smdp-bound".into()),
                AuditResult::Ok,
                &details,
            )?;
            Ok(Ok(order))
        })
    }

    /// The install result (handleNotification with a verified PIR): the order bound to
    /// `transaction_id` becomes `downloaded` (success) or `failed`; its session ends.
    /// Audit `smdp-downloaded` / `smdp-install-failed`. `None` when no order was bound to
    /// this transactionId; an order already past `bound` is returned unchanged.
    pub fn record_install_result(
        &self,
        transaction_id: &[u8],
        success: bool,
        actor: &Actor,
        details: &str,
    ) -> Result<Option<Order>, StoreError> {
        let details = audit_text(details);
        self.write(|tx, now| {
            let mid: Option<String> = tx.query_opt(
                "SELECT matching_id FROM smdp_orders WHERE transaction_id = ?1",
                args![transaction_id],
                |r| r.get(0),
            )?;
            let Some(mid) = mid else { return Ok(None) };
            tx.execute(
                "DELETE FROM smdp_sessions WHERE transaction_id = ?1",
                args![transaction_id],
            )?;
            let order = orders::get(tx, &mid)?
                .ok_or_else(|| StoreError::Corrupt("order vanished".into()))?;
            if order.state != OrderState::Bound {
                // A repeated (or replayed) PIR changes nothing, but is seen in the audit.
                audit::insert(
                    tx,
                    now,
                    &order.audit_key(),
                    actor,
                    &AuditAction::Other("smdp-pir-repeated".into()),
                    AuditResult::Refused,
                    &format!("the order is already {}; {details}", order.state),
                )?;
                return Ok(Some(order));
            }
            let (state, action, result) = if success {
                (OrderState::Downloaded, "smdp-downloaded", AuditResult::Ok)
            } else {
                (
                    OrderState::Failed,
                    "smdp-install-failed",
                    AuditResult::Failed,
                )
            };
            tx.execute(
                "UPDATE smdp_orders SET state = ?2, updated_at = ?3 WHERE matching_id = ?1",
                args![mid, state.as_str(), now.text],
            )?;
            audit::insert(
                tx,
                now,
                &order.audit_key(),
                actor,
                &AuditAction::Other(action.into()),
                result,
                &details,
            )?;
            orders::get(tx, &mid)
        })
    }

    /// cancelSession (SGP.22 §5.6.5): the session ends; an order it had bound goes back
    /// to `released` (`retry`) or `failed`. Audit `smdp-cancelled`. Returns the order
    /// the session was for, if any.
    pub fn cancel_session(
        &self,
        transaction_id: &[u8],
        retry: bool,
        actor: &Actor,
        details: &str,
    ) -> Result<Option<Order>, StoreError> {
        let details = audit_text(details);
        self.write(|tx, now| {
            let s = live(tx, now.ms, transaction_id)?;
            tx.execute(
                "DELETE FROM smdp_sessions WHERE transaction_id = ?1",
                args![transaction_id],
            )?;
            let Some(mid) = s.and_then(|s| s.matching_id) else {
                return Ok(None);
            };
            let Some(order) = orders::get(tx, &mid)? else {
                return Ok(None);
            };
            let ours = order.transaction_id.as_deref() == Some(transaction_id);
            let new_state = match (order.state, ours, retry) {
                (OrderState::Bound, true, true) => Some(OrderState::Released),
                (OrderState::Bound, true, false) | (OrderState::Released, _, false) => {
                    Some(OrderState::Failed)
                }
                _ => None,
            };
            if let Some(st) = new_state {
                let clear = st == OrderState::Released;
                tx.execute(
                    "UPDATE smdp_orders SET state = ?2, updated_at = ?3, \
                     transaction_id = CASE WHEN ?4 = 1 THEN NULL ELSE transaction_id END, \
                     bound_eid = CASE WHEN ?4 = 1 THEN NULL ELSE bound_eid END, \
                     euicc_cert = CASE WHEN ?4 = 1 THEN NULL ELSE euicc_cert END \
                     WHERE matching_id = ?1",
                    args![mid, st.as_str(), now.text, clear],
                )?;
            }
            audit::insert(
                tx,
                now,
                &order.audit_key(),
                actor,
                &AuditAction::Other("smdp-cancelled".into()),
                AuditResult::Refused,
                &details,
            )?;
            orders::get(tx, &mid)
        })
    }

    /// Records a notification (handleNotification) under `key` (an order's audit key or
    /// `order:-`): audit `smdp-notification`.
    pub fn log_notification(
        &self,
        key: &str,
        actor: &Actor,
        result: AuditResult,
        details: &str,
    ) -> Result<(), StoreError> {
        let key = orders::sanitize(key);
        let details = audit_text(details);
        self.write(|tx, now| {
            audit::insert(
                tx,
                now,
                &key,
                actor,
                &AuditAction::Other("smdp-notification".into()),
                result,
                &details,
            )?;
            Ok(())
        })
    }
}

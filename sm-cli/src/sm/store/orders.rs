//! SM-DP+ download orders (issue 11; SGP.22 §3.1.3: the SM-DP+ downloads a profile for a
//! matchingId of an activation code, optionally only to one EID and only with a
//! confirmation code). An order names its package: a subscription record of this store
//! (the package is built from the record when it is bound) or the bytes of a given SAIP
//! file. Of the confirmation code only `SHA-256(code)` is kept, the value SGP.22 §3.1.3.2
//! hashes again with the transactionId.
//!
//! States (one successful download per order): `released` (downloadable) -> `bound` (a
//! BPP was made for a session; no other session can bind it) -> `downloaded` (the card's
//! ProfileInstallationResult said success) or `failed` (it said error, or the code was
//! wrong too often, or the session was cancelled for good); `cancelled` by an operator.
//! Every change writes its audit row, keyed by the OP ID (subscription orders) or
//! `order:<matchingId>` (package orders), in the same transaction.
//!
//! Long because an order's rules outside a session (its creation and checks, the refusal
//! log, the confirmation-code count, failing it) and the one row reader that sessions.rs
//! shares are one state machine: split, its rules would be spread over files.

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::clock::Now;
use super::db::{args, Row, Tx};
use super::error::StoreError;
use super::model::stored_words;
use super::validate;
use super::Store;
use zeroize::Zeroizing;

/// Wrong confirmation codes after which an order fails (SGP.22 §5.6.2: 8.2.7 / 6.4).
pub const MAX_CC_FAILURES: u32 = 3;

/// Largest SAIP package an order may carry (bytes).
pub const MAX_PACKAGE: usize = 1024 * 1024;

/// Where an order's profile package comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum OrderSource {
    /// Built from the subscription record of this OP ID when the order is bound.
    Subscription(String),
    /// A SAIP package as given (e.g. a TS.48 test profile); it holds Ki / OPc.
    Package(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for OrderSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderSource::Subscription(op) => write!(f, "Subscription({op})"),
            OrderSource::Package(p) => write!(f, "Package(<{} bytes redacted>)", p.len()),
        }
    }
}

/// State of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    Released,
    Bound,
    Downloaded,
    Failed,
    Cancelled,
}

stored_words!(OrderState, "order state", {
    Released => "released",
    Bound => "bound",
    Downloaded => "downloaded",
    Failed => "failed",
    Cancelled => "cancelled",
});

/// A new order.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Random and unguessable (the SM-DP+ draws it); printable ASCII, at most 64.
    pub matching_id: String,
    /// Only this eUICC may download it.
    pub eid: Option<String>,
    /// `SHA-256(confirmation code)`.
    pub cc_hash: Option<[u8; 32]>,
    pub source: OrderSource,
    /// The ICCID of the package (digits), for listings and the audit log.
    pub iccid: String,
    /// The SM-DP+ address of the activation code (`host[:port]`).
    pub smdp_address: String,
}

/// A stored order.
#[derive(Debug, Clone)]
pub struct Order {
    pub matching_id: String,
    pub eid: Option<String>,
    pub cc_hash: Option<[u8; 32]>,
    pub cc_failures: u32,
    pub source: OrderSource,
    pub iccid: String,
    pub smdp_address: String,
    pub state: OrderState,
    /// The session that bound it (and downloaded it).
    pub transaction_id: Option<Vec<u8>>,
    /// The EID of the eUICC it was bound to.
    pub bound_eid: Option<String>,
    /// CERT.EUICC of that eUICC (DER): what its install notification must verify with.
    pub euicc_cert: Option<Vec<u8>>,
    pub created_at: String,
    pub updated_at: String,
}

impl Order {
    /// The audit log key of the order.
    pub fn audit_key(&self) -> String {
        audit_key(&self.matching_id, &self.source)
    }
}

fn audit_key(matching_id: &str, source: &OrderSource) -> String {
    match source {
        OrderSource::Subscription(op) => op.clone(),
        OrderSource::Package(_) => format!("order:{matching_id}"),
    }
}

const COLUMNS: &str = "matching_id, eid, cc_hash, cc_failures, source, op_id, package, iccid, \
     smdp_address, state, transaction_id, bound_eid, euicc_cert, created_at, updated_at";

fn from_row(r: &Row<'_>) -> Result<Order, StoreError> {
    let cc_hash: Option<Vec<u8>> = r.get(2)?;
    let source: String = r.get(4)?;
    let op_id: Option<String> = r.get(5)?;
    let package: Option<Vec<u8>> = r.get(6)?;
    let state: String = r.get(9)?;
    let failures: i64 = r.get(3)?;
    {
        let source = match (source.as_str(), op_id, package) {
            ("subscription", Some(op), None) => OrderSource::Subscription(op),
            ("package", None, Some(p)) => OrderSource::Package(Zeroizing::new(p)),
            (other, ..) => return Err(StoreError::Corrupt(format!("order source {other:?}"))),
        };
        let cc_hash = cc_hash
            .map(|h| {
                <[u8; 32]>::try_from(h.as_slice())
                    .map_err(|_| StoreError::Corrupt("order cc_hash".into()))
            })
            .transpose()?;
        Ok(Order {
            matching_id: r.get(0)?,
            eid: r.get(1)?,
            cc_hash,
            cc_failures: u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt("order cc_failures".into()))?,
            source,
            iccid: r.get(7)?,
            smdp_address: r.get(8)?,
            state: OrderState::parse(&state)?,
            transaction_id: r.get(10)?,
            bound_eid: r.get(11)?,
            euicc_cert: r.get(12)?,
            created_at: r.get(13)?,
            updated_at: r.get(14)?,
        })
    }
}

pub(crate) fn get(tx: &Tx<'_>, matching_id: &str) -> Result<Option<Order>, StoreError> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM smdp_orders WHERE matching_id = ?1"),
        args![matching_id],
        from_row,
    )
}

fn set_state(
    tx: &Tx<'_>,
    now: &Now,
    matching_id: &str,
    state: OrderState,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE smdp_orders SET state = ?2, updated_at = ?3 WHERE matching_id = ?1",
        args![matching_id, state.as_str(), now.text],
    )?;
    Ok(())
}

fn log(
    tx: &Tx<'_>,
    now: &Now,
    order: &Order,
    actor: &Actor,
    action: &str,
    result: AuditResult,
    details: &str,
) -> Result<(), StoreError> {
    audit::insert(
        tx,
        now,
        &order.audit_key(),
        actor,
        &AuditAction::Other(action.into()),
        result,
        details,
    )?;
    Ok(())
}

impl Store {
    /// Stores a new order (audit `smdp-order`). A subscription order needs the record.
    pub fn create_order(&self, new: &NewOrder, actor: &Actor) -> Result<Order, StoreError> {
        validate::id("matching ID", &new.matching_id)?;
        if let Some(e) = &new.eid {
            validate::id("EID", e)?;
        }
        validate::id("ICCID", &new.iccid)?;
        validate::text("SM-DP+ address", &new.smdp_address, 255, false)?;
        let (source, op_id, package) = match &new.source {
            OrderSource::Subscription(op) => {
                validate::id("OP ID", op)?;
                ("subscription", Some(op.as_str()), None)
            }
            OrderSource::Package(p) => {
                if p.is_empty() || p.len() > MAX_PACKAGE {
                    return Err(StoreError::invalid(
                        "profile package",
                        format!("1 to {MAX_PACKAGE} bytes"),
                    ));
                }
                ("package", None, Some(p.as_slice()))
            }
        };
        self.write(|tx, now| {
            if let Some(op) = op_id {
                let exists: Option<i64> = tx.query_opt(
                    "SELECT 1 FROM subscriptions WHERE op_id = ?1",
                    args![op],
                    |r| r.get(0),
                )?;
                if exists.is_none() {
                    return Err(StoreError::NotFound(op.to_string()));
                }
            }
            let inserted = tx.execute(
                "INSERT INTO smdp_orders (matching_id, eid, cc_hash, source, op_id, \
                     package, iccid, smdp_address, state, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'released', ?9, ?9)",
                args![
                    new.matching_id,
                    new.eid,
                    new.cc_hash.as_ref().map(|h| h.as_slice()),
                    source,
                    op_id,
                    package,
                    new.iccid,
                    new.smdp_address,
                    now.text
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::invalid(
                    "matching ID",
                    "already used by an order",
                ));
            }
            let order = get(tx, &new.matching_id)?
                .ok_or_else(|| StoreError::Corrupt("the new order vanished".into()))?;
            let details = format!(
                "order {} of ICCID {} at {}{}{}",
                order.matching_id,
                order.iccid,
                order.smdp_address,
                order
                    .eid
                    .as_ref()
                    .map(|e| format!(", only for EID {e}"))
                    .unwrap_or_default(),
                if order.cc_hash.is_some() {
                    ", confirmation code required"
                } else {
                    ""
                }
            );
            log(
                tx,
                now,
                &order,
                actor,
                "smdp-order",
                AuditResult::Ok,
                &details,
            )?;
            Ok(order)
        })
    }

    /// The order with this matchingId.
    pub fn order(&self, matching_id: &str) -> Result<Option<Order>, StoreError> {
        self.read(|tx| get(tx, matching_id))
    }

    /// The order bound to (or downloaded by) this transactionId.
    pub fn order_by_transaction(&self, transaction_id: &[u8]) -> Result<Option<Order>, StoreError> {
        self.read(|tx| {
            let id: Option<String> = tx.query_opt(
                "SELECT matching_id FROM smdp_orders WHERE transaction_id = ?1",
                args![transaction_id],
                |r| r.get(0),
            )?;
            match id {
                Some(id) => get(tx, &id),
                None => Ok(None),
            }
        })
    }

    /// Every order, newest first (for listings; packages are not loaded twice).
    pub fn orders(&self) -> Result<Vec<Order>, StoreError> {
        self.read(|tx| {
            tx.query_all(
                &format!("SELECT {COLUMNS} FROM smdp_orders ORDER BY created_at DESC, matching_id"),
                &[],
                from_row,
            )
        })
    }

    /// Records a refused download attempt of an order (unknown matchingId, wrong EID,
    /// not released, ...): audit `smdp-refused`. `key` is the matchingId as presented.
    pub fn log_order_refusal(
        &self,
        matching_id: &str,
        actor: &Actor,
        details: &str,
    ) -> Result<(), StoreError> {
        let details = audit_text(details);
        self.write(|tx, now| {
            let key = match get(tx, matching_id)? {
                Some(o) => o.audit_key(),
                None => format!("order:{}", sanitize(matching_id)),
            };
            audit::insert(
                tx,
                now,
                &key,
                actor,
                &AuditAction::Other("smdp-refused".into()),
                AuditResult::Refused,
                &details,
            )?;
            Ok(())
        })
    }

    /// One wrong confirmation code for the order; returns the failures so far. At
    /// [`MAX_CC_FAILURES`] the order fails. Audited.
    pub fn order_cc_failure(&self, matching_id: &str, actor: &Actor) -> Result<u32, StoreError> {
        self.write(|tx, now| {
            let order = get(tx, matching_id)?
                .ok_or_else(|| StoreError::NotFound(matching_id.to_string()))?;
            let n = order.cc_failures.saturating_add(1);
            tx.execute(
                "UPDATE smdp_orders SET cc_failures = ?2, updated_at = ?3 WHERE matching_id = ?1",
                args![matching_id, n, now.text],
            )?;
            let fail = n >= MAX_CC_FAILURES;
            if fail {
                set_state(tx, now, matching_id, OrderState::Failed)?;
            }
            let details = format!(
                "wrong confirmation code for order {matching_id} ({n} of {MAX_CC_FAILURES}){}",
                if fail { "; the order failed" } else { "" }
            );
            log(
                tx,
                now,
                &order,
                actor,
                "smdp-cc-refused",
                AuditResult::Refused,
                &details,
            )?;
            Ok(n)
        })
    }

    /// Ends an order for good (`failed`), e.g. a cancelled session whose reason does
    /// not allow a retry (SGP.22 §5.6.5). Only a `released` or `bound` order changes.
    pub fn fail_order(
        &self,
        matching_id: &str,
        actor: &Actor,
        details: &str,
    ) -> Result<Option<Order>, StoreError> {
        let details = audit_text(details);
        self.write(|tx, now| {
            let Some(order) = get(tx, matching_id)? else {
                return Ok(None);
            };
            if !matches!(order.state, OrderState::Released | OrderState::Bound) {
                return Ok(Some(order));
            }
            set_state(tx, now, matching_id, OrderState::Failed)?;
            log(
                tx,
                now,
                &order,
                actor,
                "smdp-order-failed",
                AuditResult::Failed,
                &details,
            )?;
            get(tx, matching_id)
        })
    }
}

/// Audit details are capped; a refusal's text includes untrusted values.
pub(crate) fn audit_text(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(validate::MAX_DETAILS_LEN - 3) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean,
    }
}

/// An untrusted identifier as an audit key: printable ASCII, at most 48 characters.
pub(crate) fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(48)
        .collect();
    if out.is_empty() {
        "-".into()
    } else {
        out
    }
}

//! Reading subscription rows: the columns, a full record ([`load`], with its previous
//! device, delivery state and pending removals), the summaries of `sm list`, and the
//! MNO bindings.

use super::super::db::{args, Bind, Row, Tx};
use super::super::error::StoreError;
use super::super::model::{
    Binding, BindingState, Delivery, Device, KeyMaterial, OperatorProfile, PreviousDevice,
    SecretBytes, Subscription, SubscriptionSummary,
};
use super::super::removals;
use zeroize::Zeroizing;

const SUBSCRIPTION_COLUMNS: &str = "op_id, iccid, imsi, msisdn, ki, opc, spn, profile_name, \
     public_key, kdf_salt, kdf_params, imei, eid, identity_public_key, \
     prev_imei, prev_eid, prev_identity_public_key, prev_stopped_at, \
     failures, total_failures, locked, locked_at, delivery, delivered_eid, delivered_at, \
     created_at, updated_at";

const SUMMARY_COLUMNS: &str = "s.op_id, s.iccid, s.imei, s.eid, s.failures, s.locked, \
     s.delivery, s.delivered_eid, s.delivered_at, s.updated_at, \
     (SELECT count(*) FROM removals r WHERE r.op_id = s.op_id AND r.state = 'pending')";

/// Reads a BLOB column straight into zeroizing memory.
fn secret(row: &Row<'_>, idx: usize) -> Result<SecretBytes, StoreError> {
    Ok(SecretBytes::new(Zeroizing::new(row.get::<Vec<u8>>(idx)?)))
}

fn delivery(state: &str, eid: Option<String>, at: Option<String>) -> Result<Delivery, StoreError> {
    match (state, eid, at) {
        ("pending", _, _) => Ok(Delivery::Pending),
        ("delivered", Some(eid), Some(at)) => Ok(Delivery::Delivered { eid, at }),
        (other, _, _) => Err(StoreError::Corrupt(format!("delivery state {other:?}"))),
    }
}

fn count_u32(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v}")))
}

/// A raw row before the checks that need `StoreError`.
struct RawSubscription {
    sub: Subscription,
    prev: (
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        Option<String>,
    ),
    failures: i64,
    total_failures: i64,
    delivery: (String, Option<String>, Option<String>),
}

fn raw_subscription(r: &Row<'_>) -> Result<RawSubscription, StoreError> {
    Ok(RawSubscription {
        sub: Subscription {
            op_id: r.get(0)?,
            profile: OperatorProfile {
                iccid: r.get(1)?,
                imsi: r.get(2)?,
                msisdn: r.get(3)?,
                ki: secret(r, 4)?,
                opc: secret(r, 5)?,
                spn: r.get(6)?,
                profile_name: r.get(7)?,
            },
            key: KeyMaterial {
                public_key: r.get(8)?,
                kdf_salt: r.get(9)?,
                kdf_params: r.get(10)?,
            },
            device: Device {
                imei: r.get(11)?,
                eid: r.get(12)?,
                identity_public_key: r.get(13)?,
            },
            previous_device: None,
            failures: 0,
            total_failures: 0,
            locked: r.get(20)?,
            locked_at: r.get(21)?,
            delivery: Delivery::Pending,
            pending_removals: Vec::new(),
            created_at: r.get(25)?,
            updated_at: r.get(26)?,
        },
        prev: (r.get(14)?, r.get(15)?, r.get(16)?, r.get(17)?),
        failures: r.get(18)?,
        total_failures: r.get(19)?,
        delivery: (r.get(22)?, r.get(23)?, r.get(24)?),
    })
}

/// Loads one full record inside the caller's transaction.
pub(crate) fn load(tx: &Tx<'_>, op_id: &str) -> Result<Option<Subscription>, StoreError> {
    let raw = tx.query_opt(
        &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE op_id = ?1"),
        args![op_id],
        raw_subscription,
    )?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut sub = raw.sub;
    sub.failures = count_u32(raw.failures, "failure count")?;
    sub.total_failures = u64::try_from(raw.total_failures)
        .map_err(|_| StoreError::Corrupt(format!("total failures {}", raw.total_failures)))?;
    let (d_state, d_eid, d_at) = raw.delivery;
    sub.delivery = delivery(&d_state, d_eid, d_at)?;
    sub.previous_device = match raw.prev {
        (Some(imei), Some(eid), Some(identity_public_key), Some(stopped_at)) => {
            Some(PreviousDevice {
                device: Device {
                    imei,
                    eid,
                    identity_public_key,
                },
                stopped_at,
            })
        }
        (None, None, None, None) => None,
        _ => return Err(StoreError::Corrupt("half-recorded previous device".into())),
    };
    sub.pending_removals = removals::pending_for_op(tx, op_id)?;
    Ok(Some(sub))
}

pub(super) fn summaries(
    tx: &Tx<'_>,
    filter: &str,
    args: &[&dyn Bind],
) -> Result<Vec<SubscriptionSummary>, StoreError> {
    let values: Vec<_> = args.iter().map(|a| a.value()).collect();
    let rows = tx.query_all(
        &format!("SELECT {SUMMARY_COLUMNS} FROM subscriptions s {filter} ORDER BY s.op_id"),
        &values,
        |r| {
            Ok((
                (
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<String>(3)?,
                ),
                r.get::<i64>(4)?,
                r.get::<bool>(5)?,
                (
                    r.get::<String>(6)?,
                    r.get::<Option<String>>(7)?,
                    r.get::<Option<String>>(8)?,
                ),
                r.get::<String>(9)?,
                r.get::<i64>(10)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let ((op_id, iccid, imei, eid), failures, locked, (d, de, da), updated_at, removals) = row;
        out.push(SubscriptionSummary {
            op_id,
            iccid,
            imei,
            eid,
            failures: count_u32(failures, "failure count")?,
            locked,
            delivery: delivery(&d, de, da)?,
            pending_removals: count_u32(removals, "removal count")?,
            updated_at,
        });
    }
    Ok(out)
}

/// The MNO bindings of `op_id`, oldest first.
pub(super) fn bindings(tx: &Tx<'_>, op_id: &str) -> Result<Vec<Binding>, StoreError> {
    let rows = tx.query_all(
        "SELECT op_id, imei, eid, state, started_at, stopped_at, stop_reason \
             FROM bindings WHERE op_id = ?1 ORDER BY id",
        args![op_id],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<Option<String>>(5)?,
                r.get::<Option<String>>(6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (op_id, imei, eid, state, started_at, stopped_at, stop_reason) = row;
        out.push(Binding {
            op_id,
            imei,
            eid,
            state: BindingState::parse(&state)?,
            started_at,
            stopped_at,
            stop_reason,
        });
    }
    Ok(out)
}

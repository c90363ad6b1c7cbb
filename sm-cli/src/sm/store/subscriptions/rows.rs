//! Reading subscription rows: the columns, a full record ([`load`], with its previous
//! device, delivery state and pending removals), the summaries of `sm list`, and the
//! MNO bindings.

use super::super::db::{args, Row, Tx, Value};
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

/// The previous device's four columns: all set or none.
fn previous_device(
    imei: Option<String>,
    eid: Option<String>,
    identity_public_key: Option<Vec<u8>>,
    stopped_at: Option<String>,
) -> Result<Option<PreviousDevice>, StoreError> {
    match (imei, eid, identity_public_key, stopped_at) {
        (Some(imei), Some(eid), Some(identity_public_key), Some(stopped_at)) => {
            Ok(Some(PreviousDevice {
                device: Device {
                    imei,
                    eid,
                    identity_public_key,
                },
                stopped_at,
            }))
        }
        (None, None, None, None) => Ok(None),
        _ => Err(StoreError::Corrupt("half-recorded previous device".into())),
    }
}

fn subscription(r: &Row<'_>) -> Result<Subscription, StoreError> {
    let total_failures: i64 = r.get(19)?;
    Ok(Subscription {
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
        previous_device: previous_device(r.get(14)?, r.get(15)?, r.get(16)?, r.get(17)?)?,
        failures: count_u32(r.get(18)?, "failure count")?,
        total_failures: u64::try_from(total_failures)
            .map_err(|_| StoreError::Corrupt(format!("total failures {total_failures}")))?,
        locked: r.get(20)?,
        locked_at: r.get(21)?,
        delivery: delivery(&r.get::<String>(22)?, r.get(23)?, r.get(24)?)?,
        pending_removals: Vec::new(),
        created_at: r.get(25)?,
        updated_at: r.get(26)?,
    })
}

/// Loads one full record inside the caller's transaction.
pub(crate) fn load(tx: &Tx<'_>, op_id: &str) -> Result<Option<Subscription>, StoreError> {
    let sub = tx.query_opt(
        &format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE op_id = ?1"),
        args![op_id],
        subscription,
    )?;
    let Some(mut sub) = sub else {
        return Ok(None);
    };
    sub.pending_removals = removals::pending_for_op(tx, op_id)?;
    Ok(Some(sub))
}

pub(super) fn summaries(
    tx: &Tx<'_>,
    filter: &str,
    args: &[Value<'_>],
) -> Result<Vec<SubscriptionSummary>, StoreError> {
    tx.query_all(
        &format!("SELECT {SUMMARY_COLUMNS} FROM subscriptions s {filter} ORDER BY s.op_id"),
        args,
        |r| {
            Ok(SubscriptionSummary {
                op_id: r.get(0)?,
                iccid: r.get(1)?,
                imei: r.get(2)?,
                eid: r.get(3)?,
                failures: count_u32(r.get(4)?, "failure count")?,
                locked: r.get(5)?,
                delivery: delivery(&r.get::<String>(6)?, r.get(7)?, r.get(8)?)?,
                updated_at: r.get(9)?,
                pending_removals: count_u32(r.get(10)?, "removal count")?,
            })
        },
    )
}

/// The MNO bindings of `op_id`, oldest first.
pub(super) fn bindings(tx: &Tx<'_>, op_id: &str) -> Result<Vec<Binding>, StoreError> {
    tx.query_all(
        "SELECT op_id, imei, eid, state, started_at, stopped_at, stop_reason \
             FROM bindings WHERE op_id = ?1 ORDER BY id",
        args![op_id],
        |r| {
            Ok(Binding {
                op_id: r.get(0)?,
                imei: r.get(1)?,
                eid: r.get(2)?,
                state: BindingState::parse(&r.get::<String>(3)?)?,
                started_at: r.get(4)?,
                stopped_at: r.get(5)?,
                stop_reason: r.get(6)?,
            })
        },
    )
}

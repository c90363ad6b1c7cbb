//! Subscription records: creation (spec A.8), lookup and listing, the device change
//! (spec B.7, steps 515-518: stop the old MNO binding, start the new, record the new
//! device, ask the old card to remove the profile), the public key change (spec C.4),
//! and the delivery of the profile to the bound card.

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::clock::Now;
use super::error::StoreError;
use super::model::{
    Binding, BindingState, Delivery, Device, KeyMaterial, NewSubscription, OperatorProfile,
    PreviousDevice, SecretBytes, Subscription, SubscriptionSummary,
};
use super::removals;
use super::validate;
use super::Store;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
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
fn secret(row: &Row<'_>, idx: usize) -> rusqlite::Result<SecretBytes> {
    let blob = row
        .get_ref(idx)?
        .as_blob()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Blob, Box::new(e)))?;
    Ok(SecretBytes::new(Zeroizing::new(blob.to_vec())))
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

fn raw_subscription(r: &Row<'_>) -> rusqlite::Result<RawSubscription> {
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
pub(crate) fn load(conn: &Connection, op_id: &str) -> Result<Option<Subscription>, StoreError> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE op_id = ?1"
        ))?
        .query_row([op_id], raw_subscription)
        .optional()?;
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
    sub.pending_removals = removals::pending_for_op(conn, op_id)?;
    Ok(Some(sub))
}

fn summaries(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<SubscriptionSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM subscriptions s {filter} ORDER BY s.op_id"
    ))?;
    let rows = stmt.query_map(args, |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ),
            r.get::<_, i64>(4)?,
            r.get::<_, bool>(5)?,
            (
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ),
            r.get::<_, String>(9)?,
            r.get::<_, i64>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let ((op_id, iccid, imei, eid), failures, locked, (d, de, da), updated_at, removals) = row?;
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

/// Inserts a subscription, its first binding and its audit row, inside the caller's
/// transaction. Shared with [`super::bench::populate`].
pub(crate) fn insert(
    tx: &Connection,
    now: &Now,
    new: &NewSubscription,
    actor: &Actor,
) -> Result<(), StoreError> {
    let exists: Option<String> = tx
        .prepare_cached("SELECT op_id FROM subscriptions WHERE op_id = ?1 OR iccid = ?2")?
        .query_row(params![new.op_id, new.profile.iccid], |r| r.get(0))
        .optional()?;
    match exists {
        Some(op) if op == new.op_id => return Err(StoreError::AlreadyExists(new.op_id.clone())),
        Some(_) => return Err(StoreError::IccidInUse(new.profile.iccid.clone())),
        None => {}
    }
    let p = &new.profile;
    let d = &new.device;
    let k = &new.key;
    tx.prepare_cached(
        "INSERT INTO subscriptions (op_id, iccid, imsi, msisdn, ki, opc, spn, profile_name, \
         public_key, kdf_salt, kdf_params, imei, eid, identity_public_key, delivery, \
         created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'pending', ?15, ?15)",
    )?
    .execute(params![
        new.op_id,
        p.iccid,
        p.imsi,
        p.msisdn,
        p.ki.expose(),
        p.opc.expose(),
        p.spn,
        p.profile_name,
        k.public_key,
        k.kdf_salt,
        k.kdf_params,
        d.imei,
        d.eid,
        d.identity_public_key,
        now.text,
    ])?;
    start_binding(tx, now, &new.op_id, d)?;
    audit::insert(
        tx,
        now,
        &new.op_id,
        actor,
        &AuditAction::Provision,
        AuditResult::Ok,
        &format!("ICCID {}, bound to IMEI {} EID {}", p.iccid, d.imei, d.eid),
    )?;
    Ok(())
}

fn start_binding(tx: &Connection, now: &Now, op_id: &str, d: &Device) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO bindings (op_id, imei, eid, state, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        op_id,
        d.imei,
        d.eid,
        BindingState::Active.as_str(),
        now.text
    ])?;
    Ok(())
}

/// Loads the record for a mutation, refusing unknown and locked ones.
fn load_unlocked(tx: &Connection, op_id: &str) -> Result<Subscription, StoreError> {
    let sub = load(tx, op_id)?.ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
    if sub.locked {
        return Err(StoreError::Locked(op_id.to_string()));
    }
    Ok(sub)
}

impl Store {
    /// Records a new subscription bound to `new.device` (spec A.8), with its active MNO
    /// binding and a `provision` audit row. The profile starts as not yet delivered.
    pub fn create_subscription(
        &self,
        new: &NewSubscription,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        validate::id("OP ID", &new.op_id)?;
        new.profile.validate()?;
        new.key.validate()?;
        new.device.validate()?;
        actor.validate()?;
        self.write(|tx, now| insert(tx, now, new, actor))
    }

    /// The full record, or `None` if the OP ID is unknown.
    pub fn get(&self, op_id: &str) -> Result<Option<Subscription>, StoreError> {
        self.read(|tx| load(tx, op_id))
    }

    /// All subscriptions, ordered by OP ID.
    pub fn list(&self) -> Result<Vec<SubscriptionSummary>, StoreError> {
        self.read(|tx| summaries(tx, "", &[]))
    }

    /// The subscriptions currently bound to the card `eid`.
    pub fn subscriptions_on_eid(&self, eid: &str) -> Result<Vec<SubscriptionSummary>, StoreError> {
        self.read(|tx| summaries(tx, "WHERE s.eid = ?1", &[&eid]))
    }

    /// The MNO bindings of a subscription, oldest first.
    pub fn bindings(&self, op_id: &str) -> Result<Vec<Binding>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT op_id, imei, eid, state, started_at, stopped_at, stop_reason \
             FROM bindings WHERE op_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([op_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (op_id, imei, eid, state, started_at, stopped_at, stop_reason) = row?;
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

    /// The device change of spec B.7 (steps 515-518) in one transaction: stops the
    /// active MNO binding, starts one for `new`, records `new` as the bound device and
    /// the old one as previous, asks the old card (if it is another card) to remove the
    /// profile, cancels any removal pending on the new card, marks the profile pending
    /// for the new card, and audits each step. Refused when the record is locked.
    /// Returns the device that was bound before.
    pub fn change_device(
        &self,
        op_id: &str,
        new: &Device,
        actor: &Actor,
    ) -> Result<Device, StoreError> {
        new.validate()?;
        actor.validate()?;
        self.write(|tx, now| {
            let sub = load_unlocked(tx, op_id)?;
            let old = sub.device;
            if old == *new {
                return Err(StoreError::invalid(
                    "new device",
                    "it is the device already bound",
                ));
            }
            let stopped = tx
                .prepare_cached(
                    "UPDATE bindings SET state = 'stopped', stopped_at = ?2, stop_reason = 'device-change' \
                     WHERE op_id = ?1 AND state = 'active'",
                )?
                .execute(params![op_id, now.text])?;
            if stopped > 0 {
                audit::insert(
                    tx,
                    now,
                    op_id,
                    actor,
                    &AuditAction::BindingStopped,
                    AuditResult::Ok,
                    &format!("IMEI {} EID {}", old.imei, old.eid),
                )?;
            }
            start_binding(tx, now, op_id, new)?;
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::BindingStarted,
                AuditResult::Ok,
                &format!("IMEI {} EID {}", new.imei, new.eid),
            )?;
            let same_card = old.eid == new.eid;
            tx.prepare_cached(
                "UPDATE subscriptions SET imei = ?2, eid = ?3, identity_public_key = ?4, \
                 prev_imei = ?5, prev_eid = ?6, prev_identity_public_key = ?7, prev_stopped_at = ?8, \
                 delivery = CASE WHEN ?9 THEN delivery ELSE 'pending' END, \
                 delivered_eid = CASE WHEN ?9 THEN delivered_eid ELSE NULL END, \
                 delivered_at = CASE WHEN ?9 THEN delivered_at ELSE NULL END, \
                 updated_at = ?8 WHERE op_id = ?1",
            )?
            .execute(params![
                op_id,
                new.imei,
                new.eid,
                new.identity_public_key,
                old.imei,
                old.eid,
                old.identity_public_key,
                now.text,
                same_card,
            ])?;
            if removals::cancel(tx, now, op_id, &new.eid)? {
                audit::insert(
                    tx,
                    now,
                    op_id,
                    actor,
                    &AuditAction::RemovalCancelled,
                    AuditResult::Ok,
                    &format!("EID {} is the bound card again", new.eid),
                )?;
            }
            if !same_card {
                removals::request(tx, now, op_id, &sub.profile.iccid, &old)?;
                audit::insert(
                    tx,
                    now,
                    op_id,
                    actor,
                    &AuditAction::RemovalRequested,
                    AuditResult::Ok,
                    &format!("ICCID {} on EID {}", sub.profile.iccid, old.eid),
                )?;
            }
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::DeviceChange,
                AuditResult::Ok,
                &format!(
                    "from IMEI {} EID {} to IMEI {} EID {}",
                    old.imei, old.eid, new.imei, new.eid
                ),
            )?;
            Ok(old)
        })
    }

    /// Replaces the stored public key with its new salt and KDF parameters (spec C.4),
    /// audited as `rekey`. Refused when the record is locked.
    pub fn replace_public_key(
        &self,
        op_id: &str,
        key: &KeyMaterial,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        key.validate()?;
        actor.validate()?;
        self.write(|tx, now| {
            load_unlocked(tx, op_id)?;
            tx.prepare_cached(
                "UPDATE subscriptions SET public_key = ?2, kdf_salt = ?3, kdf_params = ?4, \
                 updated_at = ?5 WHERE op_id = ?1",
            )?
            .execute(params![
                op_id,
                key.public_key,
                key.kdf_salt,
                key.kdf_params,
                now.text
            ])?;
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::Rekey,
                AuditResult::Ok,
                &format!(
                    "public key replaced ({} bytes DER), new salt and KDF parameters",
                    key.public_key.len()
                ),
            )?;
            Ok(())
        })
    }

    /// Records that the bound card `eid` installed the profile (audited as
    /// `profile-delivered`). Refused for any other card.
    pub fn mark_delivered(&self, op_id: &str, eid: &str, actor: &Actor) -> Result<(), StoreError> {
        validate::id("EID", eid)?;
        actor.validate()?;
        self.write(|tx, now| {
            let sub = load(tx, op_id)?.ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            if sub.device.eid != eid {
                return Err(StoreError::NotBoundDevice {
                    op_id: op_id.to_string(),
                    eid: eid.to_string(),
                });
            }
            tx.prepare_cached(
                "UPDATE subscriptions SET delivery = 'delivered', delivered_eid = ?2, \
                 delivered_at = ?3, updated_at = ?3 WHERE op_id = ?1",
            )?
            .execute(params![op_id, eid, now.text])?;
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::ProfileDelivered,
                AuditResult::Ok,
                &format!("ICCID {} on EID {eid}", sub.profile.iccid),
            )?;
            Ok(())
        })
    }
}

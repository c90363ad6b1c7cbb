//! Subscription records: creation (spec A.8), lookup and listing ([`rows`] reads them),
//! and the changes of an existing record ([`change`]: the device change of spec B.7, the
//! public key change of spec C.4, the delivery of the profile to the bound card).

mod change;
mod rows;

pub(crate) use rows::load;

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::{
    Binding, BindingState, Device, NewSubscription, Subscription, SubscriptionSummary,
};
use super::validate;
use super::Store;

/// Inserts a subscription, its first binding and its audit row, inside the caller's
/// transaction. Shared with [`super::bench::populate`].
pub(crate) fn insert(
    tx: &Tx<'_>,
    now: &Now,
    new: &NewSubscription,
    actor: &Actor,
) -> Result<(), StoreError> {
    let exists: Option<String> = tx.query_opt(
        "SELECT op_id FROM subscriptions WHERE op_id = ?1 OR iccid = ?2",
        args![new.op_id, new.profile.iccid],
        |r| r.get(0),
    )?;
    match exists {
        Some(op) if op == new.op_id => return Err(StoreError::AlreadyExists(new.op_id.clone())),
        Some(_) => return Err(StoreError::IccidInUse(new.profile.iccid.clone())),
        None => {}
    }
    let p = &new.profile;
    let d = &new.device;
    let k = &new.key;
    tx.execute(
        "INSERT INTO subscriptions (op_id, iccid, imsi, msisdn, ki, opc, spn, profile_name, \
         public_key, kdf_salt, kdf_params, imei, eid, identity_public_key, delivery, \
         created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'pending', ?15, ?15)",
        args![
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
        ],
    )?;
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

fn start_binding(tx: &Tx<'_>, now: &Now, op_id: &str, d: &Device) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO bindings (op_id, imei, eid, state, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            op_id,
            d.imei,
            d.eid,
            BindingState::Active.as_str(),
            now.text
        ],
    )?;
    Ok(())
}

/// Loads the record for a mutation, refusing unknown and locked ones.
fn load_unlocked(tx: &Tx<'_>, op_id: &str) -> Result<Subscription, StoreError> {
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
        self.read(|tx| rows::summaries(tx, "", &[]))
    }

    /// The subscriptions currently bound to the card `eid`.
    pub fn subscriptions_on_eid(&self, eid: &str) -> Result<Vec<SubscriptionSummary>, StoreError> {
        self.read(|tx| rows::summaries(tx, "WHERE s.eid = ?1", args![eid]))
    }

    /// The MNO bindings of a subscription, oldest first.
    pub fn bindings(&self, op_id: &str) -> Result<Vec<Binding>, StoreError> {
        self.read(|tx| rows::bindings(tx, op_id))
    }
}

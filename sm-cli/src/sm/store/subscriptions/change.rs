//! Changes of an existing subscription record, each in one transaction with its audit
//! rows: the device change (spec B.7, steps 515-518), the public key change (spec C.4)
//! and the delivery of the profile to the bound card.

use super::super::audit::{self, Actor, AuditAction, AuditResult};
use super::super::db::args;
use super::super::error::StoreError;
use super::super::model::{Device, KeyMaterial};
use super::super::removals;
use super::super::validate;
use super::super::Store;
use super::{load, load_unlocked, start_binding};

impl Store {
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
                .execute("UPDATE bindings SET state = 'stopped', stopped_at = ?2, stop_reason = 'device-change' \
                     WHERE op_id = ?1 AND state = 'active'", args![op_id, now.text])?;
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
            // One card is one EID *and* one identity key: a card that reuses an EID
            // (EIDs are public) is another card (issue 10, finding 8).
            let same_card =
                old.eid == new.eid && old.identity_public_key == new.identity_public_key;
            tx.execute("UPDATE subscriptions SET imei = ?2, eid = ?3, identity_public_key = ?4, \
                 prev_imei = ?5, prev_eid = ?6, prev_identity_public_key = ?7, prev_stopped_at = ?8, \
                 delivery = CASE WHEN ?9 = 1 THEN delivery ELSE 'pending' END, \
                 delivered_eid = CASE WHEN ?9 = 1 THEN delivered_eid ELSE NULL END, \
                 delivered_at = CASE WHEN ?9 = 1 THEN delivered_at ELSE NULL END, \
                 updated_at = ?8 WHERE op_id = ?1", args![
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
            if removals::cancel(tx, now, op_id, &new.eid, &new.identity_public_key)? {
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
            tx.execute(
                "UPDATE subscriptions SET public_key = ?2, kdf_salt = ?3, kdf_params = ?4, \
                 updated_at = ?5 WHERE op_id = ?1",
                args![
                    op_id,
                    key.public_key,
                    key.kdf_salt,
                    key.kdf_params,
                    now.text
                ],
            )?;
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

    /// Records that the bound card (`eid` with the identity key `identity_public_key`)
    /// installed the profile (audited as `profile-delivered`). Refused for any other
    /// card, also one that only shares the EID (issue 10, finding 8).
    pub fn mark_delivered(
        &self,
        op_id: &str,
        eid: &str,
        identity_public_key: &[u8],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        validate::id("EID", eid)?;
        actor.validate()?;
        self.write(|tx, now| {
            let sub = load(tx, op_id)?.ok_or_else(|| StoreError::NotFound(op_id.to_string()))?;
            if sub.device.eid != eid || sub.device.identity_public_key != identity_public_key {
                return Err(StoreError::NotBoundDevice {
                    op_id: op_id.to_string(),
                    eid: eid.to_string(),
                });
            }
            tx.execute(
                "UPDATE subscriptions SET delivery = 'delivered', delivered_eid = ?2, \
                 delivered_at = ?3, updated_at = ?3 WHERE op_id = ?1",
                args![op_id, eid, now.text],
            )?;
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

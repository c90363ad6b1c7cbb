//! Removals owed by old cards (issue 3, "Security behaviour": after a device change the
//! old card learns it at its next contact with the SM, which has it disable and delete
//! the moved profile; the audit log records it). A device change requests one; the old
//! card's sync lists and confirms them; a card that becomes the bound device again has
//! its pending removal cancelled so the sync never deletes a live profile.

use super::audit::{self, Actor, AuditAction, AuditResult};
use super::clock::Now;
use super::db::{args, Tx};
use super::error::StoreError;
use super::model::{Device, PendingRemoval};
use super::validate;
use super::Store;

const COLUMNS: &str = "op_id, iccid, eid, imei, identity_public_key, requested_at";

fn rows(tx: &Tx<'_>, filter: &str, arg: &str) -> Result<Vec<PendingRemoval>, StoreError> {
    tx.query_all(
        &format!("SELECT {COLUMNS} FROM removals WHERE state = 'pending' AND {filter} ORDER BY id"),
        args![arg],
        |r| {
            Ok(PendingRemoval {
                op_id: r.get(0)?,
                iccid: r.get(1)?,
                eid: r.get(2)?,
                imei: r.get(3)?,
                identity_public_key: r.get(4)?,
                requested_at: r.get(5)?,
            })
        },
    )
}

/// Pending removals of one subscription.
pub(crate) fn pending_for_op(tx: &Tx<'_>, op_id: &str) -> Result<Vec<PendingRemoval>, StoreError> {
    rows(tx, "op_id = ?1", op_id)
}

/// Asks the card of `old` to remove the profile `iccid` (no-op if already asked).
pub(crate) fn request(
    tx: &Tx<'_>,
    now: &Now,
    op_id: &str,
    iccid: &str,
    old: &Device,
) -> Result<(), StoreError> {
    let pending: Option<i64> = tx.query_opt(
        "SELECT id FROM removals WHERE op_id = ?1 AND eid = ?2 AND identity_public_key = ?3 \
             AND state = 'pending'",
        args![op_id, old.eid, old.identity_public_key],
        |r| r.get(0),
    )?;
    if pending.is_none() {
        tx.execute("INSERT INTO removals (op_id, iccid, eid, imei, identity_public_key, state, requested_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)", args![
            op_id,
            iccid,
            old.eid,
            old.imei,
            old.identity_public_key,
            now.text
        ])?;
    }
    Ok(())
}

/// Cancels a removal pending on the card `eid` with `identity_public_key`; true if
/// there was one. Another card that only shares the EID cancels nothing (issue 10,
/// finding 8).
pub(crate) fn cancel(
    tx: &Tx<'_>,
    now: &Now,
    op_id: &str,
    eid: &str,
    identity_public_key: &[u8],
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE removals SET state = 'cancelled', closed_at = ?3 \
             WHERE op_id = ?1 AND eid = ?2 AND identity_public_key = ?4 AND state = 'pending'",
        args![op_id, eid, now.text, identity_public_key],
    )?;
    Ok(n > 0)
}

impl Store {
    /// The profiles the card `eid` must delete, oldest request first.
    pub fn pending_removals_for(&self, eid: &str) -> Result<Vec<PendingRemoval>, StoreError> {
        self.read(|tx| rows(tx, "eid = ?1", eid))
    }

    /// Records that the old card (`eid` with `identity_public_key`) deleted the profile
    /// of `op_id` (audited as `old-profile-removed`). A card that only shares the EID
    /// confirms nothing (issue 10, finding 8).
    pub fn confirm_removal(
        &self,
        op_id: &str,
        eid: &str,
        identity_public_key: &[u8],
        actor: &Actor,
    ) -> Result<(), StoreError> {
        validate::id("EID", eid)?;
        actor.validate()?;
        self.write(|tx, now| {
            let n = tx.execute(
                "UPDATE removals SET state = 'confirmed', closed_at = ?3 \
                     WHERE op_id = ?1 AND eid = ?2 AND identity_public_key = ?4 \
                     AND state = 'pending'",
                args![op_id, eid, now.text, identity_public_key],
            )?;
            if n == 0 {
                return Err(StoreError::NoPendingRemoval {
                    op_id: op_id.to_string(),
                    eid: eid.to_string(),
                });
            }
            audit::insert(
                tx,
                now,
                op_id,
                actor,
                &AuditAction::OldProfileRemoved,
                AuditResult::Ok,
                &format!("EID {eid}"),
            )?;
            Ok(())
        })
    }
}

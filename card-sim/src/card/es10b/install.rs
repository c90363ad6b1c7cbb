//! The end of LoadBoundProfilePackage (SGP.22 v2.x §5.7.6, §3.1.3 step 12ff): the
//! collected profile package is decoded (`apdu::saip::Package::decode`), its ICCID
//! checked against StoreMetadata's (`installFailedDueToIccidMismatch`), its file system
//! built (`apdu::saip::fs::install`); then, in ONE state change (saved once, before the
//! answer leaves the card), the profile is added disabled with its metadata and package,
//! and the signed ProfileInstallationResult is recorded as the pending install
//! notification (ListNotification, RetrieveNotificationsList). A refusal answers the
//! signed result with its errorResult, which is kept as the pending install notification
//! just the same (SGP.22 §3.1.3.3, §5.7.6: the result, success or error, stays until
//! RemoveNotificationFromList) and uses up its sequence number, in one state change;
//! nothing else changes. The profile keeps its metadata's notificationConfigurationInfo:
//! which of its later operations notify, and where (`PersistentState::notify`).
//!
//! `simaResponse` carries the SAIP `EUICCResponse` (SAIP v3.3.1 §8.4, PEDefinitions,
//! AUTOMATIC TAGS): `30 { A0 peStatus { 30 { 80 status [81 identification] } }
//! [81 00 profileInstallationAborted] }`.

use super::load::Failure;
use super::session::Load;
use crate::card::Euicc;
use crate::state::new_card::derive_aid;
use crate::state::notification::{Event, Notification};
use crate::state::profile::{NotificationConfig, Profile};
use crate::state::secret::Secret;
use apdu::iso7816::tlv::{self, cons, prim};
use apdu::saip::{Package, SaipError};
use apdu::sgp22::bpp::{BppCommandId, BppError, ErrorReason};
use apdu::sgp22::es10::{events, NotificationMetadata, ProfileState};
use apdu::sgp22::es10b::{
    Encoded, FinalResult, ProfileInstallationResult, ProfileInstallationResultData, StoreMetadata,
};
use apdu::StatusWord;

/// `6F00` (ISO/IEC 7816-4 Table 6, no precise diagnosis): the card holds no key to sign
/// under the session's CI (its PKI changed under the session).
pub const SW_NO_SIGNING_KEY: StatusWord = StatusWord::Other(0x6F00);

/// The SAIP `EUICCResponse`: success (status ok) or the element that failed.
fn euicc_response(refused: Option<&SaipError>) -> Vec<u8> {
    let status = match refused {
        None => vec![prim::<0x80>(vec![0])],
        Some(e) => {
            let mut s = vec![prim::<0x80>(vec![e.pe_status() as u8])];
            if let Some(id) = e.identification {
                s.push(prim::<0x81>(tlv::int_bytes(u64::from(id))));
            }
            s
        }
    };
    let mut c = vec![cons::<0xA0>(vec![cons::<0x30>(status)])];
    if refused.is_some() {
        c.push(prim::<0x81>(Vec::new()));
    }
    tlv::encode(&cons::<0x30>(c))
}

fn refused(e: SaipError) -> Failure {
    Failure {
        error: BppError::new(BppCommandId::LoadProfileElements, e.error_reason()),
        sima_response: Some(euicc_response(Some(&e))),
    }
}

/// The package checks before anything is installed.
fn check_package(l: &Load) -> Result<&StoreMetadata, Failure> {
    let meta = l.metadata.as_ref().ok_or_else(|| {
        Failure::from(BppError::new(
            BppCommandId::LoadProfileElements,
            ErrorReason::IncorrectInputValues,
        ))
    })?;
    let pkg = Package::decode(&l.upp).map_err(refused)?;
    pkg.check_iccid(&meta.iccid).map_err(refused)?;
    apdu::saip::fs::install(&pkg).map_err(refused)?;
    Ok(meta)
}

impl Euicc {
    /// After the last 86: installs the profile, or answers why not.
    pub(super) fn install_bpp(&mut self, l: &Load) -> Result<Vec<u8>, StatusWord> {
        let meta = match check_package(l) {
            Ok(m) => m,
            Err(f) => return self.install_failed(l, &f),
        };
        let seq = self.state.next_notification_seq;
        let aid = self.free_isdp_aid();
        let answer = self.sign_result(
            l,
            seq,
            Some(meta),
            FinalResult::Success {
                aid: aid.clone(),
                sima_response: euicc_response(None),
            },
        )?;
        let profile = Profile {
            iccid: meta.iccid,
            aid,
            state: ProfileState::Disabled,
            class: meta.profile_class,
            nickname: None,
            service_provider: Some(meta.service_provider_name.clone()),
            name: Some(meta.profile_name.clone()),
            notification_configs: meta
                .notification_configs
                .iter()
                .map(NotificationConfig::from)
                .collect(),
            imsi: None,
            msisdn: None,
            ki: None,
            opc: None,
            package: Some(Secret::new(l.upp.to_vec())),
            sim: Default::default(),
        };
        let notification = Notification {
            seq,
            event: Event::Install,
            address: l.server_address.clone(),
            iccid: Some(meta.iccid),
            signed: Some(answer.clone()),
        };
        self.change(|s| {
            s.profiles.push(profile);
            s.notifications.push(notification);
            s.next_notification_seq = seq.wrapping_add(1);
        });
        Ok(answer)
    }

    /// The signed errorResult, recorded as the pending install notification under the
    /// next sequence number (its ICCID the metadata's, when it was kept); nothing is
    /// installed.
    pub(super) fn install_failed(&mut self, l: &Load, f: &Failure) -> Result<Vec<u8>, StatusWord> {
        let seq = self.state.next_notification_seq;
        let meta = l.metadata.as_ref();
        let answer = self.sign_result(
            l,
            seq,
            meta,
            FinalResult::Error {
                command: f.error.command,
                reason: f.error.reason,
                sima_response: f.sima_response.clone(),
            },
        )?;
        let notification = Notification {
            seq,
            event: Event::Install,
            address: l.server_address.clone(),
            iccid: meta.map(|m| m.iccid),
            signed: Some(answer.clone()),
        };
        self.change(|s| {
            s.notifications.push(notification);
            s.next_notification_seq = seq.wrapping_add(1);
        });
        Ok(answer)
    }

    /// ProfileInstallationResult (BF37) with euiccSignPIR over the BF27 TLV.
    fn sign_result(
        &self,
        l: &Load,
        seq: u32,
        meta: Option<&StoreMetadata>,
        final_result: FinalResult,
    ) -> Result<Vec<u8>, StatusWord> {
        let chain = self
            .state
            .pki
            .chain_for_ci(&l.ci_pkid)
            .ok_or(SW_NO_SIGNING_KEY)?;
        let data = Encoded::new(ProfileInstallationResultData {
            transaction_id: l.transaction_id.clone(),
            notification: NotificationMetadata {
                seq,
                events: events::INSTALL,
                address: l.server_address.clone(),
                iccid: meta.map(|m| m.iccid),
            },
            smdp_oid: (!l.smdp_oid.is_empty()).then(|| l.smdp_oid.clone()),
            final_result,
        });
        let signature = chain.euicc_key.sign(data.der()).to_vec();
        Ok(ProfileInstallationResult { data, signature }.encode())
    }

    /// The first ISD-P AID of the `derive_aid` pattern no profile uses.
    fn free_isdp_aid(&self) -> Vec<u8> {
        (0..=u8::MAX)
            .map(derive_aid)
            .find(|a| self.state.profiles.iter().all(|p| &p.aid != a))
            .unwrap_or_else(|| derive_aid(u8::MAX))
    }
}

//! ES10b.LoadBoundProfilePackage (SGP.22 v2.x §5.7.6) on the card, over the `Prepared`
//! download session: the messages lpac cuts the BF36 into (`apdu::sgp22::bpp::structure`:
//! the BF36 header with BF23, A0, the A1 header, each 88, A2, the A3 header, each 86) are
//! not whole TLVs, so `es10` routes them here by the session's state
//! ([`is_bpp_message`]) before any ES10 decoding. Each goes to the session's
//! `BppLoader`, which verifies and decrypts it; this file acts on what it yields:
//!
//! - InitialiseSecureChannel (§5.5.2): the session's transactionId
//!   (`invalidTransactionId`), smdpSign over `signed_data(otPK.EUICC.ECKA)` with
//!   PK.DPpb kept from PrepareDownload (`invalidSignature`), then ShS = ECKA(otSK.EUICC,
//!   smdpOtpk) and the Annex G KDF with the EID; otSK.EUICC is dropped (zeroized);
//! - StoreMetadata (§5.5.3): the 88 pieces joined and decoded at the last one; an ICCID
//!   already on the card is `iccidAlreadyExistsOnEuicc`;
//! - the profile elements: the 86 plaintexts collected; after the last one
//!   `install_bpp` ([`super::install`]) installs the profile in one state change.
//!
//! Intermediate messages answer `9000` with no data (lpac needs no data, P6 §2); the
//! last `86`, and any refusal, answer the signed ProfileInstallationResult. A refusal
//! installs nothing and ends the session; its result is kept as the pending install
//! notification ([`super::install`]).

use super::session::{DownloadSession, Load};
use crate::card::Euicc;
use apdu::sgp22::bpp::{BppCommandId, BppError, BppEvent, BppLoader, ErrorReason, SessionKeys};
use apdu::sgp22::es10b::StoreMetadata;
use apdu::sgp22::pki::PublicKey;
use apdu::StatusWord;
use zeroize::Zeroizing;

/// Largest StoreMetadataRequest joined from its 88 pieces (names, addresses, an icon of
/// at most 1024 bytes, SGP.22 §5.5.3).
pub const MAX_METADATA: usize = 4096;

/// Why a download failed: the ErrorResult of the PIR, and the SAIP `EUICCResponse` for
/// its simaResponse when the package itself was refused.
#[derive(Debug)]
pub(super) struct Failure {
    pub error: BppError,
    pub sima_response: Option<Vec<u8>>,
}

impl From<BppError> for Failure {
    fn from(error: BppError) -> Self {
        Failure {
            error,
            sima_response: None,
        }
    }
}

fn fail(command: BppCommandId, reason: ErrorReason) -> Failure {
    BppError::new(command, reason).into()
}

/// Whether `msg` belongs to LoadBoundProfilePackage in the running session: the BF36
/// header once PrepareDownload succeeded, then the BPP's own top-level tags while the
/// load runs (A0 ConfigureISDP, A1/88 StoreMetadata, A2 ReplaceSessionKeys, A3/86 the
/// profile elements; SGP.22 §5.7.6 `BoundProfilePackage`).
pub fn is_bpp_message(session: &DownloadSession, msg: &[u8]) -> bool {
    match session {
        DownloadSession::Prepared { .. } => msg.starts_with(&[0xBF, 0x36]),
        DownloadSession::Loading(_) => {
            matches!(msg.first(), Some(0xA0 | 0xA1 | 0x88 | 0xA2 | 0xA3 | 0x86))
        }
        _ => false,
    }
}

impl Euicc {
    /// One LoadBoundProfilePackage message ([`is_bpp_message`] said it is one).
    pub(in crate::card) fn load_bpp(&mut self, msg: &[u8]) -> Result<Vec<u8>, StatusWord> {
        let mut load = match std::mem::take(&mut self.vol.download) {
            DownloadSession::Prepared {
                transaction_id,
                smdp_oid,
                server_address,
                ci_pkid,
                otsk,
                dp_pb,
            } => Box::new(Load {
                transaction_id,
                smdp_oid,
                server_address,
                ci_pkid,
                otsk: Some(otsk),
                dp_pb,
                loader: BppLoader::new(),
                metadata_bytes: Vec::new(),
                metadata: None,
                upp: Zeroizing::new(Vec::new()),
            }),
            DownloadSession::Loading(l) => l,
            other => {
                self.vol.download = other;
                return Err(StatusWord::ConditionsNotSatisfied);
            }
        };
        match self.load_step(&mut load, msg) {
            Ok(false) => {
                self.vol.download = DownloadSession::Loading(load);
                Ok(Vec::new())
            }
            // The session ends with the result either way (SGP.22 §5.7.6).
            Ok(true) => self.install_bpp(&load),
            Err(f) => self.install_failed(&load, &f),
        }
    }

    /// Feeds one message; `Ok(true)` after the last 86.
    fn load_step(&mut self, l: &mut Load, msg: &[u8]) -> Result<bool, Failure> {
        match l.loader.feed(msg)? {
            BppEvent::InitialiseSecureChannel(isc) => {
                let isc_err = |r| fail(BppCommandId::InitialiseSecureChannel, r);
                if isc.transaction_id != l.transaction_id {
                    return Err(isc_err(ErrorReason::InvalidTransactionId));
                }
                let otsk = l
                    .otsk
                    .take()
                    .ok_or_else(|| isc_err(ErrorReason::IncorrectInputValues))?;
                let signed = isc.signed_data(&otsk.public_key().to_sec1());
                let sig: [u8; 64] = isc
                    .smdp_sign
                    .as_slice()
                    .try_into()
                    .map_err(|_| isc_err(ErrorReason::InvalidSignature))?;
                l.dp_pb
                    .verify(&signed, &sig)
                    .map_err(|_| isc_err(ErrorReason::InvalidSignature))?;
                let peer = PublicKey::from_sec1(otsk.curve(), &isc.smdp_otpk)
                    .map_err(|_| isc_err(ErrorReason::IncorrectInputValues))?;
                let shs = otsk
                    .ecdh(&peer)
                    .ok_or_else(|| isc_err(ErrorReason::IncorrectInputValues))?;
                let keys = SessionKeys::kdf(shs.as_slice(), &isc.crt, &self.state.eid.0)?;
                l.loader.establish(&keys)?;
            }
            BppEvent::StoreMetadata { data, last } => {
                let meta_err = |r| fail(BppCommandId::StoreMetadata, r);
                if l.metadata_bytes.len() + data.len() > MAX_METADATA {
                    return Err(meta_err(ErrorReason::IncorrectInputValues));
                }
                l.metadata_bytes.extend_from_slice(&data);
                if last {
                    let m = StoreMetadata::decode(&l.metadata_bytes)
                        .map_err(|_| meta_err(ErrorReason::IncorrectInputValues))?;
                    if self.state.find_iccid(&m.iccid).is_some() {
                        return Err(meta_err(ErrorReason::IccidAlreadyExistsOnEuicc));
                    }
                    l.metadata = Some(m);
                }
            }
            BppEvent::ProfileElementSegment { data, last } => {
                if l.upp.len() + data.len() > apdu::saip::MAX_PACKAGE_SIZE {
                    return Err(fail(
                        BppCommandId::LoadProfileElements,
                        ErrorReason::InsufficientMemoryForProfile,
                    ));
                }
                l.upp.extend_from_slice(&data);
                return Ok(last);
            }
            BppEvent::ConfigureIsdp(_)
            | BppEvent::StoreMetadataStart
            | BppEvent::ReplaceSessionKeys
            | BppEvent::ProfileElementsStart => {}
        }
        Ok(false)
    }
}

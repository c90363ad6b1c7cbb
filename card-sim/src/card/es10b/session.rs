//! The download session of SGP.22 §3.1.3 as the card keeps it between ES10b commands:
//! volatile (a power cycle or reset drops it, SGP.22 §3.1.3: nothing of a download
//! survives before the final install), one at a time (a new GetEUICCChallenge or
//! AuthenticateServer replaces the running one, so an interrupted download leaves
//! nothing behind).

use apdu::sgp22::bpp::BppLoader;
use apdu::sgp22::es10b::StoreMetadata;
use apdu::sgp22::pki::{PrivateKey, PublicKey};
use zeroize::Zeroizing;

/// Where the running download is.
#[derive(Debug, Default)]
pub enum DownloadSession {
    /// No session.
    #[default]
    Idle,
    /// GetEUICCChallenge answered this challenge; AuthenticateServer may use it once.
    Challenged { challenge: [u8; 16] },
    /// AuthenticateServer succeeded (SGP.22 §5.7.13): the session's transactionId, the
    /// SM-DP+ OID from CERT.DPauth, and the euiccSignature1 PrepareDownload's
    /// smdpSignature2 covers (§5.7.14).
    Authenticated {
        transaction_id: Vec<u8>,
        smdp_oid: Vec<u8>,
        /// serverAddress of serverSigned1: where the install notification goes.
        server_address: String,
        euicc_signature1: Vec<u8>,
        /// euiccCiPKIdToBeUsed: the chain the card signs this session with.
        ci_pkid: Vec<u8>,
    },
    /// PrepareDownload succeeded (§5.7.14): otSK.EUICC.ECKA for the BPP's key agreement
    /// (SGP.22 §5.5.2, Annex G). Zeroized on drop (apdu's `PrivateKey`).
    Prepared {
        transaction_id: Vec<u8>,
        smdp_oid: Vec<u8>,
        server_address: String,
        ci_pkid: Vec<u8>,
        otsk: PrivateKey,
        /// PK.DPpb.ECDSA of CERT.DPpb: smdpSign of InitialiseSecureChannel (§5.5.2).
        dp_pb: PublicKey,
    },
    /// LoadBoundProfilePackage under way (§5.7.6, after the BF36 header).
    Loading(Box<Load>),
}

/// A LoadBoundProfilePackage in progress: the session's identity, the BPP reader, and
/// what the segments brought so far (nothing of it is installed before the last `86`).
#[derive(Debug)]
pub struct Load {
    pub transaction_id: Vec<u8>,
    pub smdp_oid: Vec<u8>,
    pub server_address: String,
    pub ci_pkid: Vec<u8>,
    /// otSK.EUICC.ECKA, until InitialiseSecureChannel has used it (then dropped,
    /// zeroized).
    pub otsk: Option<PrivateKey>,
    pub dp_pb: PublicKey,
    pub loader: BppLoader,
    /// The `88` segments' data so far (StoreMetadataRequest, BF25).
    pub metadata_bytes: Vec<u8>,
    pub metadata: Option<StoreMetadata>,
    /// The profile package so far (the `86` segments decrypted): holds Ki / OPc.
    pub upp: Zeroizing<Vec<u8>>,
}

impl DownloadSession {
    /// Takes the pending challenge out (single use: a second AuthenticateServer with the
    /// same challenge finds none).
    pub fn take_challenge(&mut self) -> Option<[u8; 16]> {
        match std::mem::take(self) {
            DownloadSession::Challenged { challenge } => Some(challenge),
            other => {
                *self = other;
                None
            }
        }
    }

    /// The transactionId of the running session, once authenticated.
    pub fn transaction_id(&self) -> Option<&[u8]> {
        match self {
            DownloadSession::Authenticated { transaction_id, .. }
            | DownloadSession::Prepared { transaction_id, .. } => Some(transaction_id),
            DownloadSession::Loading(l) => Some(&l.transaction_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_used_once() {
        let mut s = DownloadSession::Challenged { challenge: [7; 16] };
        assert_eq!(s.take_challenge(), Some([7; 16]));
        assert_eq!(s.take_challenge(), None);
        assert!(matches!(s, DownloadSession::Idle));
        let mut a = DownloadSession::Authenticated {
            transaction_id: vec![1],
            smdp_oid: vec![],
            server_address: String::new(),
            euicc_signature1: vec![],
            ci_pkid: vec![],
        };
        assert_eq!(a.take_challenge(), None);
        assert_eq!(a.transaction_id(), Some(&[1u8][..]));
    }
}

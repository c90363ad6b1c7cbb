//! The ES10 functions that describe the eUICC (SGP.22 §5.7.20 GetEID, §5.7.8
//! GetEUICCInfo, §5.7.7 GetEUICCChallenge, §5.7.3 EuiccConfiguredAddresses, §5.7.4
//! SetDefaultDpAddress, §5.7.22 GetRAT). The eUICC's capabilities are constants here;
//! the CI key identifiers (euiccCiPKIdListForVerification / ForSigning, SGP.22 §4.3)
//! come from the card's PKI: the CIs it trusts and those it holds a chain under.

use super::super::Euicc;
use apdu::iso7816::tlv::ConsTag;
use apdu::sgp22::es10::{
    result, tags, ChallengeResponse, ConfiguredAddresses, EidResponse, EuiccInfo1, EuiccInfo2,
    RatResponse, ResultCode,
};
use rand_core::Rng;

/// SGP.22 version implemented (`svn`): v2.2.2, the ES10b level osmo-smdpp and lpac speak.
pub const SVN: [u8; 3] = [2, 2, 2];
/// SIMalliance profile package version supported.
pub const PROFILE_VERSION: [u8; 3] = [2, 3, 1];
/// Firmware version: this crate's.
pub const FIRMWARE_VERSION: [u8; 3] = [0, 1, 0];
/// SAS accreditation number: none, said plainly.
pub const SAS_ACCREDITATION: &str = "NOT-ACCREDITED";

impl Euicc {
    pub(super) fn get_eid(&self) -> Vec<u8> {
        EidResponse(self.state.eid).encode()
    }

    pub(super) fn euicc_info1(&self) -> Vec<u8> {
        EuiccInfo1 {
            svn: SVN,
            verification_keys: self.state.pki.trusted_ci_skis(),
            signing_keys: self.state.pki.signing_ci_skis(),
        }
        .encode()
    }

    pub(crate) fn euicc_info2(&self) -> Vec<u8> {
        let installed = self.state.profiles.len().min(255) as u8;
        EuiccInfo2 {
            profile_version: PROFILE_VERSION,
            svn: SVN,
            firmware_version: FIRMWARE_VERSION,
            // SGP.22 §4.3 ExtendedCardResource: 81 installed applications, 82 free NVM,
            // 83 free volatile memory.
            ext_card_resource: vec![
                0x81, 0x01, installed, 0x82, 0x03, 0x10, 0x00, 0x00, 0x83, 0x02, 0x40, 0x00,
            ],
            // UICCCapability: usimSupport(1), akaMilenage(4): 0100 1000, 3 unused bits.
            uicc_capability: vec![0x03, 0x48],
            // RspCapability: additionalProfile(0), testProfileSupport(3): 1001, 4 unused.
            rsp_capability: vec![0x04, 0x90],
            verification_keys: self.state.pki.trusted_ci_skis(),
            signing_keys: self.state.pki.signing_ci_skis(),
            pp_version: [0, 0, 1],
            sas_accreditation_number: SAS_ACCREDITATION.into(),
            // basicEuicc.
            euicc_category: Some(1),
        }
        .encode()
    }

    /// GetEUICCChallenge (SGP.22 §5.7.7): 16 fresh bytes, kept for one AuthenticateServer;
    /// a new challenge ends any running download session (`card::es10b::session`).
    pub(super) fn challenge(&mut self) -> Vec<u8> {
        let mut c = [0u8; 16];
        self.rng.fill_bytes(&mut c);
        self.vol.download =
            crate::card::es10b::session::DownloadSession::Challenged { challenge: c };
        ChallengeResponse(c).encode()
    }

    pub(super) fn configured_addresses(&self) -> Vec<u8> {
        ConfiguredAddresses {
            default_dp: self.state.default_dp_address.clone(),
            root_ds: self.state.root_ds_address.clone(),
        }
        .encode()
    }

    /// An empty address removes the default SM-DP+ address.
    pub(super) fn set_default_dp(&mut self, address: String) -> Vec<u8> {
        self.change(|s| s.default_dp_address = (!address.is_empty()).then_some(address));
        ResultCode::answer(const { ConsTag::of(tags::SET_DEFAULT_DP) }, result::OK)
    }

    /// No rules authorisation table: an empty list, `BF43 02 A0 00`.
    pub(super) fn rat(&self) -> Vec<u8> {
        RatResponse(Vec::new()).encode()
    }
}

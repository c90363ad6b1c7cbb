//! The ES10 functions sm-cli uses, typed: each builds its request with `apdu::sgp22::es10`,
//! sends it through the session and decodes the answer; a non-zero result code becomes
//! a [`CliError::Es10`] with the function's meaning of that code (SGP.22 §5.7).

use crate::errors::{es10_error, es10_function, CliError};
use crate::lpa::session::Es10Session;
use crate::reader::CardLink;
use apdu::sgp22::es10::{
    ConfiguredAddresses, EidResponse, Es10Request, EuiccInfo2, Iccid, MemoryResetOptions,
    ProfileInfo, ProfileInfoRequest, ProfileInfoResponse, ProfileRef, ProfileSearch, ResultCode,
};
use apdu::Eid;

fn decoded<T>(tag: u32, r: apdu::Result<T>) -> Result<T, CliError> {
    r.map_err(|e| CliError::malformed(es10_function(tag), e))
}

impl<L: CardLink> Es10Session<'_, L> {
    /// GetEID.
    pub fn get_eid(&mut self) -> Result<Eid, CliError> {
        let req = Es10Request::GetEid;
        let a = self.request(&req)?;
        Ok(decoded(req.tag(), EidResponse::decode(&a))?.0)
    }

    /// GetEUICCInfo2.
    pub fn get_euicc_info2(&mut self) -> Result<EuiccInfo2, CliError> {
        let req = Es10Request::GetEuiccInfo2;
        let a = self.request(&req)?;
        decoded(req.tag(), EuiccInfo2::decode(&a))
    }

    /// EuiccConfiguredAddresses.
    pub fn get_configured_addresses(&mut self) -> Result<ConfiguredAddresses, CliError> {
        let req = Es10Request::GetConfiguredAddresses;
        let a = self.request(&req)?;
        decoded(req.tag(), ConfiguredAddresses::decode(&a))
    }

    /// GetProfilesInfo, all profiles or those matching `search`.
    pub fn get_profiles(
        &mut self,
        search: Option<ProfileSearch>,
    ) -> Result<Vec<ProfileInfo>, CliError> {
        let req = Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search,
            tag_list: None,
        });
        let a = self.request(&req)?;
        match decoded(req.tag(), ProfileInfoResponse::decode(&a))? {
            ProfileInfoResponse::List(l) => Ok(l),
            ProfileInfoResponse::Error(code) => Err(es10_error(req.tag(), code)),
        }
    }

    /// EnableProfile.
    pub fn enable_profile(&mut self, target: ProfileRef, refresh: bool) -> Result<(), CliError> {
        self.result(&Es10Request::EnableProfile { target, refresh })
    }

    /// DisableProfile.
    pub fn disable_profile(&mut self, target: ProfileRef, refresh: bool) -> Result<(), CliError> {
        self.result(&Es10Request::DisableProfile { target, refresh })
    }

    /// DeleteProfile.
    pub fn delete_profile(&mut self, target: ProfileRef) -> Result<(), CliError> {
        self.result(&Es10Request::DeleteProfile(target))
    }

    /// SetNickname.
    pub fn set_nickname(&mut self, iccid: Iccid, nickname: String) -> Result<(), CliError> {
        self.result(&Es10Request::SetNickname { iccid, nickname })
    }

    /// eUICCMemoryReset.
    pub fn memory_reset(&mut self, options: MemoryResetOptions) -> Result<(), CliError> {
        self.result(&Es10Request::MemoryReset(options))
    }

    /// Sends a function whose answer is `{ 80 resultCode }` and checks the code.
    fn result(&mut self, req: &Es10Request) -> Result<(), CliError> {
        let tag = req.tag();
        let a = self.request(req)?;
        let rc = decoded(tag, ResultCode::decode(tag, &a))?;
        if rc.is_ok() {
            Ok(())
        } else {
            Err(es10_error(tag, rc.code))
        }
    }
}

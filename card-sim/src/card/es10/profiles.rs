//! The ES10c profile functions (SGP.22 §5.7.15 GetProfilesInfo, §5.7.16 EnableProfile,
//! §5.7.17 DisableProfile, §5.7.18 DeleteProfile, §5.7.19 eUICCMemoryReset, §5.7.21
//! SetNickname). Each change goes through `Euicc::change` (saved before the answer).
//! Enable, disable and delete make a notification only for a profile whose metadata
//! lists that operation (notificationConfigurationInfo, SGP.22 §3.2.1-3.2.3), to that
//! entry's address (`PersistentState::notify`); PP#0 and test profiles list none.
//!
//! Choices where SGP.22 leaves room:
//! - enabling a profile disables the enabled one; each of the two notifies as its own
//!   profile's configuration says;
//! - the refresh flag is accepted either way; no REFRESH is issued (no CAT session yet);
//! - the provisioning profile can be disabled but not deleted (`disallowedByPolicy`),
//!   and memory reset never deletes it; when a reset deletes the enabled profile, the
//!   provisioning profile is enabled again so the card keeps connectivity;
//! - memory reset creates no notifications and keeps the pending ones.

use super::super::Euicc;
use crate::state::notification::Event;
use crate::state::PersistentState;
use apdu::iso7816::tlv::ConsTag;
use apdu::sgp22::es10::{
    result, tags, Iccid, MemoryResetOptions, ProfileClass, ProfileInfoRequest, ProfileInfoResponse,
    ProfileRef, ProfileState, ResultCode,
};

/// `nothingToDelete` of eUICCMemoryReset.
const NOTHING_TO_DELETE: u8 = 1;

impl Euicc {
    pub(super) fn profiles_info(&self, req: &ProfileInfoRequest) -> Vec<u8> {
        let list = self
            .state
            .profiles
            .iter()
            .map(|p| p.info())
            .filter(|i| req.matches(i))
            .collect();
        ProfileInfoResponse::List(list).encode_with(req.tag_list.as_deref())
    }

    /// Runs `change` on the profile `target` names, as one change of the state, and
    /// answers its result code under `tag`; `profileNotFound`-style `NOT_FOUND` when
    /// no profile matches.
    fn change_profile(
        &mut self,
        tag: ConsTag,
        target: &ProfileRef,
        change: impl FnOnce(&mut PersistentState, usize) -> u8,
    ) -> Vec<u8> {
        let code = self.change(|s| match s.find(target) {
            Some(i) => change(s, i),
            None => result::NOT_FOUND,
        });
        ResultCode::answer(tag, code)
    }

    pub(super) fn enable(&mut self, target: &ProfileRef, _refresh: bool) -> Vec<u8> {
        self.change_profile(const { ConsTag::of(tags::ENABLE) }, target, |s, i| {
            if s.profiles[i].is_enabled() {
                return result::WRONG_STATE;
            }
            if let Some(j) = s.profiles.iter().position(|p| p.is_enabled()) {
                s.profiles[j].state = ProfileState::Disabled;
                s.notify(j, Event::Disable);
            }
            s.profiles[i].state = ProfileState::Enabled;
            s.notify(i, Event::Enable);
            result::OK
        })
    }

    pub(super) fn disable(&mut self, target: &ProfileRef, _refresh: bool) -> Vec<u8> {
        self.change_profile(const { ConsTag::of(tags::DISABLE) }, target, |s, i| {
            if !s.profiles[i].is_enabled() {
                return result::WRONG_STATE;
            }
            s.profiles[i].state = ProfileState::Disabled;
            s.notify(i, Event::Disable);
            result::OK
        })
    }

    pub(super) fn delete(&mut self, target: &ProfileRef) -> Vec<u8> {
        self.change_profile(const { ConsTag::of(tags::DELETE) }, target, |s, i| {
            if s.profiles[i].is_enabled() {
                return result::WRONG_STATE;
            }
            if s.profiles[i].class == ProfileClass::Provisioning {
                return result::DISALLOWED_BY_POLICY;
            }
            s.notify(i, Event::Delete);
            s.profiles.remove(i);
            result::OK
        })
    }

    pub(super) fn memory_reset(&mut self, o: MemoryResetOptions) -> Vec<u8> {
        let code = self.change(|s| {
            let before = s.profiles.len();
            s.profiles.retain(|p| match p.class {
                ProfileClass::Operational => !o.delete_operational,
                ProfileClass::Test => !o.delete_field_loaded_test,
                ProfileClass::Provisioning => true,
            });
            let deleted = s.profiles.len() != before;
            let reset_dp = o.reset_default_dp && s.default_dp_address.take().is_some();
            if deleted && s.enabled().is_none() {
                if let Some(pp) = s.provisioning() {
                    s.profiles[pp].state = ProfileState::Enabled;
                }
            }
            if deleted || reset_dp {
                result::OK
            } else {
                NOTHING_TO_DELETE
            }
        });
        ResultCode::answer(const { ConsTag::of(tags::MEMORY_RESET) }, code)
    }

    /// An empty nickname removes it.
    pub(super) fn set_nickname(&mut self, iccid: &Iccid, nickname: String) -> Vec<u8> {
        let target = ProfileRef::Iccid(*iccid);
        self.change_profile(
            const { ConsTag::of(tags::SET_NICKNAME) },
            &target,
            |s, i| {
                s.profiles[i].nickname = (!nickname.is_empty()).then_some(nickname);
                result::OK
            },
        )
    }
}

//! `sm-cli profiles list|enable|disable|delete|nickname` (SGP.22 §5.7.15-§5.7.21), and
//! `profiles download`, whose arguments and run are `commands::download`'s.
//! Profiles are named by ICCID digits or `--aid HEX`; SetNickname takes only an ICCID,
//! so with `--aid` the ICCID is looked up first with GetProfilesInfo.

use crate::commands::target::{aid, describe, iccid, profile_ref, Target};
use crate::context::App;
use crate::errors::CliError;
use crate::output::{listing, Report};
use apdu::sgp22::es10::{ProfileClass, ProfileInfo, ProfileRef, ProfileSearch, ProfileState};
use clap::Subcommand;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum ProfilesCmd {
    /// List the profiles (GetProfilesInfo)
    List,
    /// Enable a profile (EnableProfile)
    Enable {
        #[command(flatten)]
        target: Target,
        /// Ask the eUICC to REFRESH the terminal after the switch (refreshFlag)
        #[arg(long)]
        refresh: bool,
    },
    /// Disable a profile (DisableProfile)
    Disable {
        #[command(flatten)]
        target: Target,
        /// Ask the eUICC to REFRESH the terminal after the switch (refreshFlag)
        #[arg(long)]
        refresh: bool,
    },
    /// Delete a disabled profile (DeleteProfile)
    Delete {
        #[command(flatten)]
        target: Target,
    },
    /// Download a profile from the SM-DP+ of an activation code (SGP.22 §3.1.3)
    Download(crate::commands::download::DownloadArgs),
    /// Set a profile's nickname (SetNickname): `nickname ICCID NAME` or `nickname --aid HEX NAME`
    Nickname {
        /// ICCID and the new nickname, or only the nickname with --aid
        #[arg(num_args = 1..=2, required = true, value_names = ["ICCID", "NAME"])]
        args: Vec<String>,
        /// Choose the profile by its AID (hex) instead of its ICCID
        #[arg(long, value_name = "HEX")]
        aid: Option<String>,
    },
}

#[derive(Serialize)]
struct ProfileView {
    iccid: Option<String>,
    aid: Option<String>,
    state: Option<ProfileState>,
    class: Option<ProfileClass>,
    service_provider: Option<String>,
    name: Option<String>,
    nickname: Option<String>,
}

impl From<ProfileInfo> for ProfileView {
    fn from(p: ProfileInfo) -> ProfileView {
        ProfileView {
            iccid: p.iccid.map(|i| i.digits()),
            aid: p.aid.map(hex::encode_upper),
            state: p.state,
            class: p.class,
            service_provider: p.service_provider,
            name: p.profile_name,
            nickname: p.nickname,
        }
    }
}

#[derive(Serialize)]
struct List {
    profiles: Vec<ProfileView>,
}

impl Report for List {
    fn human(&self) -> String {
        let state = |s: Option<ProfileState>| match s {
            Some(ProfileState::Enabled) => "enabled",
            Some(ProfileState::Disabled) => "disabled",
            None => "",
        };
        listing(
            &self.profiles,
            "No profiles on this eUICC.",
            &[
                "ICCID", "STATE", "CLASS", "PROVIDER", "NAME", "NICKNAME", "AID",
            ],
            |p| {
                vec![
                    p.iccid.clone().unwrap_or_default(),
                    state(p.state).into(),
                    p.class.map(|c| c.name()).unwrap_or_default().into(),
                    p.service_provider.clone().unwrap_or_default(),
                    p.name.clone().unwrap_or_default(),
                    p.nickname.clone().unwrap_or_default(),
                    p.aid.clone().unwrap_or_default(),
                ]
            },
        )
    }
}

#[derive(Serialize)]
struct Done {
    action: &'static str,
    iccid: Option<String>,
    aid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
    result: &'static str,
    #[serde(skip)]
    who: String,
}

impl Done {
    fn new(action: &'static str, target: &ProfileRef) -> Done {
        let (iccid, aid) = match target {
            ProfileRef::Iccid(i) => (Some(i.digits()), None),
            ProfileRef::Aid(a) => (None, Some(hex::encode_upper(a))),
        };
        Done {
            action,
            iccid,
            aid,
            nickname: None,
            result: "ok",
            who: describe(target),
        }
    }
}

impl Report for Done {
    fn human(&self) -> String {
        let who = &self.who;
        match (self.action, &self.nickname) {
            ("enable", _) => format!("Enabled {who}."),
            ("disable", _) => format!("Disabled {who}."),
            ("delete", _) => format!("Deleted {who}."),
            (_, Some(n)) => format!("Set the nickname of {who} to '{n}'."),
            (a, None) => format!("{a}: {who}: ok"),
        }
    }
}

pub fn run(app: &App, cmd: ProfilesCmd) -> Result<(), CliError> {
    match cmd {
        ProfilesCmd::List => {
            let (list, _) = app.with_es10(|s| s.get_profiles(None))?;
            app.out.emit(&List {
                profiles: list.into_iter().map(ProfileView::from).collect(),
            })
        }
        ProfilesCmd::Enable { target, refresh } => {
            let t = profile_ref(&target)?;
            app.with_es10(|s| s.enable_profile(t.clone(), refresh))?;
            app.out.emit(&Done::new("enable", &t))
        }
        ProfilesCmd::Disable { target, refresh } => {
            let t = profile_ref(&target)?;
            app.with_es10(|s| s.disable_profile(t.clone(), refresh))?;
            app.out.emit(&Done::new("disable", &t))
        }
        ProfilesCmd::Delete { target } => {
            let t = profile_ref(&target)?;
            app.with_es10(|s| s.delete_profile(t.clone()))?;
            app.out.emit(&Done::new("delete", &t))
        }
        ProfilesCmd::Nickname { args, aid: by_aid } => nickname(app, args, by_aid),
        ProfilesCmd::Download(a) => crate::commands::download::run(app, a),
    }
}

/// Splits `nickname` arguments into the profile and the name.
fn nickname_args(
    args: Vec<String>,
    by_aid: Option<String>,
) -> Result<(ProfileRef, String), CliError> {
    match (by_aid, args.as_slice()) {
        (Some(a), [name]) => Ok((ProfileRef::Aid(aid(&a)?), name.clone())),
        (None, [i, name]) => Ok((ProfileRef::Iccid(iccid(i)?), name.clone())),
        (Some(_), _) => Err(CliError::Usage(
            "with --aid give only the nickname: profiles nickname --aid HEX NAME".into(),
        )),
        (None, _) => Err(CliError::Usage(
            "give the ICCID and the nickname: profiles nickname ICCID NAME".into(),
        )),
    }
}

/// SGP.22 §5.7.21: profileNickname is a UTF8String of at most 64 bytes.
const MAX_NICKNAME: usize = 64;

fn nickname(app: &App, args: Vec<String>, by_aid: Option<String>) -> Result<(), CliError> {
    let (target, name) = nickname_args(args, by_aid)?;
    if name.len() > MAX_NICKNAME {
        return Err(CliError::Usage(format!(
            "a nickname has at most {MAX_NICKNAME} bytes of UTF-8, this one has {}",
            name.len()
        )));
    }
    let (iccid, _) = app.with_es10(|s| {
        let iccid = match &target {
            ProfileRef::Iccid(i) => *i,
            ProfileRef::Aid(a) => {
                let found = s.get_profiles(Some(ProfileSearch::Aid(a.clone())))?;
                found.into_iter().find_map(|p| p.iccid).ok_or_else(|| {
                    crate::errors::es10_error(apdu::sgp22::es10::tags::SET_NICKNAME, 1)
                })?
            }
        };
        s.set_nickname(iccid, name.clone())?;
        Ok(iccid)
    })?;
    let mut done = Done::new("nickname", &ProfileRef::Iccid(iccid));
    if let ProfileRef::Aid(a) = &target {
        done.aid = Some(hex::encode_upper(a));
    }
    done.nickname = Some(name);
    app.out.emit(&done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::sgp22::es10::Iccid;

    #[test]
    fn list_views() {
        let l = List {
            profiles: vec![ProfileView::from(ProfileInfo {
                iccid: Some(Iccid::from_digits("8949000000000000001").unwrap()),
                state: Some(ProfileState::Enabled),
                class: Some(ProfileClass::Provisioning),
                profile_name: Some("PP#0".into()),
                ..Default::default()
            })],
        };
        assert_eq!(
            l.human(),
            "ICCID                STATE    CLASS         PROVIDER  NAME  NICKNAME  AID\n\
             8949000000000000001  enabled  provisioning            PP#0"
        );
        let v: serde_json::Value = serde_json::from_str(&crate::output::render(true, &l)).unwrap();
        assert_eq!(v["profiles"][0]["state"], "enabled");
        assert_eq!(v["profiles"][0]["class"], "provisioning");
        assert!(List { profiles: vec![] }.human().starts_with("No profiles"));
    }

    #[test]
    fn nickname_argument_shapes() {
        let (t, n) =
            nickname_args(vec!["8949000000000000001".into(), "home".into()], None).unwrap();
        assert_eq!(
            (describe(&t), n.as_str()),
            ("profile 8949000000000000001".into(), "home")
        );
        let (t, _) = nickname_args(vec!["home".into()], Some("A000000559".into())).unwrap();
        assert!(matches!(t, ProfileRef::Aid(_)));
        assert_eq!(
            nickname_args(vec!["home".into()], None)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert!(nickname_args(vec!["1".into(), "2".into()], Some("A000000559".into())).is_err());
    }

    #[test]
    fn done_messages() {
        let t = ProfileRef::Iccid(Iccid::from_digits("8949000000000000001").unwrap());
        assert_eq!(
            Done::new("enable", &t).human(),
            "Enabled profile 8949000000000000001."
        );
        let mut d = Done::new("nickname", &t);
        d.nickname = Some("work".into());
        assert_eq!(
            d.human(),
            "Set the nickname of profile 8949000000000000001 to 'work'."
        );
    }
}

//! `sm-cli info`: the EID (mandatory), the EUICCInfo2 essentials and the configured
//! addresses, read as `lpac chip info` does (interop.md). A card that refuses or garbles
//! the optional functions still shows its EID; the refusal is listed as a warning.

use crate::context::App;
use crate::errors::CliError;
use crate::output::{rows, Report};
use apdu::sgp22::es10::{CardResources, ConfiguredAddresses, EuiccInfo2};
use serde::Serialize;

#[derive(Serialize)]
struct Info {
    reader: String,
    eid: String,
    euicc_info2: Option<Info2>,
    configured_addresses: Option<Addresses>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Info2 {
    profile_version: String,
    svn: String,
    firmware_version: String,
    pp_version: String,
    sas_accreditation_number: String,
    euicc_category: Option<&'static str>,
    resources: CardResources,
}

#[derive(Serialize)]
struct Addresses {
    default_smdp: Option<String>,
    root_smds: String,
}

fn category(c: u8) -> &'static str {
    match c {
        0 => "other",
        1 => "basic",
        2 => "medium",
        3 => "contactless",
        _ => "unknown",
    }
}

impl From<EuiccInfo2> for Info2 {
    fn from(i: EuiccInfo2) -> Info2 {
        Info2 {
            profile_version: EuiccInfo2::version(&i.profile_version),
            svn: EuiccInfo2::version(&i.svn),
            firmware_version: EuiccInfo2::version(&i.firmware_version),
            pp_version: EuiccInfo2::version(&i.pp_version),
            sas_accreditation_number: i.sas_accreditation_number.clone(),
            euicc_category: i.euicc_category.map(category),
            resources: i.resources(),
        }
    }
}

impl From<ConfiguredAddresses> for Addresses {
    fn from(a: ConfiguredAddresses) -> Addresses {
        Addresses {
            default_smdp: a.default_dp,
            root_smds: a.root_ds,
        }
    }
}

fn bytes(n: Option<u64>) -> Option<String> {
    n.map(|v| format!("{v} bytes"))
}

impl Report for Info {
    fn human(&self) -> String {
        let mut r = vec![("Reader", self.reader.clone()), ("EID", self.eid.clone())];
        if let Some(i) = &self.euicc_info2 {
            r.push(("SGP.22 version", i.svn.clone()));
            r.push(("Profile version", i.profile_version.clone()));
            r.push(("Firmware version", i.firmware_version.clone()));
            r.push(("Protection Profile", i.pp_version.clone()));
            r.push(("SAS accreditation", i.sas_accreditation_number.clone()));
            if let Some(c) = i.euicc_category {
                r.push(("eUICC category", c.to_string()));
            }
            if let Some(v) = bytes(i.resources.free_non_volatile_memory) {
                r.push(("Free memory", v));
            }
            if let Some(v) = bytes(i.resources.free_volatile_memory) {
                r.push(("Free RAM", v));
            }
            if let Some(n) = i.resources.installed_applications {
                r.push(("Installed apps", n.to_string()));
            }
        }
        if let Some(a) = &self.configured_addresses {
            r.push((
                "Default SM-DP+",
                a.default_smdp.clone().unwrap_or_else(|| "(none)".into()),
            ));
            r.push(("Root SM-DS", a.root_smds.clone()));
        }
        let mut s = rows(&r);
        for w in &self.warnings {
            s.push_str(&format!("\nwarning: {w}"));
        }
        s
    }
}

/// Keeps going when the card refuses or garbles an optional function; any other error
/// (card gone, pcscd gone) still stops the command.
fn optional<T>(r: Result<T, CliError>, warnings: &mut Vec<String>) -> Result<Option<T>, CliError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ (CliError::Status { .. } | CliError::Malformed { .. })) => {
            warnings.push(e.to_string());
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub fn run(app: &App) -> Result<(), CliError> {
    let (info, reader) = app.with_es10(|s| {
        let eid = s.get_eid()?;
        let mut warnings = Vec::new();
        let info2 = optional(s.get_euicc_info2(), &mut warnings)?;
        let addresses = optional(s.get_configured_addresses(), &mut warnings)?;
        Ok(Info {
            reader: String::new(),
            eid: eid.to_string(),
            euicc_info2: info2.map(Info2::from),
            configured_addresses: addresses.map(Addresses::from),
            warnings,
        })
    })?;
    app.out.emit(&Info { reader, ..info })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_view_shows_essentials_and_warnings() {
        let info = Info {
            reader: "Virtual PCD 00 00".into(),
            eid: "89049032123451234512345678901235".into(),
            euicc_info2: Some(Info2 {
                profile_version: "2.3.1".into(),
                svn: "2.2.2".into(),
                firmware_version: "0.1.0".into(),
                pp_version: "0.0.1".into(),
                sas_accreditation_number: "VIRTUAL-EUICC".into(),
                euicc_category: Some("basic"),
                resources: CardResources {
                    installed_applications: Some(0),
                    free_non_volatile_memory: Some(1_000_000),
                    free_volatile_memory: None,
                },
            }),
            configured_addresses: None,
            warnings: vec!["EuiccConfiguredAddresses: the card answered 6A88".into()],
        };
        let h = info.human();
        assert!(
            h.contains("EID:                 89049032123451234512345678901235"),
            "{h}"
        );
        assert!(h.contains("Free memory:         1000000 bytes"), "{h}");
        assert!(!h.contains("Free RAM"), "{h}");
        assert!(h.ends_with("warning: EuiccConfiguredAddresses: the card answered 6A88"));
        let v: serde_json::Value =
            serde_json::from_str(&crate::output::render(true, &info)).unwrap();
        assert_eq!(
            v["euicc_info2"]["resources"]["free_non_volatile_memory"],
            1_000_000
        );
        assert!(v["configured_addresses"].is_null());
    }

    #[test]
    fn only_card_refusals_are_soft() {
        let mut w = Vec::new();
        let r: Result<Option<()>, _> = optional(Err(CliError::malformed("x", "y")), &mut w);
        assert!(matches!(r, Ok(None)));
        let r: Result<Option<()>, _> = optional(Err(CliError::NoCard("r".into())), &mut w);
        assert!(r.is_err());
        assert_eq!(w.len(), 1);
    }
}

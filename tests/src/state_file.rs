//! A card's state file read as JSON, as far as the fault and load tests look at it:
//! written here from card-sim's documented format (README "card-sim": schema-versioned
//! JSON), not through card-sim's code, so the tests stay a witness.

use std::path::Path;
/// One profile of a card's state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    pub iccid: String,
    pub class: String,
    pub state: String,
    pub msisdn: Option<String>,
    pub imsi: Option<String>,
    pub ki: Option<String>,
    pub opc: Option<String>,
    pub name: Option<String>,
}

impl StoredProfile {
    /// The parts an operational profile must carry (device-change-protocol.md, the
    /// operator profile: ICCID, IMSI, MSISDN, Ki, OPc, name); empty when complete.
    pub fn missing_parts(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let hex16 = |v: &Option<String>| {
            v.as_ref()
                .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        if !(self.iccid.len() >= 18 && self.iccid.bytes().all(|b| b.is_ascii_digit())) {
            m.push("ICCID");
        }
        if self.msisdn.as_deref().is_none_or(str::is_empty) {
            m.push("MSISDN");
        }
        if self.imsi.as_deref().is_none_or(str::is_empty) {
            m.push("IMSI");
        }
        if !hex16(&self.ki) {
            m.push("Ki");
        }
        if !hex16(&self.opc) {
            m.push("OPc");
        }
        if self.name.as_deref().is_none_or(str::is_empty) {
            m.push("name");
        }
        m
    }
}

/// A card's state file, as far as these tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFile {
    pub eid: String,
    pub profiles: Vec<StoredProfile>,
    pub has_identity_key: bool,
    /// The whole JSON, for "unchanged" comparisons.
    pub raw: serde_json::Value,
}

impl CardFile {
    /// Reads and checks the state file: JSON with a schema number, an EID, profiles with
    /// unique ICCIDs and at most one enabled, every operational profile complete.
    /// `Ok(None)` when the file does not exist (a card that never saved anything).
    pub fn read(path: &Path) -> Result<Option<CardFile>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let raw: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not JSON ({e})", path.display()))?;
        let text =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
        if raw.get("schema").and_then(|s| s.as_u64()).is_none() {
            return Err(format!("{}: no schema number", path.display()));
        }
        let eid = text(&raw, "eid").ok_or_else(|| format!("{}: no EID", path.display()))?;
        let list = raw
            .get("profiles")
            .and_then(|p| p.as_array())
            .ok_or_else(|| format!("{}: no profiles array", path.display()))?;
        let profiles: Vec<StoredProfile> = list
            .iter()
            .map(|p| StoredProfile {
                iccid: text(p, "iccid").unwrap_or_default(),
                class: text(p, "class").unwrap_or_default(),
                state: text(p, "state").unwrap_or_default(),
                msisdn: text(p, "msisdn"),
                imsi: text(p, "imsi"),
                ki: text(p, "ki"),
                opc: text(p, "opc"),
                name: text(p, "name"),
            })
            .collect();
        let mut iccids: Vec<&str> = profiles.iter().map(|p| p.iccid.as_str()).collect();
        iccids.sort_unstable();
        if iccids.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("{}: an ICCID appears twice", path.display()));
        }
        let enabled = profiles.iter().filter(|p| p.state == "enabled").count();
        if enabled > 1 {
            return Err(format!("{}: {enabled} profiles enabled", path.display()));
        }
        for p in profiles.iter().filter(|p| p.class == "operational") {
            let missing = p.missing_parts();
            if !missing.is_empty() {
                return Err(format!(
                    "{}: operational profile {} is half there: no {}",
                    path.display(),
                    p.iccid,
                    missing.join(", ")
                ));
            }
        }
        Ok(Some(CardFile {
            eid,
            has_identity_key: raw.get("identity_key").is_some(),
            profiles,
            raw,
        }))
    }

    /// The operational profile of `op_id` (its MSISDN), if the card holds one.
    pub fn op(&self, op_id: &str) -> Option<&StoredProfile> {
        self.profiles
            .iter()
            .find(|p| p.class == "operational" && p.msisdn.as_deref() == Some(op_id))
    }

    /// The OP IDs of the operational profiles on the card.
    pub fn ops(&self) -> Vec<String> {
        self.profiles
            .iter()
            .filter(|p| p.class == "operational")
            .filter_map(|p| p.msisdn.clone())
            .collect()
    }
}

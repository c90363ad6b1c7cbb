//! The header comments of a recording (module docs of `script::recorder`): sm-cli
//! version, UTC date, the command, readers and ATRs, the EID, and how to replay: the
//! card-sim hint ([`card_sim_hint`]) and the secrets. Also the rule that
//! keeps comment text as written (`comment_safe`).

use apdu::Eid;

/// card-sim's default ATR (card-sim/src/card/atr.rs): T=0 with a UICC's global bytes.
pub const CARD_SIM_ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x1F, 0x07, 0x18];

/// What the header says about a recording.
pub(super) struct Facts<'a> {
    /// The subcommand's words (`profiles enable`).
    pub command: &'a str,
    /// When the recording started (UTC, ISO 8601).
    pub started: &'a str,
    /// Every connection: reader name and ATR (when pcscd gave it).
    pub connections: &'a [(String, Option<Vec<u8>>)],
    pub eid: Option<&'a Eid>,
    /// How many commands became `${SECRET_n}`.
    pub secrets: usize,
}

impl Facts<'_> {
    /// The header comments (module docs).
    pub(super) fn lines(&self) -> Vec<String> {
        let mut h = vec![
            format!(
                " Recorded by sm-cli {} on {}: sm-cli {}",
                env!("CARGO_PKG_VERSION"),
                self.started,
                self.command
            ),
            " Format: docs/script-format.md. Replay and check: sm-cli script run FILE".into(),
        ];
        let mut seen: Vec<&(String, Option<Vec<u8>>)> = Vec::new();
        for c in self.connections {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        for (reader, atr) in &seen {
            let atr = atr
                .as_deref()
                .map_or_else(|| "unknown".into(), hex::encode_upper);
            h.push(format!(" Reader: {reader}, ATR {atr}"));
        }
        if seen.is_empty() {
            h.push(" No card was connected.".into());
        }
        if let Some(eid) = self.eid {
            h.push(format!(" EID: {}", eid.digits()));
        }
        h.extend(card_sim_hint(
            self.connections
                .iter()
                .any(|(_, a)| a.as_deref() == Some(&CARD_SIM_ATR[..])),
            self.eid,
        ));
        if self.secrets > 0 {
            h.push(format!(
                " Secrets: {} command(s) carried secret data, written as ${{SECRET_n:len}} after '#! secret'",
                self.secrets
            ));
            h.push(
                "   (a TERMINAL RESPONSE with the typed parameter as 80140000${SECRET_n}: its length is secret too);"
                    .into(),
            );
            h.push(
                "   the replay skips them unless given --var SECRET_n=HEX. Masked answers (xx) check length and SW only."
                    .into(),
            );
        }
        h
    }
}

/// Comment text that the script writer keeps as it is (so `Script::validate` holds):
/// control characters become spaces and `exit`, which ends a script wherever it
/// stands (scriptor's rule), becomes `ex-it`.
pub(super) fn comment_safe(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    while let Some(pos) = s.to_ascii_lowercase().find("exit") {
        s.insert(pos + 2, '-');
    }
    s
}

/// The header lines about card-sim: its EIDs are SGP.26 test EIDs with serial
/// `seed * 1000 + slot` (card-sim/src/state/new_card.rs), and its RNG depends on the
/// seed alone, so `--seed N --eid EID` reproduces the card on any slot.
pub fn card_sim_hint(card_sim_atr: bool, eid: Option<&Eid>) -> Vec<String> {
    let serial = eid.and_then(|e| {
        let d = e.digits();
        d.strip_prefix(apdu::sgp22::eid::TEST_PREFIX)
            .and_then(|rest| rest.get(..22))
            .and_then(|s| s.parse::<u64>().ok())
    });
    match (serial, eid) {
        (Some(serial), Some(eid)) if serial >= 1000 => vec![
            format!(
                " card-sim --seed {}: this EID is card-sim's for --seed {} --slot {}. Random card values",
                serial / 1000,
                serial / 1000,
                serial % 1000
            ),
            format!(
                "   (challenges) repeat only on a fresh card: card-sim --ephemeral --seed {} --eid {} [--test-profiles N]",
                serial / 1000,
                eid.digits()
            ),
        ],
        (Some(serial), Some(_)) => vec![
            format!(
                " card-sim --seed: this EID is card-sim's for slot {serial} without --seed (or --seed 0);"
            ),
            "   random card values (challenges) repeat on replay only if the card ran with --seed.".into(),
        ],
        _ if card_sim_atr => vec![
            " card-sim --seed: the ATR is card-sim's; random card values (challenges) repeat on".into(),
            "   replay only against a fresh card-sim started with the same --seed.".into(),
        ],
        _ => Vec::new(),
    }
}

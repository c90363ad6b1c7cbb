//! The `script_parser` seeds: the repository's own scripts, one with every construct of
//! docs/script-format.md, and one with CRLF line ends and a byte-order mark.

use std::path::Path;

/// The seeds; `repo` is the repository root.
pub fn seeds(repo: &Path) -> Vec<(String, Vec<u8>)> {
    // Scripts: the repository's own, and one with every construct.
    let mut script_seeds = Vec::new();
    for rel in [
        "scripts/es10-basics.apdu",
        "scripts/malformed.apdu",
        "card-sim/tests/data/lpac-chip-info.scriptor",
    ] {
        if let Ok(b) = std::fs::read(repo.join(rel)) {
            let name = Path::new(rel)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            script_seeds.push((name, b));
        }
    }
    script_seeds.push((
        "every-construct.apdu".into(),
        EVERY_CONSTRUCT.as_bytes().to_vec(),
    ));
    script_seeds.push((
        "crlf-bom.apdu".into(),
        "\u{FEFF}# crlf\r\n00A4040010 \\\r\n A0000005591010FFFFFFFF8900000100\r\n#< 9000\r\n"
            .as_bytes()
            .to_vec(),
    ));
    script_seeds
}

/// Every script construct once (docs/script-format.md).
const EVERY_CONSTRUCT: &str = r#"#!/usr/bin/scriptor
# every construct once
reset
#! power off
#! power on
#! reset cold
#! channel 1
#! reader "Virtual PCD 00 \"01\""
#! reader 2
#! pause 1500
#! auto-get-response on
00 A4 04 00 \
  10 A0000005591010FFFFFFFF8900000100
#< 9000
#< 61xx : more
81E2910006BF3E035C015A
#< BF3E 12 5A 10 ${EID:16} 90 00
#! secret
80E2910022BF7020${PARAM:32}
#< BF70 * 9x0X
80E29100${EID}
#< ${ANY} 9000
#! auto-get-response off
exit
"#;

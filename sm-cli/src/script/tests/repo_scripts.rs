//! The canonical scripts in `scripts/` parse without warnings, `scripts/README.md` lists
//! every one, and its "scriptor" column tells the truth: "yes" only for scripts scriptor
//! can replay unchanged, "no" only for scripts it cannot.

use apdu_script::Script;
use std::path::PathBuf;

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

#[test]
fn canonical_scripts_parse_and_are_listed() {
    let readme = std::fs::read_to_string(scripts_dir().join("README.md")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(scripts_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("apdu") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let script = Script::parse_bytes(&name, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(script.warnings.is_empty(), "{name}: {:?}", script.warnings);
        assert!(
            !bytes.contains(&b'\r'),
            "{name}: scriptor needs LF line ends"
        );
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("README misses {name}"));
        let scriptor_column = row.trim_end_matches('|').rsplit('|').next().unwrap_or("");
        let incompatible = script.scriptor_incompatibilities();
        if scriptor_column.trim().starts_with("yes") {
            assert!(incompatible.is_empty(), "{name}: {incompatible:?}");
        } else {
            assert!(
                scriptor_column.trim().starts_with("no") && !incompatible.is_empty(),
                "{name}: README says {scriptor_column:?}, incompatibilities {incompatible:?}"
            );
        }
    }
    assert!(seen >= 3, "only {seen} scripts found");
}

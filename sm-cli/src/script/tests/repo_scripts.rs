//! The canonical scripts in `scripts/` parse without warnings, scriptor can replay each
//! of them, and `scripts/README.md` lists every one.

use apdu::script::Script;
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
            script.scriptor_incompatibilities().is_empty(),
            "{name}: {:?}",
            script.scriptor_incompatibilities()
        );
        assert!(
            !bytes.contains(&b'\r'),
            "{name}: scriptor needs LF line ends"
        );
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README misses {name}"
        );
    }
    assert!(seen >= 3, "only {seen} scripts found");
}

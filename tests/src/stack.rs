//! Finding the PC/SC stack that `scripts/stack-up.sh` brought up, the binaries under test,
//! and the skip-or-fail policy of system tests.
//!
//! Sources, first hit wins for each value: the process environment (`VEUICC_*`, set when
//! stack-up.sh was sourced), then `$VEUICC_STACK_DIR/stack.env` or `<repo>/.stack/stack.env`
//! (written by stack-up.sh). Binaries: `VEUICC_CARD_SIM` / `VEUICC_SM_CLI`, else the newest
//! of `target/release` and `target/debug`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The running stack, as the tests see it.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The repository root.
    pub root: PathBuf,
    /// stack-up.sh's run directory (pidfiles, logs, locks).
    pub dir: PathBuf,
    /// Whether stack-up.sh started pcscd (only then may a test restart it).
    pub pcscd_owned: bool,
    /// vpcd slots pcscd offers: 0..slots.
    pub slots: u32,
    /// Slots 0..cards hold stack-up.sh's own cards; tests use the others.
    pub cards: u32,
    pub card_sim: PathBuf,
    pub sm_cli: PathBuf,
    readers: HashMap<u32, String>,
}

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// True when `test` may restart pcscd: scripts/stack-up.sh started it. Otherwise the
/// test skips with a message, or fails under CI.
pub fn may_restart_pcscd(stack: &Stack, test: &str) -> bool {
    if stack.pcscd_owned {
        return true;
    }
    let why = "pcscd was not started by scripts/stack-up.sh, so this test may not restart it";
    assert!(!in_ci(), "{why}");
    eprintln!("SKIP {test}: {why}");
    false
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// Parses the `export KEY='value'` lines stack-up.sh writes.
fn parse_env_file(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("export ") else {
            continue;
        };
        let Some((k, v)) = rest.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(v);
        out.insert(k.trim().to_string(), v.to_string());
    }
    out
}

/// The newest existing `target/{release,debug}/<name>`.
fn newest_binary(root: &Path, name: &str) -> Option<PathBuf> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for profile in ["release", "debug"] {
        let p = root.join("target").join(profile).join(name);
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        let t = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(bt, _)| t > *bt) {
            best = Some((t, p));
        }
    }
    best.map(|(_, p)| p)
}

impl Stack {
    /// Reads the stack description; `Err` says what is missing.
    pub fn discover() -> Result<Stack, String> {
        let root = repo_root();
        let env: HashMap<String, String> = std::env::vars().collect();
        let dir = env
            .get("VEUICC_STACK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".stack"));
        let file = std::fs::read_to_string(dir.join("stack.env"))
            .map(|t| parse_env_file(&t))
            .unwrap_or_default();
        let get = |k: &str| env.get(k).or_else(|| file.get(k)).cloned();
        if get("VEUICC_STACK").as_deref() != Some("1") {
            return Err(format!(
                "no PC/SC stack: VEUICC_STACK is not set and {} does not exist \
                 (bring one up with scripts/stack-up.sh, or run scripts/test.sh)",
                dir.join("stack.env").display()
            ));
        }
        let num = |k: &str, default: u32| {
            get(k)
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(default)
        };
        let slots = num("VEUICC_SLOTS", 2);
        let cards = num("VEUICC_CARDS", 0);
        let mut readers = HashMap::new();
        for s in 0..slots {
            if let Some(r) = get(&format!("VEUICC_READER_{s}")) {
                readers.insert(s, r);
            }
        }
        let bin = |k: &str, name: &str| -> Result<PathBuf, String> {
            let p = get(k)
                .map(PathBuf::from)
                .or_else(|| newest_binary(&root, name))
                .ok_or_else(|| {
                    format!(
                        "{name} is not built (cargo build --release -p {name}), and {k} is unset"
                    )
                })?;
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!("{name} binary {} does not exist", p.display()))
            }
        };
        Ok(Stack {
            card_sim: bin("VEUICC_CARD_SIM", "card-sim")?,
            sm_cli: bin("VEUICC_SM_CLI", "sm-cli")?,
            pcscd_owned: get("VEUICC_PCSCD_OWNED").as_deref() == Some("1"),
            root,
            dir,
            slots,
            cards,
            readers,
        })
    }

    /// The PC/SC reader name of a vpcd slot (the same rule as scripts/lib.sh).
    pub fn reader(&self, slot: u32) -> String {
        if let Some(r) = self.readers.get(&slot) {
            return r.clone();
        }
        let (pair, sub) = (slot / 2, slot % 2);
        if pair == 0 {
            format!("Virtual PCD 00 {sub:02X}")
        } else {
            format!("Virtual PCD {pair} 00 {sub:02X}")
        }
    }

    /// Slots the tests may start their own cards on: `VEUICC_TEST_SLOTS` (comma
    /// separated), else every slot stack-up.sh left free.
    pub fn test_slots(&self) -> Vec<u32> {
        if let Ok(v) = std::env::var("VEUICC_TEST_SLOTS") {
            return v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        }
        (self.cards..self.slots).collect()
    }

    /// A directory for one test's files, under the run directory.
    pub fn scratch_dir(&self, test: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let d = self
            .dir
            .join("tmp")
            .join(format!("{test}-{}-{n}", std::process::id()));
        // A leftover of an earlier run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }
}

/// The entry of every system test: the stack, or `None` after printing why the test is
/// skipped. Under CI a missing stack is a failure (panic), never a skip.
pub fn require_stack(test: &str) -> Option<Stack> {
    let why = match Stack::discover() {
        Ok(stack) => match crate::pcsc_io::service_up() {
            Ok(()) if stack.test_slots().is_empty() => format!(
                "the stack leaves no vpcd slot free for test cards (slots {}, stack cards {}); \
                 bring it up with more --slots",
                stack.slots, stack.cards
            ),
            Ok(()) => return Some(stack),
            Err(e) => format!("the stack is described but pcscd does not answer: {e}"),
        },
        Err(e) => e,
    };
    if in_ci() {
        panic!("{test}: CI is set but the system-test stack is missing: {why}");
    }
    eprintln!("SKIP {test}: {why}");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stack_env_lines() {
        let m = parse_env_file(
            "# comment\nexport VEUICC_STACK=1\nexport VEUICC_READER_2='Virtual PCD 1 00 00'\n",
        );
        assert_eq!(m["VEUICC_STACK"], "1");
        assert_eq!(m["VEUICC_READER_2"], "Virtual PCD 1 00 00");
    }

    #[test]
    fn reader_names_follow_the_slot_rule() {
        let s = Stack {
            root: PathBuf::new(),
            dir: PathBuf::new(),
            pcscd_owned: false,
            slots: 6,
            cards: 2,
            card_sim: PathBuf::new(),
            sm_cli: PathBuf::new(),
            readers: HashMap::new(),
        };
        assert_eq!(s.reader(0), "Virtual PCD 00 00");
        assert_eq!(s.reader(1), "Virtual PCD 00 01");
        assert_eq!(s.reader(2), "Virtual PCD 1 00 00");
        assert_eq!(s.reader(5), "Virtual PCD 2 00 01");
    }
}

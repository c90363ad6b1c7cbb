//! flow-bench's use of the apdu example `crypto_bench`: the KDF / key-generation split of
//! one derivation redone, and the costs of single signature checks, seals and signatures.

use anyhow::{ensure, Result};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use system_tests::cli::{run_with, COMMAND_TIMEOUT};

/// The `crypto_bench` binary: `$CRYPTO_BENCH`, else next to this one under `examples/`.
pub struct CryptoBench {
    tool: Option<PathBuf>,
}

/// Median costs of single operations, from crypto_bench.
#[derive(Debug, Clone, Copy)]
pub struct Costs {
    pub verify: f64,
    pub seal: f64,
    pub sign: f64,
}

impl CryptoBench {
    pub fn find() -> CryptoBench {
        CryptoBench {
            tool: crypto_tool(),
        }
    }

    pub fn found(&self) -> bool {
        self.tool.is_some()
    }

    /// KDF and key-generation milliseconds of one derivation, redone by crypto_bench.
    pub fn split(&self, kdf: &str, salt: &str, param: &str) -> Result<Option<(f64, f64)>> {
        let Some(tool) = &self.tool else {
            return Ok(None);
        };
        let run = run_with(
            &mut Command::new(tool),
            ["split", "--kdf", kdf, "--salt", salt, "--runs", "3"],
            Some(format!("{param}\n").as_bytes()),
            COMMAND_TIMEOUT,
        );
        ensure!(run.code == Some(0), "crypto_bench split failed: {run}");
        let v: Value = serde_json::from_str(run.stdout.trim())?;
        Ok(Some((
            v["kdf_ms"].as_f64().unwrap_or(f64::NAN),
            v["keygen_ms"].as_f64().unwrap_or(f64::NAN),
        )))
    }

    /// Median verify, seal and sign milliseconds (crypto_bench --quick --json).
    pub fn costs(&self) -> Result<Option<Costs>> {
        let Some(tool) = &self.tool else {
            return Ok(None);
        };
        let run = run_with(
            &mut Command::new(tool),
            ["--quick", "--json"],
            None,
            COMMAND_TIMEOUT,
        );
        ensure!(run.code == Some(0), "crypto_bench failed: {run}");
        let v: Value = serde_json::from_str(run.stdout.trim())?;
        let get = |prefix: &str| {
            v["crypto"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
                })
                .and_then(|r| r["median_ms"].as_f64())
                .unwrap_or(0.0)
        };
        Ok(Some(Costs {
            verify: get("verify"),
            seal: get("seal"),
            sign: get("sign"),
        }))
    }
}

fn crypto_tool() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CRYPTO_BENCH") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("examples").join("crypto_bench");
    p.is_file().then_some(p)
}

//! crypto_bench: what the device-change cryptography costs on this machine (issue 5,
//! "Benchmarks": each flow split into KDF, key generation, SM store and APDU traffic).
//! A benchmark, not a test: it prints figures.
//!
//!     cargo run --release -p apdu --example crypto_bench -- [--quick] [--json]
//!     cargo run --release -p apdu --example crypto_bench -- split --kdf test|production \
//!         --salt HEX [--param-stdin] [--runs N]
//!
//! Without a subcommand: Argon2id with the test and the production cost, RSA-2048 key
//! generation from seeds (its time depends on the seed: the prime search), and one
//! signature, verification, seal and open (the operations the card and the SM do).
//!
//! `split`: the exact KDF and key-generation time of one derivation a flow made, given the
//! record's salt and KDF cost (`sm-cli sm show --json`: `kdf_salt`, `kdf`) and the
//! parameter (first line of stdin, never an argument): key generation from the seed is
//! deterministic, so this is the same work the card did. Prints one JSON object.

use apdu::crypto::{
    derive_seed, open, profile_aad, seal, sign, verify, KdfParams, Parameter, PrivateKey, Purpose,
    Salt, Seed, SignedMessage, SysRng,
};
use apdu::Eid;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median and the spread of some timings.
struct Stats {
    n: usize,
    median: Duration,
    min: Duration,
    max: Duration,
    p10: Duration,
    p90: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Stats {
        n: v.len(),
        median: at(0.5),
        min: v[0],
        max: v[v.len() - 1],
        p10: at(0.1),
        p90: at(0.9),
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

fn kdf_by_name(name: &str) -> Option<KdfParams> {
    match name {
        "test" => Some(KdfParams::TEST),
        "production" => Some(KdfParams::PRODUCTION),
        _ => None,
    }
}

fn split(args: &[String]) -> Result<(), String> {
    let mut kdf = None;
    let mut salt = None;
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} wants a value"));
        match a.as_str() {
            "--kdf" => {
                let v = val()?;
                kdf = Some(kdf_by_name(&v).ok_or(format!("--kdf test|production, not {v}"))?);
            }
            "--salt" => {
                let v = val()?;
                let b = hex::decode(&v).map_err(|e| format!("--salt: {e}"))?;
                salt = Some(Salt::from_bytes(&b).map_err(|e| format!("--salt: {e}"))?);
            }
            "--runs" => runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--param-stdin" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let (kdf, salt) = match (kdf, salt) {
        (Some(k), Some(s)) => (k, s),
        _ => return Err("split needs --kdf and --salt".into()),
    };
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    let param = Parameter::new(line.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|e| format!("parameter: {e}"))?;
    let mut seed = None;
    let kdf_t = stats(time(runs, || {
        seed = derive_seed(&param, &salt, &kdf).ok();
    }));
    let seed = seed.ok_or("the KDF failed")?;
    let keygen_t = stats(time(runs, || PrivateKey::derive(&seed).is_ok()));
    println!(
        "{}",
        serde_json::json!({
            "kdf_ms": ms(kdf_t.median),
            "keygen_ms": ms(keygen_t.median),
            "runs": runs,
        })
    );
    Ok(())
}

fn overview(quick: bool, json: bool) -> Result<(), String> {
    let e = |x: apdu::crypto::CryptoError| x.to_string();
    let param = Parameter::new("123456".to_string()).map_err(e)?;
    let salt = Salt([0x5A; 16]);
    let runs = if quick { 3 } else { 9 };
    let kdf_test = stats(time(runs * 3, || {
        derive_seed(&param, &salt, &KdfParams::TEST)
    }));
    let kdf_prod = stats(time(runs, || {
        derive_seed(&param, &salt, &KdfParams::PRODUCTION)
    }));
    let seeds = if quick { 10u8 } else { 40 };
    let keygen = stats(
        (0..seeds)
            .map(|i| {
                let seed = Seed::from_bytes([i; 32]);
                let t = Instant::now();
                std::hint::black_box(PrivateKey::derive(&seed).is_ok());
                t.elapsed()
            })
            .collect(),
    );
    let key = PrivateKey::derive(&Seed::from_bytes([1; 32])).map_err(e)?;
    let eid = Eid::test_eid(1);
    let challenge = [7u8; 32];
    let msg = SignedMessage::new(
        Purpose::DeviceChange,
        &challenge,
        "+8613800000001",
        eid,
        "490154203237518",
    )
    .map_err(e)?;
    let sig = sign(&key, &msg).map_err(e)?;
    let n = runs * 5;
    let sign_t = stats(time(n, || sign(&key, &msg)));
    let verify_t = stats(time(n, || verify(&key.public_key(), &msg, &sig)));
    let aad = profile_aad("+8613800000001", &eid, &[0x5A; 16]).map_err(e)?;
    let profile = [0x42u8; 160];
    let sealed = seal(&key.public_key(), &profile, &aad, &mut SysRng).map_err(e)?;
    let seal_t = stats(time(n, || {
        seal(&key.public_key(), &profile, &aad, &mut SysRng)
    }));
    let open_t = stats(time(n, || open(&key, &sealed, &aad)));
    let rows = [
        ("KDF test (Argon2id 1 MiB, t=1)", &kdf_test),
        ("KDF production (Argon2id 64 MiB, t=3)", &kdf_prod),
        ("RSA-2048 key generation from a seed", &keygen),
        ("sign (RSA PKCS#1 v1.5, SHA-256)", &sign_t),
        ("verify", &verify_t),
        ("seal (RSA-OAEP + AES-256-GCM)", &seal_t),
        ("open", &open_t),
    ];
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|(name, s)| {
                serde_json::json!({
                    "name": name, "n": s.n, "median_ms": ms(s.median), "min_ms": ms(s.min),
                    "max_ms": ms(s.max), "p10_ms": ms(s.p10), "p90_ms": ms(s.p90),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "crypto": v }));
    } else {
        println!(
            "{:<42} {:>4} {:>10} {:>10} {:>10} {:>10}",
            "operation", "n", "median ms", "p10 ms", "p90 ms", "max ms"
        );
        for (name, s) in rows {
            println!(
                "{name:<42} {:>4} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
                s.n,
                ms(s.median),
                ms(s.p10),
                ms(s.p90),
                ms(s.max)
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("split") => split(&args[1..]),
        Some("-h" | "--help") => {
            println!("usage: crypto_bench [--quick] [--json] | split --kdf test|production --salt HEX [--runs N] < parameter");
            Ok(())
        }
        _ => {
            let unknown: Vec<&String> = args
                .iter()
                .filter(|a| *a != "--quick" && *a != "--json")
                .collect();
            if unknown.is_empty() {
                overview(
                    args.iter().any(|a| a == "--quick"),
                    args.iter().any(|a| a == "--json"),
                )
            } else {
                Err(format!("unknown arguments {unknown:?} (try --help)"))
            }
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crypto_bench: {e}");
            ExitCode::from(2)
        }
    }
}

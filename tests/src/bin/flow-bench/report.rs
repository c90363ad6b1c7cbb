//! flow-bench's figures: one [`Sample`] per measured flow from sm-cli's `--json` timings,
//! and the report (medians, the KDF / key-generation split, traffic against the floor).

use crate::crypto::Costs;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Provision,
    DeviceChange,
    Rekey,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Provision => "provision",
            Flow::DeviceChange => "device change",
            Flow::Rekey => "rekey",
        }
    }

    /// Signature checks and seals the SM makes (sm-cli/src/sm/service: the sync's
    /// identity proof, then per flow: A possession + identity, seal; B identity +
    /// parameter, seal; C identity + parameter, possession + identity).
    /// Signatures the card makes in the exchanges that derive a key (BF67: possession +
    /// identity; BF68 with parameter: parameter + identity).
    fn card_signatures(self) -> u32 {
        match self {
            Flow::Provision | Flow::DeviceChange => 2,
            Flow::Rekey => 4,
        }
    }

    fn sm_crypto(self) -> (u32, u32) {
        match self {
            Flow::Provision => (3, 1),
            Flow::DeviceChange => (3, 1),
            Flow::Rekey => (5, 0),
        }
    }
}

/// One measured flow.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    total: f64,
    derivation: f64,
    kdf: f64,
    keygen: f64,
    traffic: f64,
    /// BF69's exchange: the card opens the sealed profile and saves its state (fsync).
    install: f64,
    apdus: f64,
    sm: f64,
    input: f64,
    setup: f64,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn sample(out: &Value, derivations: &[(f64, f64)]) -> Sample {
    let t = &out["timings"];
    let f = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
    Sample {
        total: f("total_ms"),
        derivation: f("card_key_derivation_ms"),
        kdf: derivations.iter().map(|d| d.0).sum(),
        keygen: derivations.iter().map(|d| d.1).sum(),
        traffic: f("traffic_ms"),
        install: t["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["function"] == "BF69")
            .filter_map(|x| x["apdu_ms"].as_f64())
            .fold(0.0, |a, b| a + b),
        apdus: f("apdus"),
        sm: f("sm_ms"),
        input: f("input_ms"),
        setup: f("setup_ms"),
    }
}

pub fn report(
    samples: &[(Flow, Sample)],
    rtt: Option<f64>,
    costs: Option<Costs>,
    reps: usize,
    kdf: &str,
    json: bool,
    elapsed: Duration,
) {
    let mut rows = Vec::new();
    for flow in [Flow::Provision, Flow::DeviceChange, Flow::Rekey] {
        let of: Vec<&Sample> = samples
            .iter()
            .filter(|(f, _)| *f == flow)
            .map(|(_, s)| s)
            .collect();
        let m = |g: &dyn Fn(&Sample) -> f64| median(of.iter().map(|s| g(s)).collect());
        let (verifies, seals) = flow.sm_crypto();
        let sm_crypto = costs.map(|c| f64::from(verifies) * c.verify + f64::from(seals) * c.seal);
        // The card's derivation exchanges, measured: its signatures (crypto_bench's sign
        // cost each), the rest split between Argon2id and key generation as the same
        // derivations split when redone by crypto_bench.
        let card_sig = costs.map(|c| f64::from(flow.card_signatures()) * c.sign);
        let work = |s: &Sample| s.derivation - card_sig.unwrap_or(0.0);
        let share = |s: &Sample| s.kdf / (s.kdf + s.keygen);
        let kdf_ms = m(&|s| work(s) * share(s));
        let keygen = m(&|s| work(s) * (1.0 - share(s)));
        let traffic = m(&|s| s.traffic);
        let apdus = m(&|s| s.apdus);
        let sm = m(&|s| s.sm);
        let floor_traffic = rtt.map(|r| r * apdus);
        rows.push(serde_json::json!({
            "flow": flow.name(),
            "total_ms": m(&|s| s.total),
            "card_key_derivation_ms": m(&|s| s.derivation),
            "kdf_ms": card_sig.map(|_| kdf_ms),
            "keygen_ms": card_sig.map(|_| keygen),
            "card_signing_ms": card_sig,
            "kdf_redone_ms": m(&|s| s.kdf),
            "keygen_redone_ms": m(&|s| s.keygen),
            "apdu_traffic_ms": traffic,
            "install_ms": m(&|s| s.install),
            "apdus": apdus,
            "floor_traffic_ms": floor_traffic,
            "traffic_to_floor": floor_traffic.map(|f| traffic / f),
            "sm_ms": sm,
            "sm_crypto_ms": sm_crypto,
            "sm_store_ms": sm_crypto.map(|c| sm - c),
            "input_ms": m(&|s| s.input),
            "setup_ms": m(&|s| s.setup),
        }));
    }
    if json {
        let doc = serde_json::json!({
            "reps": reps, "kdf": kdf, "floor_rtt_ms": rtt, "flows": rows,
            "elapsed_s": elapsed.as_secs_f64(),
        });
        println!("{doc:#}");
        return;
    }
    println!(
        "Device-change flows through pcscd + vpcd, KDF cost '{kdf}', median of {reps} run(s) each \
         ({:.1} s); floor-card round trip {}",
        elapsed.as_secs_f64(),
        rtt.map_or("not measured".into(), |r| format!("{:.3} ms", r))
    );
    let cell = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1}"));
    let head = [
        "flow", "total", "KDF", "keygen", "card sig", "traffic", "install", "APDUs", "xfloor",
        "SM store", "SM cryp", "setup",
    ];
    let line = |c: &[String]| {
        println!(
            "{:<14} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>8} {:>8} {:>7}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
        )
    };
    line(&head.map(String::from));
    for r in &rows {
        line(&[
            r["flow"].as_str().unwrap_or_default().to_string(),
            cell(&r["total_ms"]),
            cell(&r["kdf_ms"]),
            cell(&r["keygen_ms"]),
            cell(&r["card_signing_ms"]),
            cell(&r["apdu_traffic_ms"]),
            cell(&r["install_ms"]),
            cell(&r["apdus"]),
            r["traffic_to_floor"]
                .as_f64()
                .map_or("-".into(), |x| format!("{x:.1}x")),
            cell(&r["sm_store_ms"]),
            cell(&r["sm_crypto_ms"]),
            cell(&r["setup_ms"]),
        ]);
    }
    println!(
        "(milliseconds, medians. KDF + keygen + card sig = the card's key-derivation exchanges as \
         sm-cli measured them; card sig = its signatures at crypto_bench's cost, the rest split \
         between KDF and keygen as the same derivations split when redone by crypto_bench. \
         traffic = every other APDU exchange, of which install = BF69 (the card opens the \
         profile and saves its state). xfloor = traffic / (APDUs x floor-card round trip). \
         SM store = sm-cli's SM time minus its signature checks and sealing (SM cryp).)"
    );
}

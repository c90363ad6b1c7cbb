//! Issue 10, finding 4: recordings and traces must not hold what an offline guesser of
//! the key-generation parameter needs. A device-change provision runs through pcscd
//! with `sm-cli --record --trace` against a card-sim started with `--record`; then:
//!
//! - both recordings are mode 0600, although each file existed before with mode 0644;
//! - neither recording nor the trace holds the salt (tag 8A, read back from the SM with
//!   `sm show`), the KDF parameters (8B), the derived public key (85, found by its
//!   fingerprint, which `sm show` gives) or a device-change request in clear (BF67,
//!   BF68, BF69: the sealed box 8D is not known to the test, so no request carrying it
//!   may be written as bytes);
//! - the typed parameter's length is nowhere: the TERMINAL RESPONSEs that carry it are
//!   written `80140000${SECRET_n}` (no Lc, no TLV length, no count) and traced with
//!   no length at all; and the parameter itself is nowhere either.
//!
//! sm-cli's `--trace` goes to stderr, whose file (if any) the caller opens: the test
//! checks what is written, not a mode.

use apdu::crypto::{KdfParams, PublicKey};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Sm};

const OP: &str = "+8613800000077";
const IMEI: &str = "490154203237518";
/// Eight characters: its TERMINAL RESPONSE has Lc 17 and the text string `8D 09 04 ...`.
const PARAM: &str = "24681357";

/// The DER header of an RSA-2048 SubjectPublicKeyInfo (RFC 8017 A.1.1, 294 bytes).
const SPKI_HEAD: &str = "30820122300D06092A864886F70D01010105000382010F00";
const SPKI_LEN: usize = 294;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A file that exists with mode 0644 before the program writes it.
fn existing_0644(p: &Path) {
    std::fs::write(p, "old\n").unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// The answer data of a script, in order, joined: GET RESPONSE rounds become one run
/// again, so a key split over `61xx` answers is found whole.
fn script_answer_hex(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("#<") {
            let toks: Vec<&str> = rest.split_whitespace().collect();
            if let Some((_sw, data)) = toks.split_last() {
                out.extend(data.iter().copied());
            }
        }
    }
    out.to_ascii_uppercase()
}

/// The command lines of a script (not comments, expectations or directives).
fn script_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_ascii_uppercase())
        .collect()
}

/// The answer data of a trace, joined as for scripts: the last word of each `<` line
/// when it is hex.
fn trace_answer_hex(trace: &str) -> String {
    let mut out = String::new();
    for l in trace.lines().filter(|l| l.starts_with("< ")) {
        if let Some(w) = l.split_whitespace().last() {
            if w.len() > 4 && w.len() % 2 == 0 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push_str(w);
            }
        }
    }
    out.to_ascii_uppercase()
}

/// Fingerprints of every RSA-2048 public key in `hex`.
fn key_fingerprints(hex: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = hex[from..].find(SPKI_HEAD) {
        let at = from + i;
        if let Some(der) = hex.get(at..at + 2 * SPKI_LEN) {
            if let Ok(k) = hex::decode(der)
                .map_err(|_| ())
                .and_then(|b| PublicKey::from_der(&b).map_err(|_| ()))
            {
                found.push(k.fingerprint().to_string());
            }
        }
        from = at + SPKI_HEAD.len();
    }
    found
}

/// Everything `text` (a recording or the trace) must not hold.
fn check_no_secret(what: &str, text: &str, answers: &str, salt: &str, key_fp: &str) {
    let upper = text.to_ascii_uppercase();
    assert!(
        !upper.contains(salt),
        "{what} holds the salt {salt}:\n{text}"
    );
    let kdf = hex::encode_upper(KdfParams::TEST.to_bytes());
    assert!(
        !upper.contains(&kdf),
        "{what} holds the KDF parameters {kdf}:\n{text}"
    );
    let param = hex::encode_upper(PARAM);
    assert!(
        !upper.contains(&param),
        "{what} holds the parameter:\n{text}"
    );
    let keys = key_fingerprints(answers);
    assert!(
        !keys.iter().any(|k| k == key_fp),
        "{what} holds the derived public key ({key_fp}); keys found: {keys:?}"
    );
}

#[test]
fn device_change_recordings_and_traces_hold_no_guessing_material() {
    let Some(stack) =
        require_stack("device_change_recordings_and_traces_hold_no_guessing_material")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let dir = stack.scratch_dir("secret-recordings");
    let card_rec = dir.join("card.apdu");
    let sm_rec = dir.join("sm.apdu");
    existing_0644(&card_rec);
    existing_0644(&sm_rec);
    let opts = CardOptions {
        ephemeral: true,
        extra: vec!["--record".into(), card_rec.display().to_string()],
        ..CardOptions::default()
    };
    let card = CardSim::start(&stack, &lease, "secret-recordings", &opts).unwrap();
    let sm = Sm::new(&stack, &dir.join("sm.sqlite3"));
    let rec_arg = sm_rec.display().to_string();
    let r = sm.run(
        &[
            "--trace",
            "--record",
            &rec_arg,
            "-r",
            &card.reader,
            "provision",
            "--op-id",
            OP,
            "--imei",
            IMEI,
            "--param-stdin",
            "--kdf",
            "test",
        ],
        Some(&format!("{PARAM}\n")),
    );
    r.expect_success();
    let show = sm
        .run(&["--json", "sm", "show", OP], None)
        .expect_success()
        .json();
    let salt = show["kdf_salt"].as_str().unwrap().to_ascii_uppercase();
    let key_fp = show["public_key_sha256"].as_str().unwrap().to_string();
    assert_eq!(salt.len(), 32, "{show}");
    drop(card);

    assert_eq!(mode(&sm_rec), 0o600, "sm-cli --record over a 0644 file");
    assert_eq!(mode(&card_rec), 0o600, "card-sim --record over a 0644 file");
    let trace = r.stderr.clone();
    let recordings = [
        ("sm-cli --record", std::fs::read_to_string(&sm_rec).unwrap()),
        (
            "card-sim --record",
            std::fs::read_to_string(&card_rec).unwrap(),
        ),
    ];

    // The checks can fail: the trace shows public answers, and keys in them are found.
    assert!(trace.contains("> "), "no trace lines: {r}");
    assert!(
        !key_fingerprints(&trace_answer_hex(&trace)).is_empty(),
        "the card's identity key (BF6C) should be visible in the trace: {trace}"
    );

    check_no_secret(
        "the trace",
        &trace,
        &trace_answer_hex(&trace),
        &salt,
        &key_fp,
    );
    for (what, text) in &recordings {
        check_no_secret(what, text, &script_answer_hex(text), &salt, &key_fp);
        let commands = script_commands(text);
        assert!(
            commands.len() > 10 && text.contains("#! secret"),
            "{what}: a whole session with secrets:\n{text}"
        );
        for c in &commands {
            for tag in ["BF67", "BF68", "BF69"] {
                assert!(
                    !c.contains(tag),
                    "{what}: a {tag} request in clear: {c}\n{text}"
                );
            }
            // The parameter's TERMINAL RESPONSE: Lc 17 (module docs), text string 8D 09.
            assert!(
                !c.starts_with("8014000017") && !c.contains("8D0904"),
                "{what}: the parameter's length is shown in {c}"
            );
        }
        // Its two entries in the fixed form, without a count.
        let fixed = commands
            .iter()
            .filter(|c| {
                c.strip_prefix("80140000${SECRET_")
                    .is_some_and(|v| v.ends_with('}') && !v.contains(':'))
            })
            .count();
        assert_eq!(
            fixed, 2,
            "{what}: two entries of the parameter, fixed form:\n{text}"
        );
    }
    // In the trace: the parameter's TERMINAL RESPONSEs show no length.
    let hidden_trs: Vec<&str> = trace
        .lines()
        .filter(|l| system_tests::sm::is_terminal_response(l) && l.contains("redacted"))
        .collect();
    assert_eq!(
        hidden_trs.len(),
        2,
        "two hidden entries in the trace:\n{trace}"
    );
    for l in hidden_trs {
        let words: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(words.get(2), Some(&"-"), "the trace shows a length: {l}");
        assert!(
            l.ends_with("80140000 <redacted>"),
            "the trace shows a length: {l}"
        );
    }
}

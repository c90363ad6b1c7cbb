//! Random input never panics the parser, the writer or the matcher, and whatever parses
//! reads back the same after writing.

use super::*;

/// xorshift64*: a small deterministic generator, enough for fuzz-ish loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces that make near-valid scripts, so the fuzzer reaches deep paths.
const TOKENS: &[&str] = &[
    "00",
    "A4",
    "9000",
    "61xx",
    "x",
    "X",
    "*",
    "${",
    "}",
    "EID",
    ":16",
    ":0",
    "$",
    "#",
    "#<",
    "#!",
    "\\",
    " ",
    "\t",
    "\n",
    "\r\n",
    "reset",
    "exit",
    "power",
    "on",
    "off",
    "channel",
    "3",
    "reader",
    "\"",
    "pause",
    "ms",
    "s",
    "auto-get-response",
    "secret",
    "cold",
    "G",
    "é",
    "\u{0}",
    ":",
    "/",
    "9",
    "F",
];

fn check_one(bytes: &[u8], rng: &mut Rng) {
    let Ok(s) = Script::parse_bytes("fuzz", bytes) else {
        return;
    };
    let text = s.to_string();
    let back = Script::parse("fuzz-back", &text)
        .unwrap_or_else(|e| panic!("{e}\ninput: {bytes:?}\nwritten: {text}"));
    assert_eq!(
        kinds(&back),
        kinds(&s),
        "input: {:?}",
        String::from_utf8_lossy(bytes)
    );
    let mut vars = Vars::new();
    for item in &s.items {
        if let ItemKind::Command {
            template, expect, ..
        } = &item.kind
        {
            let _ = template.render(&vars);
            if let Some(e) = expect {
                let data: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
                let _ = e.check(&data, rng.next() as u16, &mut vars);
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_one(&bytes, &mut rng);
    }
}

#[test]
fn random_token_soup_never_panics_and_round_trips() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..20_000 {
        let n = rng.below(40);
        let text: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        check_one(text.as_bytes(), &mut rng);
    }
}

#[test]
fn mutated_examples_never_panic() {
    let base = include_str!("../../../scripts/es10-basics.apdu").as_bytes();
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut b = base.to_vec();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            match rng.below(3) {
                0 => b[i] = rng.next() as u8,
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, TOKENS[rng.below(TOKENS.len())].as_bytes()[0]),
            }
        }
        check_one(&b, &mut rng);
    }
}

//! The recorder in process: a session on a real card replays byte for byte on a fresh
//! card with the same seed (and not with another seed), power events land where the
//! card dropped its volatile state, secrets never reach the file, the file is 0600 and
//! parses after every exchange.

use super::*;
use crate::card::{atr, Euicc};
use crate::state::new_card::{derive_eid, new_card};
use crate::state::{MemoryStorage, Storage};
use crate::transport::Transport;
use apdu_script::{ItemKind, Script, Vars};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const ISDR: &str = "A0000005591010FFFFFFFF8900000100";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("card-sim-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn card(seed: u64, test_profiles: u8) -> Transport<Euicc> {
    let storage = MemoryStorage::new();
    let state = new_card(derive_eid(Some(1), 0), test_profiles);
    storage.save(&state).unwrap();
    Transport::new(Euicc::new(
        state,
        Box::new(storage),
        ChaCha20Rng::seed_from_u64(seed),
        atr::DEFAULT_ATR.to_vec(),
    ))
}

fn tx(c: &mut impl Card, h: &str) -> Vec<u8> {
    c.transmit(&hex::decode(h).unwrap())
}

fn parse(path: &Path) -> Script {
    let text = std::fs::read_to_string(path).unwrap();
    apdu_script::parser::parse("rec", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn commands(s: &Script) -> usize {
    s.items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Command { .. }))
        .count()
}

/// Replays `script` into `card` as a PC/SC client would (power events as vpcd would
/// deliver them); returns the first mismatch.
fn replay(script: &Script, card: &mut impl Card) -> Result<usize, String> {
    let mut vars = Vars::new();
    let mut n = 0;
    card.power_on();
    for item in &script.items {
        match &item.kind {
            ItemKind::Command {
                template, expect, ..
            } => {
                let apdu = template.render(&vars).map_err(|e| e.to_string())?;
                let answer = card.transmit(&apdu);
                let (data, sw) = answer.split_at(answer.len() - 2);
                if let Some(e) = expect {
                    e.check(data, u16::from_be_bytes([sw[0], sw[1]]), &mut vars)
                        .map_err(|m| format!("line {}: {m}", item.line))?;
                }
                n += 1;
            }
            ItemKind::PowerOff => card.power_off(),
            ItemKind::PowerOn => card.power_on(),
            ItemKind::Reset(_) => card.reset(),
            _ => {}
        }
    }
    Ok(n)
}

/// An lpac-like session: channel, ISD-R, GetEID, a challenge (random), a long
/// GetProfilesInfo (61xx + GET RESPONSE), a power cycle, a reset.
fn session(c: &mut impl Card) {
    c.power_on();
    c.reset();
    tx(c, "0070000001");
    tx(c, &format!("01A4040010{ISDR}00"));
    tx(c, "81E2910006BF3E035C015A");
    tx(c, "81E2910003BF2E00");
    let r = tx(c, "81E2910003BF2D00");
    assert_eq!(r[r.len() - 2], 0x61, "the test needs a long answer");
    tx(c, "81C0000000");
    tx(c, &format!("81C00000{:02X}", r[r.len() - 1]));
    c.power_off();
    c.power_on();
    tx(c, "0070000001");
    tx(c, &format!("01A4040010{ISDR}00"));
    tx(c, "81E2910003BF2E00");
    c.reset();
    tx(c, "00A40004023F00");
}

#[test]
fn a_recorded_session_replays_byte_for_byte_on_a_card_with_the_same_seed() {
    let dir = tmp("replay");
    let path = dir.join("s.apdu");
    let header = Header {
        eid: derive_eid(Some(1), 0).digits(),
        seed: Some(5),
        atr: atr::DEFAULT_ATR.to_vec(),
        test_profiles: 8,
        ..Header::default()
    };
    let mut rec = Recorder::create(&path, &header, card(5, 8)).unwrap();
    session(&mut rec);
    assert_eq!(rec.exchanges(), 11);
    drop(rec);

    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Recorded on the card side by card-sim"));
    assert!(text.contains("# Replay against: card-sim --ephemeral --seed 5 --eid "));
    assert!(
        text.contains("81C0000000\n#< "),
        "GET RESPONSE as sent:\n{text}"
    );
    assert!(text.contains("\n#< 6100\n") || text.contains(" 6100\n") || text.contains("#< 61"));
    let script = parse(&path);
    assert_eq!(commands(&script), 11);
    // Events before the first command are not written; later ones are, in place.
    let kinds: Vec<&ItemKind> = script
        .items
        .iter()
        .map(|i| &i.kind)
        .filter(|k| !matches!(k, ItemKind::Comment(_)))
        .collect();
    assert!(matches!(kinds[0], ItemKind::Command { .. }));
    assert!(matches!(kinds[7], ItemKind::PowerOff), "{kinds:?}");
    assert!(matches!(kinds[8], ItemKind::PowerOn));
    assert!(matches!(
        kinds[12],
        ItemKind::Reset(apdu_script::ResetKind::Warm)
    ));
    assert_eq!(kinds.len(), 14);

    assert_eq!(replay(&script, &mut card(5, 8)), Ok(11));
    // Another seed draws other challenges: the replay notices.
    let other = replay(&script, &mut card(6, 8)).unwrap_err();
    assert!(other.contains("response data"), "{other}");
    // Without the power cycle the channel would still be open: the events matter.
    let mut no_events = script.clone();
    no_events
        .items
        .retain(|i| !matches!(i.kind, ItemKind::PowerOff | ItemKind::PowerOn));
    assert!(replay(&no_events, &mut card(5, 8)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Answers every command with `DATA 9000`, AUTHENTICATE with `6110` (the answer is then
/// fetched), GET RESPONSE with 16 bytes: `CC..` after AUTHENTICATE (the secret), else `EE..`.
#[derive(Default)]
struct Stub {
    last: u8,
}
const DATA: &str = "A1B2C3D4";
impl Card for Stub {
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x00]
    }
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let ins = apdu.get(1).copied().unwrap_or(0);
        let r = match ins {
            0x88 => vec![0x61, 0x10],
            0xC0 => {
                let mut r = vec![if self.last == 0x88 { 0xCC } else { 0xEE }; 16];
                r.extend([0x90, 0x00]);
                r
            }
            _ => hex::decode(format!("{DATA}9000")).unwrap(),
        };
        self.last = ins;
        r
    }
}

#[test]
fn secrets_are_masked_and_everything_else_is_kept() {
    let dir = tmp("mask");
    let path = dir.join("m.apdu");
    let mut rec = Recorder::create(&path, &Header::default(), Stub::default()).unwrap();
    // VERIFY PIN: the PIN is replaced, the answer kept.
    tx(&mut rec, "00200001083132333435FFFFFF");
    // AUTHENTICATE: RAND/AUTN kept, the answer (fetched by GET RESPONSE) masked.
    let auth = format!("008800812210{}10{}", "11".repeat(16), "22".repeat(16));
    tx(&mut rec, &auth);
    tx(&mut rec, "00C0000010");
    // The next command's GET RESPONSE is public again.
    tx(&mut rec, "00B0000010");
    tx(&mut rec, "00C0000010");
    // A device-change message in two blocks: command and answer data hidden.
    tx(&mut rec, "80E2110004BF690201");
    tx(&mut rec, "80E2910102AABB");
    // A TERMINAL RESPONSE with typed text: all after P2 goes, so its length does too.
    let tr = "80140000128103012304820282818301008D0404313233";
    tx(&mut rec, tr);
    tx(&mut rec, tr);
    tx(&mut rec, "80140000128103012304820282818301008D0404393939");
    // ES10b: AuthenticateServer public; a BPP: BF36, then its segments, public.
    tx(&mut rec, "81E2910005BF38020102");
    tx(&mut rec, "81E2910005BF36025566");
    tx(&mut rec, "81E2910004A0020102");
    tx(&mut rec, "81E2910005860301020304");
    // A segment tag without a BF36 before it is not a BPP: hidden.
    tx(&mut rec, "81E2910003BF2D00");
    tx(&mut rec, "81E2910004A0020777");
    drop(rec);

    let text = std::fs::read_to_string(&path).unwrap();
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("# ")).collect();
    let body = body.join("\n");
    for secret in [
        "3132333435",
        "CCCCCCCC",
        "BF690201",
        "AABB",
        "313233",
        "393939",
        // The typed text's length: Lc and the text string TLV's header.
        "8014000012",
        "8D0404",
        "0777",
    ] {
        assert!(!body.contains(secret), "{secret} leaked:\n{body}");
    }
    let expect = [
        "#! secret\n0020000108${SECRET_1:8}\n#< A1B2C3D4 9000",
        &format!("{auth}\n#< 6110"),
        "00C0000010\n#< xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 9000",
        "00B0000010\n#< A1B2C3D4 9000\n00C0000010\n#< EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE 9000",
        "#! secret\n80E2110004${SECRET_2:4}\n#< xxxxxxxx 9000",
        "#! secret\n80E2910102${SECRET_3:2}\n#< xxxxxxxx 9000",
        "#! secret\n80140000${SECRET_4}\n#< A1B2C3D4 9000\n\
         #! secret\n80140000${SECRET_5}\n#< A1B2C3D4 9000\n\
         #! secret\n80140000${SECRET_6}\n#< A1B2C3D4 9000",
        "81E2910005BF38020102\n#< A1B2C3D4 9000",
        "81E2910005BF36025566\n#< A1B2C3D4 9000\n81E2910004A0020102\n#< A1B2C3D4 9000\n\
         81E2910005860301020304\n#< A1B2C3D4 9000\n81E2910003BF2D00\n#< A1B2C3D4 9000\n\
         #! secret\n81E2910004${SECRET_7:4}\n#< xxxxxxxx 9000",
    ];
    for e in expect {
        assert!(body.contains(e), "missing:\n{e}\nin:\n{body}");
    }
    assert_eq!(commands(&parse(&path)), 16);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_file_parses_after_every_exchange() {
    let dir = tmp("prefix");
    let path = dir.join("p.apdu");
    std::fs::write(
        &path,
        "old content, longer than the header would be? no: truncated\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
    let mut rec = Recorder::create(&path, &Header::default(), card(1, 0)).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "an existing file is made 0600"
    );
    rec.power_on();
    for (i, c) in [
        "0070000001",
        &format!("01A4040010{ISDR}00"),
        "81E2910006BF3E035C015A",
        "81E2910003BF2E00",
    ]
    .iter()
    .enumerate()
    {
        tx(&mut rec, c);
        // What a SIGKILL now would leave: every exchange so far, parseable.
        assert_eq!(commands(&parse(&path)), i + 1);
    }
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains("old content"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn utc_dates() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(utc(1_796_196_645), "2026-12-02T07:30:45Z");
}

//! Writes the committed seed corpus of every fuzz target (`fuzz/corpus/<target>/`) from
//! real byte strings: sessions played against the same card the `card_sequence` target
//! builds (lpac's and pySim's sequences from interop.md, every ES10 function, chained and
//! segmented STORE DATA, GET RESPONSE chains, the device-change flows with FETCH and
//! TERMINAL RESPONSE, BF6D and the BF69 / BF6B authorised with the shipped test DPpb,
//! and the authorisations the card refuses, power cycles mid-session, the malformed-APDU
//! battery), sm-cli's
//! own operations against that card (for `sm_answers`), the messages inside the sessions
//! (for `es10_decode`, `ber_tlv`), the commands (for `apdu_command`) and the
//! repository's scripts (for `script_parser`). Every seed is replayed through its oracle
//! before it is written.
//!
//! Files: [`rec`] (the session recorder and shared constants), [`es10`] and
//! [`devchange`] (the card sessions), [`answers`] (`sm_answers`), [`decoders`]
//! (`es10_decode`, `ber_tlv`, `apdu_command`), [`scripts`] (`script_parser`), [`es9p`]
//! (`es9p_requests`).
//!
//! Run from the repository root (a normal build, no libFuzzer needed):
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example gen-corpus`
//! (`... --example gen-corpus -- es9p_requests` writes only that target's seeds).

mod answers;
mod decoders;
mod devchange;
mod es10;
mod es9p;
mod rec;
mod scripts;

use euicc_fuzz::sequence;
use euicc_fuzz::{codecs, harness};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rec::Rec;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Corpus {
    root: PathBuf,
    written: usize,
    bytes: usize,
}

impl Corpus {
    fn target(&mut self, target: &str, seeds: &[(String, Vec<u8>)], oracle: fn(&[u8])) {
        let dir = self.root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clearing the old corpus");
        }
        std::fs::create_dir_all(&dir).expect("corpus dir");
        let mut seen = BTreeSet::new();
        for (name, data) in seeds {
            if !seen.insert(data.clone()) {
                continue;
            }
            oracle(data);
            std::fs::write(dir.join(name), data).expect("writing a seed");
            self.written += 1;
            self.bytes += data.len();
        }
        println!("{target}: {} seeds", seen.len());
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().expect("fuzz/ is in the repository");
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut corpus = Corpus {
        root: root.join("corpus"),
        written: 0,
        bytes: 0,
    };
    let es9p_only = std::env::args().nth(1).as_deref() == Some("es9p_requests");
    corpus.target(
        "es9p_requests",
        &es9p::seeds(),
        euicc_fuzz::es9p::es9p_requests,
    );
    if es9p_only {
        return;
    }

    type Session = Box<dyn Fn(&mut Rec, &mut ChaCha20Rng)>;
    let sessions: Vec<(&str, Session)> = vec![
        ("lpac-chip-info", Box::new(|r, _| es10::lpac_chip_info(r))),
        (
            "lpac-profile-list",
            Box::new(|r, _| es10::lpac_profile_list(r)),
        ),
        ("pysim-detection", Box::new(|r, _| es10::pysim_detection(r))),
        (
            "es10-every-function",
            Box::new(|r, _| es10::every_es10_function(r)),
        ),
        (
            "store-data-6-byte-blocks",
            Box::new(|r, _| es10::store_data_small_blocks(r)),
        ),
        ("iso-chaining", Box::new(|r, _| es10::iso_chaining(r))),
        ("extended-apdus", Box::new(|r, _| es10::extended_apdu(r))),
        (
            "get-response-edges",
            Box::new(|r, _| es10::get_response_edges(r)),
        ),
        (
            "channels-and-files",
            Box::new(|r, _| es10::channels_and_files(r)),
        ),
        (
            "malformed-battery",
            Box::new(|r, _| es10::malformed_battery(r)),
        ),
        ("dc-flow-a-provision", Box::new(devchange::dc_flow_a)),
        ("dc-aborted", Box::new(|r, _| devchange::dc_aborted(r))),
        ("dc-flow-b-identity", Box::new(devchange::dc_flow_b)),
        (
            "dc-flow-b-recorded-device",
            Box::new(devchange::dc_flow_b_recorded),
        ),
        (
            "dc-flow-b-parameter-install",
            Box::new(devchange::dc_flow_b_parameter),
        ),
        (
            "dc-authorisation-refused",
            Box::new(devchange::dc_authorisation_refused),
        ),
        (
            "dc-interrupted",
            Box::new(|r, _| devchange::dc_interrupted(r)),
        ),
    ];

    let mut sequences = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut commands: Vec<Vec<u8>> = Vec::new();
    for (name, run) in &sessions {
        let mut r = Rec::new();
        run(&mut r, &mut rng);
        r.sim.finish();
        sequences.push((format!("{name}.seq"), sequence::encode(&r.steps)));
        messages.extend(r.messages);
        commands.extend(r.commands);
    }
    let (decoder_seeds, tlv_seeds) = decoders::message_seeds(&messages, &mut rng);

    corpus.target("card_sequence", &sequences, harness::card_sequence);
    corpus.target(
        "sm_answers",
        &answers::seeds(),
        euicc_fuzz::answers::sm_answers,
    );
    corpus.target("es10_decode", &decoder_seeds, codecs::es10_decode);
    corpus.target("ber_tlv", &tlv_seeds, codecs::ber_tlv);
    corpus.target(
        "apdu_command",
        &decoders::command_seeds(&commands),
        codecs::apdu_command,
    );
    corpus.target(
        "script_parser",
        &scripts::seeds(repo),
        codecs::script_parser,
    );
    println!(
        "{} files, {} bytes in {}",
        corpus.written,
        corpus.bytes,
        corpus.root.display()
    );
}

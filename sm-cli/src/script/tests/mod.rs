//! Tests of the replay engine, the JUnit writer and the recorder, with a fake card
//! ([`fake`]) instead of PC/SC.

mod engine;
mod fake;
mod junit;
mod recorder;
mod repo_scripts;

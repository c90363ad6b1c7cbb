//! `sm-cli memory-reset`: eUICCMemoryReset (SGP.22 §5.7.19). Destructive, so it asks
//! first on a terminal; `--yes` skips the question, and without a terminal on stdin it
//! refuses to run unless `--yes` is given. Without kind flags it resets everything
//! lpac's `chip purge` resets: operational and test profiles and the default SM-DP+.

use crate::context::App;
use crate::errors::CliError;
use crate::output::Report;
use apdu::sgp22::es10::MemoryResetOptions;
use clap::Args;
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Args)]
pub struct MemoryResetArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Delete operational profiles
    #[arg(long)]
    pub operational: bool,
    /// Delete field-loaded test profiles
    #[arg(long)]
    pub test_profiles: bool,
    /// Reset the default SM-DP+ address
    #[arg(long)]
    pub default_smdp: bool,
}

/// What to do before resetting.
#[derive(Debug, PartialEq, Eq)]
enum Confirm {
    Proceed,
    Ask,
    Refuse,
}

fn policy(yes: bool, stdin_is_tty: bool) -> Confirm {
    match (yes, stdin_is_tty) {
        (true, _) => Confirm::Proceed,
        (false, true) => Confirm::Ask,
        (false, false) => Confirm::Refuse,
    }
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

fn options(a: &MemoryResetArgs) -> MemoryResetOptions {
    if !(a.operational || a.test_profiles || a.default_smdp) {
        return MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: true,
            reset_default_dp: true,
        };
    }
    MemoryResetOptions {
        delete_operational: a.operational,
        delete_field_loaded_test: a.test_profiles,
        reset_default_dp: a.default_smdp,
    }
}

/// The chosen kinds in words, as a plan ("delete ...") or as done ("deleted ...").
fn describe(o: &MemoryResetOptions, done: bool) -> String {
    let (del, reset) = if done {
        ("deleted", "reset")
    } else {
        ("delete", "reset")
    };
    let mut parts = Vec::new();
    if o.delete_operational {
        parts.push(format!("{del} all operational profiles"));
    }
    if o.delete_field_loaded_test {
        parts.push(format!("{del} all test profiles"));
    }
    if o.reset_default_dp {
        parts.push(format!("{reset} the default SM-DP+ address"));
    }
    parts.join(", ")
}

#[derive(Serialize)]
struct Reset {
    eid: String,
    delete_operational: bool,
    delete_test_profiles: bool,
    reset_default_smdp: bool,
    result: &'static str,
}

impl Report for Reset {
    fn human(&self) -> String {
        let o = MemoryResetOptions {
            delete_operational: self.delete_operational,
            delete_field_loaded_test: self.delete_test_profiles,
            reset_default_dp: self.reset_default_smdp,
        };
        format!("eUICC {}: {}.", self.eid, describe(&o, true))
    }
}

pub fn run(app: &App, args: MemoryResetArgs) -> Result<(), CliError> {
    let opts = options(&args);
    let confirm = policy(args.yes, std::io::stdin().is_terminal());
    if confirm == Confirm::Refuse {
        return Err(CliError::NotConfirmed(
            "memory-reset deletes profiles and stdin is not a terminal to ask: add --yes".into(),
        ));
    }
    let (eid, _) = app.with_es10(|s| {
        let eid = s.get_eid()?;
        if confirm == Confirm::Ask {
            eprint!(
                "This will {} on eUICC {eid}. Continue? [y/N] ",
                describe(&opts, false)
            );
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            if !is_yes(&line) {
                return Err(CliError::NotConfirmed("memory reset cancelled".into()));
            }
        }
        s.memory_reset(opts)?;
        Ok(eid)
    })?;
    app.out.emit(&Reset {
        eid: eid.to_string(),
        delete_operational: opts.delete_operational,
        delete_test_profiles: opts.delete_field_loaded_test,
        reset_default_smdp: opts.reset_default_dp,
        result: "ok",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_policy() {
        assert_eq!(policy(true, false), Confirm::Proceed);
        assert_eq!(policy(true, true), Confirm::Proceed);
        assert_eq!(policy(false, true), Confirm::Ask);
        assert_eq!(policy(false, false), Confirm::Refuse);
        assert!(is_yes(" Yes\n") && is_yes("y"));
        assert!(!is_yes("") && !is_yes("no") && !is_yes("yess"));
    }

    #[test]
    fn kinds_default_to_everything() {
        let mut a = MemoryResetArgs {
            yes: true,
            operational: false,
            test_profiles: false,
            default_smdp: false,
        };
        let all = options(&a);
        assert!(all.delete_operational && all.delete_field_loaded_test && all.reset_default_dp);
        a.test_profiles = true;
        let o = options(&a);
        assert!(!o.delete_operational && o.delete_field_loaded_test && !o.reset_default_dp);
        assert_eq!(describe(&o, false), "delete all test profiles");
        assert_eq!(describe(&o, true), "deleted all test profiles");
    }
}

//! The confirmation code options of `profiles download` (the end user's code) and
//! `smdp order` (the operator's): on the command line, or from stdin or a file so that
//! it never shows in `ps` or a shell history (SGP.22 §3.1.3.2: only its hash travels).

use crate::errors::CliError;
use crate::terminal::answers::read_given;
use crate::terminal::ParamSource;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// A confirmation code: `--confirmation-code X`, `--confirmation-code-stdin` or
/// `--confirmation-code-file FILE`, at most one of them.
#[derive(clap::Args, Debug, Default)]
pub struct ConfirmationCodeArgs {
    /// The confirmation code (visible to other users in `ps`: prefer the two below)
    #[arg(long, value_name = "CODE", group = "cc")]
    pub confirmation_code: Option<String>,
    /// Read the confirmation code from the first line of stdin
    #[arg(long, group = "cc")]
    pub confirmation_code_stdin: bool,
    /// Read the confirmation code from the first line of FILE
    #[arg(long, value_name = "FILE", group = "cc")]
    pub confirmation_code_file: Option<PathBuf>,
}

impl ConfirmationCodeArgs {
    /// The code, when one was given (zeroized on drop).
    pub fn read(self) -> Result<Option<Zeroizing<String>>, CliError> {
        if let Some(c) = self.confirmation_code {
            return Ok(Some(Zeroizing::new(c)));
        }
        let Some(src) =
            ParamSource::from_options(self.confirmation_code_stdin, self.confirmation_code_file)
        else {
            return Ok(None);
        };
        let code = read_given(&src, "confirmation code", &mut std::io::stdin().lock())?;
        if code.is_empty() {
            return Err(CliError::Usage(
                "no confirmation code given (an empty line)".into(),
            ));
        }
        Ok(Some(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        cc: ConfirmationCodeArgs,
    }

    #[test]
    fn a_file_gives_its_first_line_and_options_exclude_each_other() {
        let dir = std::env::temp_dir().join(format!("cc-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("code");
        std::fs::write(&file, "4711\nrest\n").unwrap();
        let f = file.to_str().unwrap();
        let cli = Cli::try_parse_from(["t", "--confirmation-code-file", f]).unwrap();
        assert_eq!(cli.cc.read().unwrap().unwrap().as_str(), "4711");
        let cli = Cli::try_parse_from(["t", "--confirmation-code", "12"]).unwrap();
        assert_eq!(cli.cc.read().unwrap().unwrap().as_str(), "12");
        assert!(Cli::try_parse_from(["t"])
            .unwrap()
            .cc
            .read()
            .unwrap()
            .is_none());
        assert!(Cli::try_parse_from([
            "t",
            "--confirmation-code",
            "1",
            "--confirmation-code-file",
            f
        ])
        .is_err());
        std::fs::write(&file, "\n").unwrap();
        let cli = Cli::try_parse_from(["t", "--confirmation-code-file", f]).unwrap();
        assert!(cli.cc.read().unwrap_err().to_string().contains("empty"));
        let missing = dir.join("none");
        let cli = Cli::try_parse_from(["t", "--confirmation-code-file", missing.to_str().unwrap()])
            .unwrap();
        let e = cli.cc.read().unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

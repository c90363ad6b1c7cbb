//! The operator token of the remote SM's admin endpoints (`/veuicc/sm/v1/admin/...`,
//! [`super::admin`]): 32 or more random bytes, kept in a file of one line (hex or
//! padded standard base64), sent by the operator's sm-cli as `Authorization: Bearer
//! <line>`.
//!
//! - `sm-cli smdp operator-token --out FILE` makes one ([`OperatorToken::generate`],
//!   [`OperatorToken::write_new`]: 32 bytes from the system's RNG, 64 hex digits, the
//!   file created with mode 0600, never over an existing one);
//! - `smdp serve --operator-token-file FILE` and the client's `--operator-token-file`
//!   read it ([`OperatorToken::load`]); the server refuses a file that others may read
//!   or write (any of the 0o077 bits), or that another user owns;
//! - [`OperatorToken::matches`] compares the decoded bytes in constant time (`subtle`).
//!
//! The token is a secret: its bytes are zeroized when dropped, `Debug` prints
//! `OperatorToken(<redacted>)`, and no message or log line carries it.

use apdu::crypto::{random_array, SysRng};
use apdu::sgp22::es9p::codec::decode_base64;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The fewest random bytes a token may carry.
pub const MIN_TOKEN_BYTES: usize = 32;

/// The most a token line may decode to (bytes): anything longer is not a token.
pub const MAX_TOKEN_BYTES: usize = 256;

/// An operator token (its decoded bytes).
pub struct OperatorToken {
    bytes: Zeroizing<Vec<u8>>,
    /// The line as in the file (what the client sends).
    line: Zeroizing<String>,
}

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(<redacted>)")
    }
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("operator token file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "operator token file {path} has mode {mode:04o}: others may read it; make it 0600 \
         (chmod 600 {path}) or make a new one with `sm-cli smdp operator-token --out FILE`"
    )]
    Mode { path: String, mode: u32 },
    #[error(
        "operator token file {path} is owned by uid {owner}, not by this server's user \
         (uid {me}): the token must be the server's own"
    )]
    Owner { path: String, owner: u32, me: u32 },
    #[error(
        "operator token file {path}: {why}; a token is one line of 64+ hex digits or base64 \
         of 32+ random bytes (`sm-cli smdp operator-token --out FILE` makes one)"
    )]
    Format { path: String, why: String },
}

impl OperatorToken {
    /// 32 fresh bytes from the system's RNG.
    pub fn generate() -> Result<OperatorToken, String> {
        let bytes: Zeroizing<[u8; MIN_TOKEN_BYTES]> =
            Zeroizing::new(random_array(&mut SysRng).map_err(|e| e.to_string())?);
        Ok(OperatorToken {
            line: Zeroizing::new(hex::encode(&bytes[..])),
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Reads one token line: 64+ hex digits (an even count), else padded standard
    /// base64; either must give at least [`MIN_TOKEN_BYTES`].
    pub fn parse(text: &str) -> Result<OperatorToken, String> {
        let line = text.strip_suffix('\n').unwrap_or(text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Err("it is empty".into());
        }
        if line.contains(['\n', '\r']) {
            return Err("it has more than one line".into());
        }
        let bytes = if line.len().is_multiple_of(2) && line.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(line).map_err(|_| "not hex".to_string())?
        } else {
            decode_base64(line, MAX_TOKEN_BYTES)
                .map_err(|_| "neither hex digits nor base64".to_string())?
        };
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < MIN_TOKEN_BYTES {
            return Err(format!(
                "it decodes to {} bytes, fewer than {MIN_TOKEN_BYTES}",
                bytes.len()
            ));
        }
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(format!("it decodes to more than {MAX_TOKEN_BYTES} bytes"));
        }
        Ok(OperatorToken {
            bytes,
            line: Zeroizing::new(line.to_string()),
        })
    }

    /// Reads the token of `path`. With `strict` (the server), the file must be owned by
    /// this process's effective user and have none of the 0o077 mode bits.
    pub fn load(path: &Path, strict: bool) -> Result<OperatorToken, TokenError> {
        let shown = path.display().to_string();
        let io = |source| TokenError::Io {
            path: shown.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(TokenError::Format {
                path: shown,
                why: "not a regular file".into(),
            });
        }
        if strict {
            let mode = meta.mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(TokenError::Mode { path: shown, mode });
            }
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if meta.uid() != me {
                return Err(TokenError::Owner {
                    path: shown,
                    owner: meta.uid(),
                    me,
                });
            }
        }
        if meta.len() > 4 * MAX_TOKEN_BYTES as u64 {
            return Err(TokenError::Format {
                path: shown,
                why: "it is too large".into(),
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        OperatorToken::parse(&text).map_err(|why| TokenError::Format { path: shown, why })
    }

    /// Writes the token as one line to a new file `path` (mode 0600; an existing file is
    /// an error, never overwritten).
    pub fn write_new(&self, path: &Path) -> Result<(), TokenError> {
        let io = |source| TokenError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut text = Zeroizing::new(self.line.to_string());
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// The line to send (`Authorization: Bearer <line>`).
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Whether `authorization` (the header's value, untrusted) is `Bearer <token>` for
    /// this token. The bytes are compared in constant time; a value that is not a token
    /// at all is refused before (its length and form are no secret).
    pub fn matches(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some(rest) = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
        else {
            return false;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return false;
        };
        let Ok(presented) = OperatorToken::parse(text.trim()) else {
            return false;
        };
        bool::from(presented.bytes.as_slice().ct_eq(self.bytes.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn generated_tokens_round_trip_and_compare() {
        let a = OperatorToken::generate().expect("rng");
        let b = OperatorToken::generate().expect("rng");
        assert_eq!(a.line().len(), 64);
        assert_ne!(a.line(), b.line());
        let header = format!("Bearer {}", a.line());
        assert!(a.matches(Some(header.as_bytes())));
        assert!(!b.matches(Some(header.as_bytes())));
        assert!(!a.matches(None));
        assert!(!a.matches(Some(a.line().as_bytes())), "no scheme");
        assert!(!a.matches(Some(b"Bearer ")));
        assert!(!a.matches(Some(b"Basic abc")));
        // The same bytes in base64 are the same token.
        let b64 = apdu::sgp22::es9p::codec::encode_base64(&a.bytes);
        assert!(a.matches(Some(format!("Bearer {b64}").as_bytes())));
        assert_eq!(format!("{a:?}"), "OperatorToken(<redacted>)");
    }

    #[test]
    fn short_or_garbled_lines_are_refused() {
        assert!(OperatorToken::parse("").is_err());
        assert!(OperatorToken::parse(&"ab".repeat(31)).is_err());
        assert!(OperatorToken::parse(&"ab".repeat(32)).is_ok());
        assert!(OperatorToken::parse(&format!("{}\n", "ab".repeat(32))).is_ok());
        assert!(OperatorToken::parse(&format!("{}\nx", "ab".repeat(32))).is_err());
        assert!(OperatorToken::parse("not a token at all!").is_err());
    }

    #[test]
    fn the_server_refuses_a_file_others_may_read() {
        let dir = std::env::temp_dir().join(format!("sm-token-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("token");
        let t = OperatorToken::generate().expect("rng");
        t.write_new(&path).expect("write");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(t.write_new(&path).is_err(), "never overwritten");
        let read = OperatorToken::load(&path, true).expect("0600 is fine");
        assert_eq!(read.line(), t.line());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = OperatorToken::load(&path, true).expect_err("0644 refused");
        assert!(e.to_string().contains("mode 0644"), "{e}");
        assert!(!e.to_string().contains(t.line()), "never the token: {e}");
        // The client only reads it.
        assert!(OperatorToken::load(&path, false).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        assert!(OperatorToken::load(&path, true).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

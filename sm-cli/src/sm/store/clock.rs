//! Wall-clock time for the store: Unix milliseconds for comparisons (challenge expiry)
//! and RFC 3339 UTC text (`2025-01-02T03:04:05.678Z`) for records and the audit log.
//! The text form has a fixed width, so it sorts in time order.

use std::time::SystemTime;

/// One reading of the clock, taken inside a transaction so that audit order and time
/// order agree.
#[derive(Debug, Clone)]
pub(crate) struct Now {
    pub ms: i64,
    pub text: String,
}

impl Now {
    pub fn read() -> Now {
        let ms = crate::clock::unix_ms(SystemTime::now());
        Now {
            ms,
            text: rfc3339_utc(ms),
        }
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC with millisecond precision (the one
/// formatter of `crate::clock`).
pub fn rfc3339_utc(unix_ms: i64) -> String {
    crate::clock::utc_text(unix_ms, crate::clock::Precision::Millis)
}

#[cfg(test)]
mod tests {
    use super::rfc3339_utc;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_utc(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
    }
}

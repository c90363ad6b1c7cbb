//! UTC timestamps as text, formatted once (with the `time` crate): ISO 8601 / RFC 3339
//! to the second (`2025-11-26T15:40:07Z`) for recorded script headers and replay
//! reports, and to the millisecond (`2025-01-02T03:04:05.678Z`) for the SM store's
//! records and audit log. Both have a fixed width for years 0-9999, so they sort in
//! time order.

use std::time::{SystemTime, UNIX_EPOCH};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const TO_SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const TO_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// How much of the second a timestamp shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Seconds,
    Millis,
}

/// Unix milliseconds (negative: before 1970) as UTC text. An instant outside the
/// years `time` represents prints as the epoch.
pub fn utc_text(unix_ms: i64, precision: Precision) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let format = match precision {
        Precision::Seconds => TO_SECONDS,
        Precision::Millis => TO_MILLIS,
    };
    // Formatting into a String fails only for components the instant lacks; an
    // `OffsetDateTime` has them all.
    t.format(format).unwrap_or_default()
}

/// `t` as Unix milliseconds; times before 1970 count as the epoch.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `t` in UTC, to the second. Times before 1970 print as the epoch.
pub fn iso8601(t: SystemTime) -> String {
    utc_text(unix_ms(t), Precision::Seconds)
}

/// Now, in UTC, to the second.
pub fn now_iso8601() -> String {
    iso8601(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_dates() {
        let at = |s: u64| iso8601(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_764_171_607), "2025-11-26T15:40:07Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_764_171_607_999)),
            "2025-11-26T15:40:07Z"
        );
    }

    #[test]
    fn millisecond_text() {
        let ms = |t: i64| utc_text(t, Precision::Millis);
        assert_eq!(ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(ms(-1), "1969-12-31T23:59:59.999Z");
    }
}

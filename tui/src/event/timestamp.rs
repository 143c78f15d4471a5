//! `google.protobuf.Timestamp` and its RFC 3339 text form as Go's protojson writes it.
//!
//! Hand-rolled rather than chrono: every event carries several timestamps, so parsing and
//! formatting sit on the hot path of decoding and printing.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SEC: i128 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A point in time: seconds since the Unix epoch plus nanoseconds (always `< 1e9`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: u32,
}

/// How many fractional digits [`Timestamp::write_rfc3339`] prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fraction {
    /// 0, 3, 6 or 9 digits, the fewest that are exact (Go protojson).
    Shortest,
    /// Always 9 digits (Go layout `2006-01-02T15:04:05.000000000Z07:00`, tetra `--timestamps`).
    Nanos,
}

impl Timestamp {
    pub fn from_unix_nanos(n: i128) -> Self {
        let seconds = n.div_euclid(NANOS_PER_SEC);
        let seconds = i64::try_from(seconds).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX });
        Timestamp {
            seconds,
            nanos: n.rem_euclid(NANOS_PER_SEC) as u32,
        }
    }

    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.seconds) * NANOS_PER_SEC + i128::from(self.nanos)
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Self::from_unix_nanos(nanos)
    }

    /// Appends the UTC RFC 3339 form (`2024-10-01T02:39:42.761250745Z`) to `out`.
    pub fn write_rfc3339(&self, out: &mut Vec<u8>, fraction: Fraction) {
        let days = self.seconds.div_euclid(SECS_PER_DAY);
        let secs_of_day = self.seconds.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        if (0..=9999).contains(&year) {
            push_digits(out, year as u32, 4);
        } else {
            // Outside what protobuf allows; still print something readable.
            out.extend_from_slice(format!("{year:+}").as_bytes());
        }
        out.push(b'-');
        push_digits(out, month, 2);
        out.push(b'-');
        push_digits(out, day, 2);
        out.push(b'T');
        push_digits(out, secs_of_day / 3600, 2);
        out.push(b':');
        push_digits(out, secs_of_day / 60 % 60, 2);
        out.push(b':');
        push_digits(out, secs_of_day % 60, 2);
        let nanos = self.nanos.min(999_999_999);
        match fraction {
            Fraction::Nanos => {
                out.push(b'.');
                push_digits(out, nanos, 9);
            }
            Fraction::Shortest if nanos == 0 => {}
            Fraction::Shortest if nanos.is_multiple_of(1_000_000) => {
                out.push(b'.');
                push_digits(out, nanos / 1_000_000, 3);
            }
            Fraction::Shortest if nanos.is_multiple_of(1_000) => {
                out.push(b'.');
                push_digits(out, nanos / 1_000, 6);
            }
            Fraction::Shortest => {
                out.push(b'.');
                push_digits(out, nanos, 9);
            }
        }
        out.push(b'Z');
    }
}

fn push_digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The text was not an RFC 3339 date-time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError(String);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid RFC 3339 timestamp {:?} (want e.g. 2024-10-01T02:39:42.761250745Z)",
            self.0
        )
    }
}

impl std::error::Error for TimestampError {}

/// The value of a run of ASCII digits.
fn digits(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &b in bytes {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u32::from(digit);
    }
    Some(value)
}

const POWERS_OF_TEN: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; the first 19 bytes have fixed positions.
fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut pos = 19;
    let mut nanos = 0u32;
    if b[pos] == b'.' {
        let count = b[pos + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if count == 0 {
            return None;
        }
        // Digits past nanosecond precision are accepted and dropped.
        let kept = count.min(9);
        nanos = digits(&b[pos + 1..pos + 1 + kept])? * POWERS_OF_TEN[9 - kept];
        pos += 1 + count;
    }

    let offset = match &b[pos..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };

    let local = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second);
    Some(Timestamp {
        seconds: local - offset,
        nanos,
    })
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    /// Accepts any RFC 3339 date-time: `Z` or a numeric offset, any number of fractional digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rfc3339(s).ok_or_else(|| TimestampError(s.to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(32);
        self.write_rfc3339(&mut buf, Fraction::Shortest);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::with_capacity(32);
        self.write_rfc3339(&mut buf, Fraction::Shortest);
        // Only ASCII digits and separators were written.
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortest(ts: Timestamp) -> String {
        ts.to_string()
    }

    fn nanos9(ts: Timestamp) -> String {
        let mut out = Vec::new();
        ts.write_rfc3339(&mut out, Fraction::Nanos);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_like_protojson() {
        let ts: Timestamp = "2024-10-01T02:39:42.761250745Z".parse().unwrap();
        assert_eq!(shortest(ts), "2024-10-01T02:39:42.761250745Z");
        let ts = Timestamp {
            seconds: ts.seconds,
            nanos: 500_000_000,
        };
        assert_eq!(shortest(ts), "2024-10-01T02:39:42.500Z");
        let ts = Timestamp {
            seconds: ts.seconds,
            nanos: 761_250_000,
        };
        assert_eq!(shortest(ts), "2024-10-01T02:39:42.761250Z");
        let ts: Timestamp = "2024-10-01T02:12:16Z".parse().unwrap();
        assert_eq!(shortest(ts), "2024-10-01T02:12:16Z");
        assert_eq!(shortest(Timestamp::default()), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn fixed_nanos_layout() {
        let ts: Timestamp = "2024-10-01T02:12:16Z".parse().unwrap();
        assert_eq!(nanos9(ts), "2024-10-01T02:12:16.000000000Z");
    }

    #[test]
    fn parses_offsets_and_any_precision() {
        let utc: Timestamp = "2024-10-01T02:39:42.7Z".parse().unwrap();
        assert_eq!(utc.nanos, 700_000_000);
        let offset: Timestamp = "2024-10-01T04:39:42.7+02:00".parse().unwrap();
        assert_eq!(offset, utc);
        let west: Timestamp = "2024-09-30t21:09:42.7-05:30".parse().unwrap();
        assert_eq!(west, utc);
        let long: Timestamp = "2024-10-01T02:39:42.7000000001234z".parse().unwrap();
        assert_eq!(long, utc);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2024-10-01",
            "2024-10-01T02:39:42",
            "2024-13-01T02:39:42Z",
            "2023-02-29T02:39:42Z",
            "2024-10-01T24:00:00Z",
            "2024-10-01T02:39:42.Z",
            "2024-10-01T02:39:42Zjunk",
            "2024-10-01T02:39:42+0200",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
        }
        assert!("2024-02-29T00:00:00Z".parse::<Timestamp>().is_ok());
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-719_468 - 1, -1, 0, 59, 365 * 30 + 123, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let ts = Timestamp {
            seconds: -1,
            nanos: 5,
        };
        assert_eq!(shortest(ts), "1969-12-31T23:59:59.000000005Z");
        assert_eq!(shortest(ts).parse::<Timestamp>().unwrap(), ts);
    }

    #[test]
    fn unix_nanos_round_trip() {
        for n in [0i128, 1, -1, 1_727_750_382_761_250_745, -1_500_000_000] {
            assert_eq!(Timestamp::from_unix_nanos(n).unix_nanos(), n);
        }
        assert_eq!(
            Timestamp::from_unix_nanos(-1),
            Timestamp {
                seconds: -1,
                nanos: 999_999_999
            }
        );
    }
}

//! Lifetimes and dates as people type them: `90d`, `12h`, `30m`, `3600`
//! (seconds), or a date (`2027-01-31` or RFC 3339).

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};

use super::UsageError;

/// A lifetime in seconds from `90d`, `12h`, `30m`, `45s`, `2w` or plain seconds.
pub fn duration_seconds(flag: &str, raw: &str) -> Result<i64, UsageError> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if per_unit > 0 && n > 0 => {
            n.checked_mul(per_unit).ok_or_else(|| too_long(flag, raw))
        }
        _ => Err(UsageError(format!(
            "{flag} {raw:?}: give a duration such as 90d, 12h, 30m or a number of seconds"
        ))),
    }
}

fn too_long(flag: &str, raw: &str) -> UsageError {
    UsageError(format!("{flag} {raw:?} is too long"))
}

/// An expiry as RFC 3339: a duration from now, a day (its midnight UTC),
/// or an RFC 3339 date-time.
pub fn expiry(flag: &str, raw: &str) -> Result<String, UsageError> {
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return format(at);
    }
    let day_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(day) = Date::parse(raw, &day_format) {
        return format(day.with_time(Time::MIDNIGHT).assume_utc());
    }
    let seconds = duration_seconds(flag, raw).map_err(|_| {
        UsageError(format!(
            "{flag} {raw:?}: give a duration such as 90d or 12h, a day such as 2027-01-31, or an RFC 3339 date-time"
        ))
    })?;
    format(OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
}

fn format(at: OffsetDateTime) -> Result<String, UsageError> {
    at.replace_nanosecond(0)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .ok_or_else(|| UsageError("the date is out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_their_units() {
        assert_eq!(duration_seconds("--ttl", "90d").unwrap(), 90 * 86_400);
        assert_eq!(duration_seconds("--ttl", "12h").unwrap(), 43_200);
        assert_eq!(duration_seconds("--ttl", "3600").unwrap(), 3_600);
        assert!(duration_seconds("--ttl", "soon").is_err());
        assert!(duration_seconds("--ttl", "0d").is_err());
        assert!(duration_seconds("--ttl", "5y").is_err());
    }

    #[test]
    fn expiries_from_dates_and_durations() {
        assert_eq!(
            expiry("--expiry", "2027-01-31").unwrap(),
            "2027-01-31T00:00:00Z"
        );
        assert_eq!(
            expiry("--expiry", "2027-01-31T12:30:00Z").unwrap(),
            "2027-01-31T12:30:00Z"
        );
        let in_a_day = expiry("--expiry", "1d").unwrap();
        assert!(in_a_day > OffsetDateTime::now_utc().format(&Rfc3339).unwrap());
        let error = expiry("--expiry", "next year").unwrap_err().to_string();
        assert!(error.contains("--expiry"), "{error}");
    }
}

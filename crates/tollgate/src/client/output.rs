//! How answers are shown: aligned columns with readable dates for
//! people, or the API's JSON exactly as it answered.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Within this many days an expiry is marked as soon.
const SOON_DAYS: i64 = 7;

/// Prints `value` as indented JSON.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints `value` as the API's JSON, or through `table` for people.
pub fn answer<T: Serialize>(
    output: Output,
    value: &T,
    table: impl FnOnce(&T),
) -> anyhow::Result<()> {
    match output {
        Output::Json => json(value),
        Output::Table => {
            table(value);
            Ok(())
        }
    }
}

/// Rows under a header, each column as wide as its widest cell.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(self.header.clone());
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect());
        }
    }
}

/// An RFC 3339 date as `2026-11-30 14:05 UTC`; anything else as it is.
pub fn date(raw: &str) -> String {
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute()
            )
        }
        Err(_) => raw.to_owned(),
    }
}

/// An expiry date, marked when it has passed or comes within a week;
/// `never` when there is none.
pub fn expiry(raw: Option<&str>) -> String {
    let Some(raw) = raw else {
        return "never".to_owned();
    };
    let shown = date(raw);
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(at) => {
            let left = at - OffsetDateTime::now_utc();
            if left.is_negative() {
                format!("{shown} (expired)")
            } else if left.whole_days() < SOON_DAYS {
                format!("{shown} (expires soon)")
            } else {
                shown
            }
        }
        Err(_) => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_dates_and_expiries_are_marked() {
        assert_eq!(date("2026-11-30T14:05:09Z"), "2026-11-30 14:05 UTC");
        assert_eq!(date("not a date"), "not a date");
        assert_eq!(expiry(None), "never");
        assert!(expiry(Some("2001-01-01T00:00:00Z")).ends_with("(expired)"));
        let soon = OffsetDateTime::now_utc() + time::Duration::days(2);
        assert!(expiry(Some(&soon.format(&Rfc3339).unwrap())).ends_with("(expires soon)"));
        let later = OffsetDateTime::now_utc() + time::Duration::days(60);
        assert!(!expiry(Some(&later.format(&Rfc3339).unwrap())).contains('('));
    }
}

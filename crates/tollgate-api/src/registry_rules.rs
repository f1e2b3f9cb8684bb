//! The rules of the Container Registry API, as types that parse untrusted
//! input: ids, names, statuses, schedules, subnets, dates, page bounds.
//! (Repository names and token scopes are in [`crate::repository`].)
//!
//! A value of one of these types is valid by construction; every refusal is a
//! [`ParseError`] whose message names the field and says what is allowed.

use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::parse::{ParseError, truncate};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a path parameter: a UUID in its canonical hyphenated
            /// form (any case), answered in lower case.
            pub fn parse(field: &str, raw: &str) -> Result<Self, ParseError> {
                Self::parse_owned(field, raw.to_owned())
            }

            /// Like [`Self::parse`], keeping the string when it is already
            /// canonical (as every stored id is).
            pub fn parse_owned(field: &str, raw: String) -> Result<Self, ParseError> {
                if is_canonical_lower_uuid(&raw) {
                    return Ok(Self(raw));
                }
                canonical_uuid(&raw).map(Self).ok_or_else(|| {
                    ParseError::new(format!(
                        "{field} {:?} is not a UUID such as 046b6c7f-0b8a-43b9-b35d-6489e6daee91",
                        truncate(&raw)
                    ))
                })
            }

            /// A new id: a UUIDv7, so ids sort in creation order.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A registry's id, unique within its contract.
    RegistryId
);

uuid_id!(
    /// A registry token's id, unique within its registry.
    TokenId
);

/// Whether `raw` is a UUID in lower-case 8-4-4-4-12 form already: the
/// check every id read from the store passes, so it is one table lookup
/// per byte.
fn is_canonical_lower_uuid(raw: &str) -> bool {
    /// What each of the 36 positions holds: a lower-case hex digit or `-`.
    const SHAPE: &[u8; 36] = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    /// The class of each byte, in `SHAPE`'s letters (0: neither).
    const CLASS: [u8; 256] = {
        let mut class = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            class[b] = match b as u8 {
                b'0'..=b'9' | b'a'..=b'f' => b'x',
                b'-' => b'-',
                _ => 0,
            };
            b += 1;
        }
        class
    };
    raw.len() == SHAPE.len()
        && raw
            .bytes()
            .zip(SHAPE)
            .all(|(byte, shape)| CLASS[usize::from(byte)] == *shape)
}

/// `raw` in lower case if it is a UUID in the 8-4-4-4-12 hyphenated form.
fn canonical_uuid(raw: &str) -> Option<String> {
    let hyphenated = raw.len() == 36 && raw.bytes().filter(|b| *b == b'-').count() == 4;
    uuid::Uuid::parse_str(raw)
        .ok()
        .filter(|_| hyphenated)
        .map(|u| u.to_string())
}

/// A registry name: `^[a-z][-a-z0-9]{1,61}[a-z0-9]$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryName(String);

impl RegistryName {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        Self::parse_owned(field, s.to_owned())
    }

    /// Whether `s` is a valid registry name, without building one.
    pub fn is_valid(s: &str) -> bool {
        let b = s.as_bytes();
        (3..=63).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[b.len() - 1] != b'-'
    }

    /// Like [`Self::parse`], keeping the string.
    pub fn parse_owned(field: &str, s: String) -> Result<Self, ParseError> {
        if Self::is_valid(&s) {
            Ok(Self(s))
        } else {
            Err(ParseError::new(format!(
                "{field} {:?} is not a valid registry name: 3 to 63 characters a-z, 0-9 or -, starting with a letter and ending with a letter or digit",
                truncate(&s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token name: `^[A-Za-z][-A-Za-z0-9]{0,61}[A-Za-z0-9]$`; also the username.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        Self::parse_owned(field, s.to_owned())
    }

    /// Like [`Self::parse`], keeping the string.
    pub fn parse_owned(field: &str, s: String) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let ok = (2..=63).contains(&b.len())
            && b[0].is_ascii_alphabetic()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[b.len() - 1] != b'-';
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(format!(
                "{field} {:?} is not a valid token name: 2 to 63 characters A-Z, a-z, 0-9 or -, starting with a letter and ending with a letter or digit",
                truncate(&s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Enabled,
    Disabled,
}

impl TokenStatus {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        match s {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Disabled),
            other => Err(ParseError::new(format!(
                "{field} must be \"enabled\" or \"disabled\", got {:?}",
                truncate(other)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

/// The days of the week, spelled as the API spells them.
pub const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A validated garbage-collection schedule: distinct days in week order and
/// a UTC time of day rendered `HH:MM:SS+00:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcSchedule {
    days: Vec<String>,
    time: String,
}

impl Default for GcSchedule {
    /// No day, at midnight UTC: what a registry created without a schedule has.
    fn default() -> Self {
        Self {
            days: Vec::new(),
            time: "00:00:00+00:00".to_owned(),
        }
    }
}

impl GcSchedule {
    /// The days, in week order, spelled as the API spells them.
    pub fn days(&self) -> &[String] {
        &self.days
    }

    /// The time of day, `HH:MM:SS+00:00`.
    pub fn time(&self) -> &str {
        &self.time
    }

    pub fn parse(field: &str, days: &[String], time: &str) -> Result<Self, ParseError> {
        let mut indices = Vec::with_capacity(days.len());
        for day in days {
            let index = DAYS.iter().position(|d| d == day).ok_or_else(|| {
                ParseError::new(format!(
                    "{field}.days contains {:?}: use Monday, Tuesday, Wednesday, Thursday, Friday, Saturday or Sunday",
                    truncate(day)
                ))
            })?;
            indices.push(index);
        }
        indices.sort_unstable();
        indices.dedup();
        Ok(Self {
            days: indices.into_iter().map(|i| DAYS[i].to_owned()).collect(),
            time: parse_time_of_day(&format!("{field}.time"), time)?,
        })
    }
}

/// `HH:MM:SS`, optionally with `Z` or `+00:00`; answers `HH:MM:SS+00:00`.
fn parse_time_of_day(field: &str, s: &str) -> Result<String, ParseError> {
    let clock = s
        .strip_suffix("+00:00")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    // A fraction of a second (RFC 3339's time-secfrac) is allowed and dropped.
    let clock = match clock.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        _ => clock,
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let numbers: Option<Vec<u32>> = parts
        .iter()
        .map(|p| (p.len() == 2).then(|| p.parse::<u32>().ok()).flatten())
        .collect();
    match numbers.as_deref() {
        Some([h, m, sec]) if *h < 24 && *m < 60 && *sec < 60 => {
            Ok(format!("{h:02}:{m:02}:{sec:02}+00:00"))
        }
        _ => Err(ParseError::new(format!(
            "{field} {:?} is not a UTC time of day: use HH:MM:SS, optionally followed by +00:00 or Z",
            truncate(s)
        ))),
    }
}

/// One entry of `apiSubnetAllowList`: an address (`/32` or `/128` is
/// assumed), or a network in CIDR form.
///
/// As the API document says, `0.0.0.0/0` denies all traffic rather than
/// allowing it: a network with prefix length 0 (`0.0.0.0/0`, `::/0`)
/// contains no address, so a list made only of it admits no client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// As given (trimmed), which is how it is shown again.
    text: String,
    network: IpAddr,
    prefix: u8,
}

impl Subnet {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        Self::parse_owned(field, s.trim().to_owned())
    }

    /// Like [`Self::parse`], keeping the string when it is already trimmed
    /// (as every stored entry is).
    pub fn parse_owned(field: &str, s: String) -> Result<Self, ParseError> {
        let text = if s.trim().len() == s.len() {
            s
        } else {
            s.trim().to_owned()
        };
        let (network, prefix) = Self::network_and_prefix(field, &text)?;
        Ok(Self {
            text,
            network,
            prefix,
        })
    }

    fn network_and_prefix(field: &str, s: &str) -> Result<(IpAddr, u8), ParseError> {
        let bad = || {
            ParseError::new(format!(
                "{field} {:?} is not an IPv4/IPv6 address or CIDR (e.g. 192.0.2.0/24, 2001:db8::/32)",
                truncate(s)
            ))
        };
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok((network, prefix))
    }

    /// The entry as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `address` lies in this subnet; never for a `/0` network,
    /// which the API document defines as "deny all traffic".
    pub fn contains(&self, address: IpAddr) -> bool {
        if self.prefix == 0 {
            return false;
        }
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_match(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_match(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V4(ip)) => {
                prefix_match(&net.octets(), &ip.to_ipv6_mapped().octets(), self.prefix)
            }
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| prefix_match(&net.octets(), &ip.octets(), self.prefix)),
        }
    }
}

fn prefix_match(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if net[..full] != ip[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    net[full] & mask == ip[full] & mask
}

/// The most entries `apiSubnetAllowList` may hold.
pub const MAX_ALLOW_LIST: usize = 25;

/// Parses an allow list, entry by entry.
pub fn parse_allow_list(field: &str, entries: &[String]) -> Result<Vec<Subnet>, ParseError> {
    if entries.len() > MAX_ALLOW_LIST {
        return Err(ParseError::new(format!(
            "{field} may hold at most {MAX_ALLOW_LIST} entries, got {}",
            entries.len()
        )));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| Subnet::parse(&format!("{field}[{i}]"), e))
        .collect()
}

/// Whether `client` may use a registry with this allow list: an empty list
/// allows every address, otherwise one entry must contain it.
pub fn allows(allow_list: &[Subnet], client: IpAddr) -> bool {
    allow_list.is_empty() || allow_list.iter().any(|subnet| subnet.contains(client))
}

/// Parses an RFC 3339 date-time into Unix seconds (fractions dropped).
/// The instant must be renderable in UTC as RFC 3339 again (years 0000 to
/// 9999): `9999-12-31T23:59:59-23:59` is in the year 10000 in UTC, and an
/// expiry date that no answer can show is refused rather than shown wrong.
pub fn parse_date_time(field: &str, s: &str) -> Result<i64, ParseError> {
    let parsed = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        ParseError::new(format!(
            "{field} {:?} is not an RFC 3339 date-time such as 2030-01-31T12:00:00Z",
            truncate(s)
        ))
    })?;
    match parsed.checked_to_offset(time::UtcOffset::UTC) {
        Some(utc) if (0..=9999).contains(&utc.year()) => Ok(utc.unix_timestamp()),
        _ => Err(ParseError::new(format!(
            "{field} {:?} is outside the years 0000 to 9999 in UTC",
            truncate(s)
        ))),
    }
}

/// How long a rotated registry token's previous password keeps working:
/// from 0 (it stops at once) to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracePeriod(i64);

impl GracePeriod {
    /// Seven days.
    pub const MAX_SECONDS: i64 = 7 * 24 * 3600;

    pub fn parse(field: &str, seconds: i64) -> Result<Self, ParseError> {
        if (0..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(ParseError::new(format!(
                "{field} must be between 0 and {} seconds (7 days), got {seconds}",
                Self::MAX_SECONDS
            )))
        }
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// The `offset` of a token list: a non-negative integer.
pub fn parse_offset(s: &str) -> Result<u64, ParseError> {
    s.parse::<u64>()
        .ok()
        .filter(|o| *o <= i64::MAX as u64)
        .ok_or_else(|| {
            ParseError::new(format!(
                "offset must be a non-negative integer, got {:?}",
                truncate(s)
            ))
        })
}

/// The largest page a list answers.
pub const MAX_LIMIT: u64 = 1000;

/// The `limit` of a list: an integer from 1 to [`MAX_LIMIT`].
pub fn parse_limit(s: &str) -> Result<u64, ParseError> {
    s.parse::<u64>()
        .ok()
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| {
            ParseError::new(format!(
                "limit must be an integer from 1 to {MAX_LIMIT}, got {:?}",
                truncate(s)
            ))
        })
}

impl fmt::Display for RegistryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_follow_the_documented_pattern() {
        for ok in ["abc", "my-registry", "a1b", &format!("a{}", "b".repeat(62))] {
            assert!(RegistryName::parse("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Abc",
            "1abc",
            "abc-",
            "a_bc",
            "",
            &format!("a{}", "b".repeat(63)),
        ] {
            assert!(RegistryName::parse("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_names_follow_the_documented_pattern() {
        for ok in ["ab", "Push-Token", "a1", &format!("A{}", "b".repeat(62))] {
            assert!(TokenName::parse("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "1a",
            "ab-",
            "a_b",
            "",
            "a b",
            &format!("A{}", "b".repeat(63)),
        ] {
            assert!(TokenName::parse("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_normalise_days_and_time() {
        let s = GcSchedule::parse(
            "g",
            &["Sunday".into(), "Monday".into(), "Monday".into()],
            "04:17:00",
        )
        .unwrap();
        assert_eq!(s.days(), ["Monday", "Sunday"]);
        assert_eq!(s.time(), "04:17:00+00:00");
        assert_eq!(
            GcSchedule::parse("g", &[], "01:23:00Z").unwrap().time(),
            "01:23:00+00:00"
        );
        assert!(GcSchedule::parse("g", &["monday".into()], "01:00:00").is_err());
        for bad in ["24:00:00", "1:00:00", "01:00", "01:00:00+02:00", "aa:bb:cc"] {
            assert!(GcSchedule::parse("g", &[], bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subnets_parse_and_match() {
        let net = Subnet::parse("a", "192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        let host = Subnet::parse("a", "127.0.0.1").unwrap();
        assert!(host.contains("127.0.0.1".parse().unwrap()));
        assert!(!host.contains("127.0.0.2".parse().unwrap()));
        for deny_all in ["0.0.0.0/0", "::/0"] {
            let none = Subnet::parse("a", deny_all).unwrap();
            for client in ["8.8.8.8", "127.0.0.1", "::1", "2001:db8::1"] {
                assert!(
                    !none.contains(client.parse().unwrap()),
                    "{deny_all} {client}"
                );
            }
        }
        let half = Subnet::parse("a", "0.0.0.0/1").unwrap();
        assert!(half.contains("8.8.8.8".parse().unwrap()));
        let v6 = Subnet::parse("a", "2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(
            Subnet::parse("a", "::ffff:10.0.0.0/104")
                .unwrap()
                .contains("10.1.2.3".parse().unwrap())
        );
        for bad in [
            "192.0.2.0/33",
            "2001:db8::/129",
            "300.1.1.1",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "x",
            "",
        ] {
            assert!(Subnet::parse("a", bad).is_err(), "{bad}");
        }
        assert_eq!(
            Subnet::parse("a", " 10.0.0.1 ").unwrap().as_str(),
            "10.0.0.1"
        );
        let many: Vec<String> = (0..26).map(|i| format!("10.0.0.{i}")).collect();
        assert!(parse_allow_list("a", &many).is_err());
        assert!(parse_allow_list("a", &many[..25]).is_ok());
    }

    #[test]
    fn ids_are_canonical_uuids() {
        let id = RegistryId::parse("id", "046B6C7F-0B8A-43B9-B35D-6489E6DAEE91").unwrap();
        assert_eq!(id.as_str(), "046b6c7f-0b8a-43b9-b35d-6489e6daee91");
        for bad in [
            "x",
            "046b6c7f0b8a43b9b35d6489e6daee91",
            "046b6c7f-0b8a-43b9-b35d-6489e6daee9",
        ] {
            assert!(TokenId::parse("id", bad).is_err(), "{bad}");
        }
        assert_ne!(TokenId::generate(), TokenId::generate());
    }

    #[test]
    fn only_lower_case_hyphenated_uuids_are_canonical() {
        assert!(is_canonical_lower_uuid(
            "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
        ));
        for not_canonical in [
            "046B6C7F-0B8A-43B9-B35D-6489E6DAEE91",
            "046b6c7f-0b8a-43b9-b35d-6489e6daee9",
            "046b6c7f-0b8a-43b9-b35d-6489e6daee91-",
            "046b6c7f00b8a-43b9-b35d-6489e6daee91",
            "046b6c7f-0b8a-43b9-b35d-6489e6dae-91",
            "046b6c7g-0b8a-43b9-b35d-6489e6daee91",
            "{46b6c7f-0b8a-43b9-b35d-6489e6daee9}",
            "",
        ] {
            assert!(!is_canonical_lower_uuid(not_canonical), "{not_canonical}");
        }
        let upper = "046B6C7F-0B8A-43B9-B35D-6489E6DAEE91".to_owned();
        let id = TokenId::parse_owned("id", upper).unwrap();
        assert_eq!(id.as_str(), "046b6c7f-0b8a-43b9-b35d-6489e6daee91");
    }

    #[test]
    fn grace_periods_last_at_most_a_week() {
        assert_eq!(GracePeriod::parse("g", 0).unwrap().seconds(), 0);
        assert_eq!(GracePeriod::parse("g", 604_800).unwrap().seconds(), 604_800);
        assert!(GracePeriod::parse("g", 604_801).is_err());
        assert!(GracePeriod::parse("g", -1).is_err());
    }

    #[test]
    fn dates_and_page_bounds() {
        assert_eq!(
            parse_date_time("d", "2030-01-01T00:00:00Z").unwrap(),
            1_893_456_000
        );
        assert_eq!(
            parse_date_time("d", "2030-01-01T01:00:00.500+01:00").unwrap(),
            1_893_456_000
        );
        assert!(parse_date_time("d", "2030-01-01").is_err());
        let past_9999 = parse_date_time("d", "9999-12-31T23:59:59-23:59").unwrap_err();
        assert!(past_9999.0.contains("9999"), "{past_9999}");
        assert!(parse_date_time("d", "0000-01-01T00:00:00+01:00").is_err());
        assert!(parse_date_time("d", "9999-12-31T23:59:59Z").is_ok());
        assert_eq!(parse_offset("0").unwrap(), 0);
        assert!(parse_offset("-1").is_err());
        assert_eq!(parse_limit("1000").unwrap(), 1000);
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("1001").is_err());
        assert!(parse_limit("ten").is_err());
    }
}

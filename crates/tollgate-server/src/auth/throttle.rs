//! Throttled guessing: wrong passwords slow the guesser down, never the owner.
//!
//! Failures are counted per subject (an account's e-mail, or a registry
//! token at a registry) *and client address*, and per client address across
//! subjects (credential stuffing). Never per subject alone: the right
//! password from another address is not held up by someone else's
//! failures, so no attacker can lock an account out. Past an allowance,
//! every further failure blocks the key for a delay that doubles (1 s,
//! 2 s, 4 s, ... up to a maximum); meanwhile attempts are answered 429 with
//! `Retry-After`, without checking the password, each answer held a moment
//! ([`Throttle::hold`]) so a guesser's connections wait instead of spinning
//! and taking the service's time from everyone else. Failures are forgotten one
//! by one as time passes (`forget_seconds` each), so the delays decay too.
//! A correct password clears its subject's strikes from that address.
//! The audit trail records each wrong password and, with the one that
//! starts a delay, how long it is; the throttled attempts themselves are
//! not recorded one by one (a flood of them would flood the trail).
//!
//! Subjects are counted whether or not they exist (the check happens before
//! any lookup), so throttling reveals nothing about which accounts exist.
//! The counters live in this node's memory, bounded; against N nodes behind
//! a balancer a guesser gets at most N times the allowance (README).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;

/// The limits, as settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures allowed per subject and address before delays start.
    pub allowance: u32,
    /// Failures allowed per address, across subjects, before delays start.
    pub address_allowance: u32,
    /// Seconds after which one failure is forgotten.
    pub forget_seconds: i64,
    /// The longest delay, in seconds.
    pub max_delay_seconds: i64,
    /// How long a throttled attempt's 429 is held before it is sent, so a
    /// guesser's connections wait instead of spinning (at most the delay).
    pub hold_throttled_answer: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            allowance: 5,
            address_allowance: 50,
            forget_seconds: 600,
            max_delay_seconds: 3600,
            hold_throttled_answer: Duration::from_secs(1),
        }
    }
}

/// Keys tracked per generation; two generations bound the memory.
const GENERATION_CAPACITY: usize = 50_000;

/// How often (seconds) keys whose failures are all forgotten are dropped,
/// so that once an attack is over logins take the lock-free path again.
const SWEEP_EVERY: i64 = 60;

/// What is counted: a subject from an address, or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Subject(u64, IpAddr),
    Address(IpAddr),
}

/// The failures of one key.
#[derive(Debug, Clone, Copy)]
struct Strikes {
    /// Failures not yet forgotten, as of `updated_at`.
    failures: f64,
    updated_at: i64,
    /// No attempt is checked before this time.
    blocked_until: i64,
}

impl Strikes {
    /// The failures not yet forgotten at `now`.
    fn failures_at(&self, now: i64, forget_seconds: i64) -> f64 {
        let forgotten = (now - self.updated_at).max(0) as f64 / forget_seconds.max(1) as f64;
        (self.failures - forgotten).max(0.0)
    }
}

/// Too many failures: try again in this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub i64);

/// What a guessable credential names, as presented.
#[derive(Debug, Clone, Copy)]
pub enum Guessable<'a> {
    /// An account's e-mail (counted as it is compared: trimmed, lower-cased).
    Email(&'a str),
    /// A registry token's name at a registry (`service`).
    RegistryToken { service: &'a str, username: &'a str },
}

/// A subject, hashed (with this node's random keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subject(u64);

/// The failure counters of this node.
pub struct Throttle {
    settings: ThrottleSettings,
    clock: Arc<dyn Clock>,
    /// Hashes subjects (random keys per process), so keys stay small.
    hasher: RandomState,
    table: Mutex<Generations>,
    /// How many keys the table holds: while none, a login touches no lock.
    tracked: AtomicUsize,
}

/// The keys seen lately: the current generation, and the one before it,
/// dropped whole when the current one fills up.
#[derive(Default)]
struct Generations {
    current: HashMap<Key, Strikes>,
    previous: HashMap<Key, Strikes>,
    swept_at: i64,
}

impl Generations {
    fn get(&mut self, key: &Key) -> Option<Strikes> {
        if let Some(strikes) = self.current.get(key) {
            return Some(*strikes);
        }
        let strikes = self.previous.remove(key)?;
        self.put(*key, strikes);
        Some(strikes)
    }

    fn put(&mut self, key: Key, strikes: Strikes) {
        if self.current.len() >= GENERATION_CAPACITY && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, strikes);
    }

    /// Drops, at most every [`SWEEP_EVERY`] seconds, the keys that act as
    /// absent: not blocked, every failure forgotten.
    fn sweep(&mut self, now: i64, forget_seconds: i64) {
        if now - self.swept_at < SWEEP_EVERY {
            return;
        }
        self.swept_at = now;
        let live = |_: &Key, strikes: &mut Strikes| {
            strikes.blocked_until > now || strikes.failures_at(now, forget_seconds) > 0.0
        };
        self.current.retain(live);
        self.previous.retain(live);
    }

    fn remove(&mut self, key: &Key) {
        self.current.remove(key);
        self.previous.remove(key);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

impl Throttle {
    pub fn new(settings: ThrottleSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            clock,
            hasher: RandomState::new(),
            table: Mutex::new(Generations::default()),
            tracked: AtomicUsize::new(0),
        }
    }

    /// Whether any key is tracked; while none, checks are free and callers
    /// need not even hash the subject.
    pub fn watching(&self) -> bool {
        self.tracked.load(Ordering::Relaxed) > 0
    }

    /// The subject a credential names, hashed without allocating.
    pub fn subject(&self, guessable: Guessable<'_>) -> Subject {
        let mut hasher = self.hasher.build_hasher();
        match guessable {
            Guessable::Email(email) => {
                hasher.write_u8(0);
                for c in email.trim().chars().flat_map(char::to_lowercase) {
                    hasher.write_u32(u32::from(c));
                }
            }
            Guessable::RegistryToken { service, username } => {
                hasher.write_u8(1);
                hasher.write(service.as_bytes());
                hasher.write_u8(0xff);
                hasher.write(username.as_bytes());
            }
        }
        Subject(hasher.finish())
    }

    /// Whether `subject` may try a password from `address` now. While no
    /// key is tracked this takes no lock.
    pub fn check(&self, subject: Subject, address: IpAddr) -> Result<(), RetryAfter> {
        if !self.watching() {
            return Ok(());
        }
        let now = self.clock.now();
        let Ok(mut table) = self.table.lock() else {
            return Ok(());
        };
        table.sweep(now, self.settings.forget_seconds);
        self.tracked.store(table.len(), Ordering::Relaxed);
        let blocked_until = self
            .keys(subject, address)
            .iter()
            .filter_map(|key| table.get(key))
            .map(|strikes| strikes.blocked_until)
            .max()
            .unwrap_or(i64::MIN);
        if blocked_until > now {
            Err(RetryAfter(blocked_until - now))
        } else {
            Ok(())
        }
    }

    /// Waits before a throttled attempt is answered: the hold, or the
    /// delay left if shorter.
    pub async fn hold(&self, retry: RetryAfter) {
        let left = Duration::from_secs(u64::try_from(retry.0).unwrap_or(0));
        let hold = self.settings.hold_throttled_answer.min(left);
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
    }

    /// Counts a wrong password for `subject` from `address`; answers the
    /// delay it starts, if it starts one.
    pub fn failed(&self, subject: Subject, address: IpAddr) -> Option<RetryAfter> {
        let now = self.clock.now();
        let settings = self.settings;
        let Ok(mut table) = self.table.lock() else {
            return None;
        };
        let mut started: Option<i64> = None;
        let [by_subject, by_address] = self.keys(subject, address);
        for (key, allowance) in [
            (by_subject, settings.allowance),
            (by_address, settings.address_allowance),
        ] {
            let mut strikes = table.get(&key).unwrap_or(Strikes {
                failures: 0.0,
                updated_at: now,
                blocked_until: i64::MIN,
            });
            strikes.failures = strikes.failures_at(now, settings.forget_seconds) + 1.0;
            strikes.updated_at = now;
            let excess = strikes.failures - f64::from(allowance);
            if excess > 0.0 {
                let doublings = (excess.ceil() as u32).saturating_sub(1).min(62);
                let delay = (1i64 << doublings).min(settings.max_delay_seconds);
                strikes.blocked_until = now + delay;
                started = Some(started.map_or(delay, |other| other.max(delay)));
            }
            table.put(key, strikes);
        }
        table.sweep(now, settings.forget_seconds);
        self.tracked.store(table.len(), Ordering::Relaxed);
        started.map(RetryAfter)
    }

    /// A right password for `subject` from `address`: its strikes there are
    /// cleared (the address's count across subjects decays on its own).
    pub fn succeeded(&self, subject: Subject, address: IpAddr) {
        if !self.watching() {
            return;
        }
        if let Ok(mut table) = self.table.lock() {
            let [by_subject, _] = self.keys(subject, address);
            table.remove(&by_subject);
            self.tracked.store(table.len(), Ordering::Relaxed);
        }
    }

    fn keys(&self, subject: Subject, address: IpAddr) -> [Key; 2] {
        // IPv4-mapped IPv6 addresses count as their IPv4 address.
        let address = address.to_canonical();
        [Key::Subject(subject.0, address), Key::Address(address)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn throttle(clock: Arc<ManualClock>) -> Throttle {
        Throttle::new(
            ThrottleSettings {
                allowance: 3,
                address_allowance: 10,
                forget_seconds: 60,
                max_delay_seconds: 100,
                hold_throttled_answer: Duration::ZERO,
            },
            clock,
        )
    }

    fn who(t: &Throttle, email: &str) -> Subject {
        t.subject(Guessable::Email(email))
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn delays_start_after_the_allowance_and_double() {
        let clock = Arc::new(ManualClock::starting_now());
        let t = throttle(clock.clone());
        for _ in 0..3 {
            assert_eq!(t.check(who(&t, "ada"), A), Ok(()));
            t.failed(who(&t, "ada"), A);
        }
        assert_eq!(
            t.check(who(&t, "ada"), A),
            Ok(()),
            "the allowance is not blocked"
        );
        t.failed(who(&t, "ada"), A);
        assert_eq!(t.check(who(&t, "ada"), A), Err(RetryAfter(1)));
        clock.advance(1);
        t.failed(who(&t, "ada"), A);
        assert_eq!(t.check(who(&t, "ada"), A), Err(RetryAfter(2)));
        clock.advance(2);
        t.failed(who(&t, "ada"), A);
        assert_eq!(t.check(who(&t, "ada"), A), Err(RetryAfter(4)));
        // Another address is never held up by these failures.
        assert_eq!(t.check(who(&t, "ada"), B), Ok(()));
    }

    #[test]
    fn failures_are_forgotten_and_a_right_password_clears_them() {
        let clock = Arc::new(ManualClock::starting_now());
        let t = throttle(clock.clone());
        for _ in 0..4 {
            t.failed(who(&t, "ada"), A);
        }
        assert!(t.check(who(&t, "ada"), A).is_err());
        clock.advance(120);
        t.failed(who(&t, "ada"), A);
        assert_eq!(
            t.check(who(&t, "ada"), A),
            Ok(()),
            "two of four failures were forgotten"
        );
        t.succeeded(who(&t, "ada"), A);
        for _ in 0..3 {
            t.failed(who(&t, "ada"), A);
        }
        assert_eq!(t.check(who(&t, "ada"), A), Ok(()));
    }

    #[test]
    fn an_address_guessing_many_subjects_is_slowed_too() {
        let clock = Arc::new(ManualClock::starting_now());
        let t = throttle(clock.clone());
        for i in 0..11 {
            t.failed(who(&t, &format!("user-{i}")), A);
        }
        assert!(t.check(who(&t, "someone-new"), A).is_err());
        assert_eq!(t.check(who(&t, "someone-new"), B), Ok(()));
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped());
        assert!(t.check(who(&t, "someone-new"), mapped).is_err());
    }

    #[test]
    fn an_email_counts_as_it_is_compared() {
        let t = throttle(Arc::new(ManualClock::starting_now()));
        let email = |email| who(&t, email);
        assert_eq!(email(" Ada@Example.COM "), email("ada@example.com"));
        assert_ne!(email("ada@example.com"), email("bob@example.com"));
        let token = |service, username| t.subject(Guessable::RegistryToken { service, username });
        assert_ne!(token("a.cr", "ci"), token("a.c", "rci"));
    }

    #[test]
    fn forgotten_failures_leave_the_table_so_logins_take_the_fast_path() {
        let clock = Arc::new(ManualClock::starting_now());
        let t = throttle(clock.clone());
        t.failed(who(&t, "ada"), A);
        assert!(t.watching());
        clock.advance(60 + SWEEP_EVERY);
        assert_eq!(t.check(who(&t, "ada"), A), Ok(()));
        assert!(!t.watching(), "the forgotten failure was dropped");
        for _ in 0..4 {
            t.failed(who(&t, "bob"), A);
        }
        clock.advance(SWEEP_EVERY);
        assert!(t.check(who(&t, "bob"), A).is_ok());
        assert!(t.watching(), "failures not yet forgotten stay");
    }

    #[test]
    fn delays_never_pass_the_maximum() {
        let clock = Arc::new(ManualClock::starting_now());
        let t = throttle(clock.clone());
        for _ in 0..200 {
            t.failed(who(&t, "ada"), A);
        }
        assert_eq!(t.check(who(&t, "ada"), A), Err(RetryAfter(100)));
    }
}

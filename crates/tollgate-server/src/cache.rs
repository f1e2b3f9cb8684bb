//! A small bounded cache whose entries expire, for results that are costly
//! to recompute and safe to reuse briefly (verified signatures, verified
//! passwords, signed registry JWTs). It never decides anything alone:
//! callers re-check what can change (revocation, passwords) against the
//! store on every request. Time is the service's injected [`Clock`], so
//! tests move expiry as they move everything else.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;

/// Entries live at most `ttl_seconds`; past `capacity` entries, expired
/// ones are dropped first and, if that is not enough, everything is.
pub struct ExpiringCache<K, V> {
    entries: Mutex<HashMap<K, (i64, V)>>,
    capacity: usize,
    ttl_seconds: i64,
    clock: Arc<dyn Clock>,
}

impl<K: Eq + Hash, V: Clone> ExpiringCache<K, V> {
    pub fn new(capacity: usize, ttl_seconds: i64, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            ttl_seconds,
            clock,
        }
    }

    /// The live value for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(deadline, _)| *deadline > now)
            .map(|(_, value)| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let now = self.clock.now();
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, (deadline, _)| *deadline > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl_seconds, value));
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn entries_expire_with_the_clock_and_capacity_is_bounded() {
        let clock = Arc::new(ManualClock::starting_now());
        let cache = ExpiringCache::new(2, 30, clock.clone());
        cache.insert(1, "a");
        cache.insert(2, "b");
        assert_eq!(cache.get(&1), Some("a"));
        cache.insert(3, "c");
        assert!(cache.entries.lock().unwrap().len() <= 2);
        assert_eq!(cache.get(&3), Some("c"));
        clock.advance(29);
        assert_eq!(cache.get(&3), Some("c"));
        clock.advance(1);
        assert_eq!(cache.get(&3), None);
        cache.insert(4, "d");
        cache.remove(&4);
        assert_eq!(cache.get(&4), None);
    }
}

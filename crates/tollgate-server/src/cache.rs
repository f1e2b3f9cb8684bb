//! A small bounded cache whose entries expire, for results that are costly
//! to recompute and safe to reuse briefly (verified signatures, verified
//! passwords). It never decides anything alone: callers re-check what can
//! change (revocation, passwords) against the store on every request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries live at most `ttl`; past `capacity` entries, expired ones are
/// dropped first and, if that is not enough, everything is.
pub struct ExpiringCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    capacity: usize,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone> ExpiringCache<K, V> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            ttl,
        }
    }

    /// The live value for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(deadline, _)| *deadline > Instant::now())
            .map(|(_, value)| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let now = Instant::now();
        if entries.len() >= self.capacity {
            entries.retain(|_, (deadline, _)| *deadline > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl, value));
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

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let cache = ExpiringCache::new(2, Duration::from_millis(30));
        cache.insert(1, "a");
        cache.insert(2, "b");
        assert_eq!(cache.get(&1), Some("a"));
        cache.insert(3, "c");
        assert!(cache.entries.lock().unwrap().len() <= 2);
        assert_eq!(cache.get(&3), Some("c"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&3), None);
        cache.remove(&3);
    }
}

//! A counter that every worker thread adds to without sharing a cache
//! line: on the login paths a single shared atomic bounces between the
//! cores on every request. Each thread adds to its own stripe; a read sums
//! them. It is a prometheus-client counter's value type too.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::metrics::counter::Atomic;

/// Stripes per counter; threads beyond share them round-robin.
const STRIPES: usize = 16;

/// Hands each thread its stripe, in order of first use.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

/// One stripe, alone on its cache lines (two, for adjacent-line prefetch).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// A monotonic count, added to per thread and summed when read.
#[derive(Debug, Default)]
pub struct StripedCounter {
    stripes: [Stripe; STRIPES],
}

impl StripedCounter {
    pub fn add(&self, by: u64) {
        let stripe = STRIPE.with(|stripe| *stripe);
        self.stripes[stripe].0.fetch_add(by, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.stripes
            .iter()
            .map(|stripe| stripe.0.load(Ordering::Relaxed))
            .sum()
    }
}

impl Atomic<u64> for StripedCounter {
    fn inc(&self) -> u64 {
        self.inc_by(1)
    }

    fn inc_by(&self, v: u64) -> u64 {
        // The value before the addition is not known without a sum; no
        // caller of a counter uses it.
        self.add(v);
        0
    }

    fn get(&self) -> u64 {
        self.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_add_up() {
        let counter = std::sync::Arc::new(StripedCounter::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| counter.add(1)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        counter.add(5);
        assert_eq!(counter.total(), 4005);
    }
}

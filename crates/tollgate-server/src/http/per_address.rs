//! How many connections one client may hold open at once, so that one
//! client cannot take every place under the service's connection cap.
//!
//! A client is an IPv4 address, or an IPv6 /64 (what one subscriber is
//! usually given, so that a client cannot step around the cap by using
//! more of its own addresses). Trusted proxies are not counted: their
//! connections carry many clients. The counts live in this node's memory
//! and are taken and given back once per connection, never per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tollgate_api::registry_rules::Subnet;

/// The open connections of each client.
pub struct PerAddress {
    /// The most one client may hold open; 0 for no limit.
    limit: usize,
    /// Peers that are not counted (trusted proxies).
    exempt: Vec<Subnet>,
    open: Mutex<HashMap<Client, usize>>,
}

/// One client, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    /// The upper 64 bits of an IPv6 address.
    V6(u64),
}

impl Client {
    fn of(peer: IpAddr) -> Self {
        match peer {
            IpAddr::V4(v4) => Client::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.into()),
                None => Client::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// What a new connection is, as far as its client's count goes.
pub enum Counted {
    /// Within the limit (or not counted): the place, given back on drop.
    Admitted(Option<Place>),
    /// Its client already holds `limit` connections.
    OverLimit { limit: usize },
}

/// A connection's place in its client's count, given back when dropped.
pub struct Place {
    counts: Arc<PerAddress>,
    client: Client,
}

impl PerAddress {
    pub fn new(limit: usize, exempt: Vec<Subnet>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `peer`, if its client has room.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Counted {
        if self.limit == 0 || self.exempt.iter().any(|proxy| proxy.contains(peer)) {
            return Counted::Admitted(None);
        }
        let client = Client::of(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            return Counted::OverLimit { limit: self.limit };
        }
        *count += 1;
        Counted::Admitted(Some(Place {
            counts: self.clone(),
            client,
        }))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(counted: &Counted) -> bool {
        matches!(counted, Counted::Admitted(_))
    }

    #[test]
    fn a_client_gets_its_limit_and_its_places_back() {
        let counts = PerAddress::new(2, Vec::new());
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let first = counts.admit(peer);
        let second = counts.admit(peer);
        assert!(admitted(&first) && admitted(&second));
        assert!(matches!(
            counts.admit(peer),
            Counted::OverLimit { limit: 2 }
        ));
        assert!(admitted(&counts.admit("192.0.2.8".parse().unwrap())));
        drop(first);
        assert!(admitted(&counts.admit(peer)));
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_a_mapped_ipv4_is_its_ipv4() {
        assert_eq!(
            Client::of("2001:db8:1:2::1".parse().unwrap()),
            Client::of("2001:db8:1:2:ffff::9".parse().unwrap())
        );
        assert_ne!(
            Client::of("2001:db8:1:2::1".parse().unwrap()),
            Client::of("2001:db8:1:3::1".parse().unwrap())
        );
        assert_eq!(
            Client::of("::ffff:192.0.2.7".parse().unwrap()),
            Client::of("192.0.2.7".parse().unwrap())
        );
    }

    #[test]
    fn trusted_proxies_and_a_limit_of_0_are_not_counted() {
        let proxy = Subnet::parse("proxy", "10.0.0.0/8").unwrap();
        let counts = PerAddress::new(1, vec![proxy]);
        let proxied: Vec<Counted> = (0..5)
            .map(|_| counts.admit("10.1.2.3".parse().unwrap()))
            .collect();
        assert!(proxied.iter().all(admitted));
        let unlimited = PerAddress::new(0, Vec::new());
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let all: Vec<Counted> = (0..5).map(|_| unlimited.admit(peer)).collect();
        assert!(all.iter().all(admitted));
    }
}

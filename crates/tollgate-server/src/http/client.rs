//! The client's address: the TCP peer, or, when the peer is a trusted
//! proxy (`--trusted-proxies`), the address that proxy saw, from
//! `X-Forwarded-For`. Allow lists, throttling, the audit trail and last use
//! all go by it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tollgate_api::registry_rules::Subnet;

use super::AppState;

/// Where a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts, &state.trusted_proxies)))
    }
}

/// The client of `parts`, seen through the trusted proxies.
pub fn client_address(parts: &Parts, trusted_proxies: &[Subnet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let trusted = |address: IpAddr| trusted_proxies.iter().any(|p| p.contains(address));
    if !trusted(peer) {
        return peer;
    }
    // Walked from the right: each trusted proxy appended the address it
    // saw. The first address not itself a trusted proxy is the client;
    // what lies left of it was written by the client and proves nothing,
    // so a hop that is no address ends the walk (at the peer).
    let hops = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) if !trusted(address) => return address,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, forwarded: &[&str]) -> Parts {
        let mut request = Request::builder();
        for value in forwarded {
            request = request.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        let peer: SocketAddr = format!("{peer}:4000").parse().unwrap();
        parts.extensions.insert(ConnectInfo(peer));
        parts
    }

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let proxies = [Subnet::parse("p", "10.0.0.0/8").unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A direct client cannot choose its address.
        assert_eq!(
            client_address(&parts("192.0.2.9", &["1.2.3.4"]), &proxies),
            ip("192.0.2.9")
        );
        // Through a proxy, the last hop the proxies did not add.
        assert_eq!(
            client_address(
                &parts("10.0.0.2", &["6.6.6.6, 192.0.2.7", "10.0.0.3"]),
                &proxies
            ),
            ip("192.0.2.7")
        );
        // A proxy that says nothing: the proxy itself.
        assert_eq!(
            client_address(&parts("10.0.0.2", &[]), &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(&parts("10.0.0.2", &["1.2.3.4"]), &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn what_a_client_writes_left_of_its_address_cannot_hide_it() {
        let proxies = [Subnet::parse("p", "10.0.0.0/8").unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // The client sent `X-Forwarded-For: x`; its proxy appended the
        // address it saw. The client is that address, not the proxy.
        assert_eq!(
            client_address(&parts("10.0.0.2", &["x, 192.0.2.7"]), &proxies),
            ip("192.0.2.7")
        );
        assert_eq!(
            client_address(
                &parts("10.0.0.2", &["not-an-ip", "192.0.2.8, 10.0.0.3"]),
                &proxies
            ),
            ip("192.0.2.8")
        );
        // Garbage right of every untrusted hop: nothing proves more than the peer.
        assert_eq!(
            client_address(&parts("10.0.0.2", &["192.0.2.7, junk"]), &proxies),
            ip("10.0.0.2")
        );
    }
}

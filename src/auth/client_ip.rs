//! Who is on the other end: the client's address, for the limit on sign-in attempts.
//!
//! Behind the HTTPS proxy the README recommends, every request comes from the proxy's
//! address, so counting by the connection would let one attacker exhaust everyone's attempts.
//! `X-Forwarded-For` names the client, but anyone can send it: it is believed only when the
//! connection comes from a proxy listed in `MEDOPT_TRUSTED_PROXIES`, and then read from the
//! right (the hop our proxy added) leftwards, past any further trusted proxies, to the first
//! address we do not trust. Addresses further left were written by the client and are ignored.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;
use crate::config::TrustedProxies;

/// The client's address, as far as it can be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Tests call the router without a connection; they count as one unknown address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(client_address(
            peer,
            &parts.headers,
            &state.config().trusted_proxies,
        )))
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the nearest
/// address in `X-Forwarded-For` that is not a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    // Several headers count as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if trusted.contains(ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage where an address should be: the last trusted hop is all we know.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let proxy = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &none),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), &headers, &proxy),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &proxy),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn addresses_the_client_wrote_are_ignored() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client claimed 1.1.1.1; our proxy appended the address it saw, then a second
        // trusted proxy its own.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers, &proxies),
            ip("203.0.113.9")
        );
        let garbage = forwarded(&["1.1.1.1, not-an-address"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &garbage, &proxies),
            ip("10.0.0.1")
        );
        // No header from a trusted proxy: the proxy is the client.
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &proxies),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_address(ip("::ffff:10.0.0.1"), &forwarded(&["::1"]), &proxies),
            ip("::1")
        );
    }
}

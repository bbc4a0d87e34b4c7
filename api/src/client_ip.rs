//! The client address of a request, for per-client rate limits and the request log.
//!
//! The TCP peer is the client unless it is one of the `TRUSTED_PROXIES`. From a trusted peer,
//! the forwarded chain is walked from the right (the hop nearest to us) past trusted addresses,
//! and the first untrusted address is the client: everything to its left was written by that
//! client or by proxies we do not trust, so a client can prepend what it likes without
//! changing the answer. The chain is `X-Forwarded-For` (what nginx, Caddy, HAProxy, Envoy and
//! the CDNs send) or, only when that header is absent, RFC 7239 `Forwarded: for=`; reading both
//! would let a client forge the one its proxy does not write. A chain that cannot be read at
//! the hop where the walk stops (a malformed entry, `unknown`, an obfuscated node) gives the
//! peer: the last address known for sure.

use std::net::{IpAddr, SocketAddr};

use actix_web::dev::RequestHead;
use actix_web::http::header::{FORWARDED, HeaderMap, HeaderName, X_FORWARDED_FOR};
use actix_web::{HttpRequest, web};
use service::Config;
use service::config::TrustedProxies;

/// The client address of `req`, with the application's `TRUSTED_PROXIES` (from its
/// `web::Data<Config>`; nobody is trusted when there is none). For a `ServiceRequest`, pass
/// `req.request()`. `None` only when the connection has no IP peer (an in-process test
/// request without one).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    match req.app_data::<web::Data<Config>>() {
        Some(config) => client_ip_with(req.head(), &config.trusted_proxies),
        None => client_ip_with(req.head(), &TrustedProxies::none()),
    }
}

/// The client address of the request `head` given the trusted proxies (see the module docs).
/// IPv4 addresses seen as IPv6 (`::ffff:a.b.c.d`) are returned as IPv4, so one client has one
/// key whatever socket it came through. `None` when the request has no IP peer.
pub fn client_ip_with(head: &RequestHead, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = head.peer_addr?.ip().to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    Some(forwarded_client(&head.headers, trusted).unwrap_or(peer))
}

/// The first untrusted hop of the forwarded chain from the right; `None` when there is no
/// chain or the walk reaches an entry it cannot read. When every hop is trusted, the
/// leftmost one (the farthest from us).
fn forwarded_client(headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let hops = if headers.contains_key(X_FORWARDED_FOR) {
        chain(headers, X_FORWARDED_FOR, |value| {
            value.split(',').map(|entry| node(entry.trim())).collect()
        })
    } else if headers.contains_key(FORWARDED) {
        chain(headers, FORWARDED, forwarded_for)
    } else {
        return None;
    };
    let mut leftmost = None;
    for hop in hops.into_iter().rev() {
        let ip = hop?;
        if !trusted.contains(ip) {
            return Some(ip);
        }
        leftmost = Some(ip);
    }
    leftmost
}

/// The hops of every `name` header in order (a proxy may add its own header line instead of
/// appending to the last one); `None` for an entry that is not an address.
fn chain(
    headers: &HeaderMap,
    name: HeaderName,
    hops_of: impl Fn(&str) -> Vec<Option<IpAddr>>,
) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .flat_map(|value| match value.to_str() {
            Ok(value) => hops_of(value),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` node of each element of a `Forwarded` value; `None` for an element without one
/// or with one that is not an address.
fn forwarded_for(value: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(value, ',')
        .into_iter()
        .map(|element| {
            let pairs = split_outside_quotes(element, ';');
            let (_, raw) = pairs
                .iter()
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))?;
            node(&unquote(raw.trim())?)
        })
        .collect()
}

/// `value` split at each `sep` that is not inside a quoted string.
fn split_outside_quotes(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&value[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&value[start..]);
    parts
}

/// A token or a quoted string (RFC 7230) as its text; `None` when a quote is not closed.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(text)
}

/// An address as proxies write it: `192.0.2.7`, `2001:db8::7`, `[2001:db8::7]`, or either
/// with a port (`192.0.2.7:4711`, `[2001:db8::7]:4711`). `unknown`, obfuscated nodes
/// (`_hidden`) and anything else are not an address.
fn node(text: &str) -> Option<IpAddr> {
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            text.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const PEER: &str = "10.0.0.2:443";

    fn trusted(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The client of a request from `peer` with the given headers.
    fn client(peer: &str, headers: &[(&str, &str)], proxies: &str) -> Option<IpAddr> {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        client_ip_with(req.to_http_request().head(), &trusted(proxies))
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let headers = [
            ("X-Forwarded-For", "198.51.100.7"),
            ("Forwarded", "for=198.51.100.8"),
            ("X-Real-IP", "198.51.100.9"),
        ];
        assert_eq!(client(PEER, &headers, ""), Some(ip("10.0.0.2")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let headers = [("X-Forwarded-For", "198.51.100.7")];
        assert_eq!(client(PEER, &headers, "10.9.0.0/16"), Some(ip("10.0.0.2")));
    }

    #[test]
    fn a_trusted_peer_without_forwarded_headers_is_the_client() {
        assert_eq!(client(PEER, &[], "10.0.0.0/8"), Some(ip("10.0.0.2")));
    }

    #[test]
    fn the_walk_from_the_right_stops_at_the_first_untrusted_address() {
        let headers = [(
            "X-Forwarded-For",
            "203.0.113.66, 198.51.100.7, 10.1.1.1, 10.0.0.9",
        )];
        assert_eq!(
            client(PEER, &headers, "10.0.0.0/8"),
            Some(ip("198.51.100.7")),
            "what the client wrote left of its own address is not believed"
        );
    }

    #[test]
    fn several_header_lines_form_one_chain() {
        let headers = [
            ("X-Forwarded-For", "198.51.100.7"),
            ("X-Forwarded-For", "10.1.1.1, 10.0.0.9"),
        ];
        assert_eq!(
            client(PEER, &headers, "10.0.0.0/8"),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn a_chain_of_trusted_hops_only_gives_the_farthest_one() {
        let headers = [("X-Forwarded-For", "10.3.3.3, 10.1.1.1")];
        assert_eq!(client(PEER, &headers, "10.0.0.0/8"), Some(ip("10.3.3.3")));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        for (entry, expected) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
        ] {
            let headers = [("X-Forwarded-For", entry)];
            assert_eq!(
                client(PEER, &headers, "10.0.0.0/8"),
                Some(ip(expected)),
                "{entry}"
            );
        }
    }

    #[test]
    fn a_malformed_chain_gives_the_peer() {
        for chain in [
            "not-an-ip",
            "198.51.100.7, garbage",
            "198.51.100.7,",
            "",
            "unknown",
            "198.51.100.7 10.1.1.1",
        ] {
            let headers = [("X-Forwarded-For", chain)];
            assert_eq!(
                client(PEER, &headers, "10.0.0.0/8"),
                Some(ip("10.0.0.2")),
                "{chain:?}"
            );
        }
    }

    #[test]
    fn garbage_left_of_the_client_does_not_matter() {
        let headers = [("X-Forwarded-For", "garbage, 198.51.100.7")];
        assert_eq!(
            client(PEER, &headers, "10.0.0.0/8"),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn rfc_7239_forwarded_is_read_when_there_is_no_x_forwarded_for() {
        for (value, expected) in [
            ("for=198.51.100.7", "198.51.100.7"),
            ("For=\"198.51.100.7:4711\";proto=https", "198.51.100.7"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            (
                "for=203.0.113.66, for=198.51.100.7;by=10.1.1.1, for=10.1.1.1",
                "198.51.100.7",
            ),
            (
                "proto=https;for=\"198.51.100.7\";host=\"a,b;c\"",
                "198.51.100.7",
            ),
        ] {
            let headers = [("Forwarded", value)];
            assert_eq!(
                client(PEER, &headers, "10.0.0.0/8"),
                Some(ip(expected)),
                "{value}"
            );
        }
    }

    #[test]
    fn a_forwarded_element_that_is_not_an_address_gives_the_peer() {
        for value in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=\"198.51.100.7",
            "for=198.51.100.7, by=10.1.1.1",
        ] {
            let headers = [("Forwarded", value)];
            assert_eq!(
                client(PEER, &headers, "10.0.0.0/8"),
                Some(ip("10.0.0.2")),
                "{value}"
            );
        }
    }

    #[test]
    fn x_forwarded_for_wins_over_forwarded() {
        let headers = [
            ("Forwarded", "for=203.0.113.66"),
            ("X-Forwarded-For", "198.51.100.7"),
        ];
        assert_eq!(
            client(PEER, &headers, "10.0.0.0/8"),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn an_ipv4_peer_on_a_dual_stack_socket_is_reported_as_ipv4() {
        assert_eq!(
            client("[::ffff:10.0.0.2]:443", &[], ""),
            Some(ip("10.0.0.2"))
        );
        let headers = [("X-Forwarded-For", "198.51.100.7")];
        assert_eq!(
            client("[::ffff:10.0.0.2]:443", &headers, "10.0.0.0/8"),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn the_application_configuration_supplies_the_trusted_proxies() {
        let config = Config {
            trusted_proxies: trusted("10.0.0.0/8"),
            ..Config::default()
        };
        let req = TestRequest::default()
            .peer_addr(PEER.parse().unwrap())
            .append_header(("X-Forwarded-For", "198.51.100.7"))
            .app_data(web::Data::new(config))
            .to_http_request();
        assert_eq!(client_ip(&req), Some(ip("198.51.100.7")));
        let bare = TestRequest::default()
            .peer_addr(PEER.parse().unwrap())
            .append_header(("X-Forwarded-For", "198.51.100.7"))
            .to_http_request();
        assert_eq!(client_ip(&bare), Some(ip("10.0.0.2")));
    }
}

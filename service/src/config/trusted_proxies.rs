//! `TRUSTED_PROXIES`: the reverse proxies and CDNs whose forwarded client address is
//! believed. The list decides only which addresses are trusted; reading the forwarded headers
//! is the HTTP layer's (`api::client_ip`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The addresses and networks of trusted reverse proxies (`TRUSTED_PROXIES`), IPv4 and IPv6.
/// Empty (the default) trusts nobody: forwarded headers are then ignored.
///
/// Parsed from a comma-separated list of addresses (`10.0.0.7`, `2001:db8::1`) and CIDR
/// networks (`10.0.0.0/8`, `2001:db8::/32`); a network given with host bits set
/// (`10.1.2.3/8`) means the whole network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts nobody (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy. An IPv4 address seen as IPv6 (`::ffff:10.0.0.7`, as a
    /// dual-stack socket reports IPv4 peers) matches the IPv4 entries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Parses the comma-separated list; blank entries (`a,,b`, a trailing comma) are skipped.
    /// The error names the first invalid entry.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

fn parse_entry(entry: &str) -> Result<IpNet, String> {
    let net = if entry.contains('/') {
        entry.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        entry.parse::<IpAddr>().ok().map(IpNet::from)
    };
    net.ok_or_else(|| {
        format!("`{entry}` is not an IP address or CIDR network (e.g. 10.0.0.7, 10.0.0.0/8, 2001:db8::/32)")
    })
}

impl fmt::Display for TrustedProxies {
    /// The canonical list, comma-separated (single addresses as `/32` or `/128` networks).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks_of_both_families_are_parsed() {
        let trusted: TrustedProxies = " 10.0.0.7, 192.168.0.0/16 ,2001:db8::1,fd00::/8,"
            .parse()
            .unwrap();
        assert_eq!(
            trusted.to_string(),
            "10.0.0.7/32,192.168.0.0/16,2001:db8::1/128,fd00::/8"
        );
        for inside in ["10.0.0.7", "192.168.255.1", "2001:db8::1", "fd12::5"] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["10.0.0.8", "192.169.0.1", "2001:db8::2", "fe80::1", "::"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn an_empty_list_trusts_nobody() {
        for blank in ["", " ", ",", " , "] {
            let trusted: TrustedProxies = blank.parse().unwrap();
            assert!(trusted.is_empty(), "{blank:?}");
            assert!(!trusted.contains(ip("127.0.0.1")));
        }
        assert_eq!(TrustedProxies::none(), TrustedProxies::default());
    }

    #[test]
    fn host_bits_of_a_network_are_dropped() {
        let trusted: TrustedProxies = "10.1.2.3/8".parse().unwrap();
        assert_eq!(trusted.to_string(), "10.0.0.0/8");
        assert!(trusted.contains(ip("10.200.0.1")));
    }

    #[test]
    fn ipv4_peers_seen_through_a_dual_stack_socket_match_ipv4_entries() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert!(trusted.contains(ip("::ffff:10.0.0.7")));
        assert!(!trusted.contains(ip("::ffff:11.0.0.7")));
    }

    #[test]
    fn invalid_entries_are_named_in_the_error() {
        for (list, bad) in [
            ("10.0.0.1,proxy.internal", "proxy.internal"),
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("2001:db8::/129", "2001:db8::/129"),
            ("10.0.0.256", "10.0.0.256"),
            ("10.0.0.0/", "10.0.0.0/"),
            ("/8", "/8"),
            ("10.0.0.1:80", "10.0.0.1:80"),
        ] {
            let err = list.parse::<TrustedProxies>().unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{list}: {err}");
        }
    }
}

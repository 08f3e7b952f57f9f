//! Trusted-IP policy: which peers may read the metrics endpoints.
//!
//! Entries are IP literals or CIDR masks. Peers are matched by their socket
//! address only: no header (`Authorization`, `X-Forwarded-For`, `Forwarded`,
//! `X-Real-IP`) is consulted. An IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`,
//! as seen on a dual-stack socket) is matched as its IPv4 address.
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A trusted-host entry that is neither an IP address nor a CIDR mask.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid trusted host {entry:?}: expected an IP address (127.0.0.1, ::1) or a CIDR mask (10.0.0.0/8, fd00::/8)")]
pub struct InvalidTrustedHost {
    /// The entry as given.
    pub entry: String,
}

/// The networks whose peers are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedHosts {
    networks: Vec<IpNet>,
}

/// The default list: loopback on IPv4 and IPv6, single addresses only.
pub const DEFAULT_TRUSTED_HOSTS: [&str; 2] = ["127.0.0.1", "::1"];

impl Default for TrustedHosts {
    fn default() -> Self {
        TrustedHosts::parse(DEFAULT_TRUSTED_HOSTS).expect("the default trusted hosts parse")
    }
}

impl TrustedHosts {
    /// Parses every entry; the first invalid one is the error.
    pub fn parse<I, S>(entries: I) -> Result<Self, InvalidTrustedHost>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = entries.into_iter().map(|e| parse_entry(e.as_ref())).collect::<Result<_, _>>()?;
        Ok(TrustedHosts { networks })
    }

    /// True when `peer` is inside one of the trusted networks.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.networks.iter().any(|net| net.contains(&peer))
    }
}

fn parse_entry(entry: &str) -> Result<IpNet, InvalidTrustedHost> {
    let trimmed = entry.trim();
    let invalid = || InvalidTrustedHost { entry: entry.to_string() };
    let net = if trimmed.contains('/') {
        IpNet::from_str(trimmed).map_err(|_| invalid())?
    } else {
        IpNet::from(IpAddr::from_str(trimmed).map_err(|_| invalid())?)
    };
    // A mapped IPv4 entry (::ffff:10.0.0.0/104) means the IPv4 network, since
    // peers are canonicalised to IPv4 before matching.
    Ok(match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map_err(|_| invalid())?,
            _ => net,
        },
        IpNet::V4(_) => net,
    }
    .trunc())
}

impl fmt::Display for TrustedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.networks.iter().map(|n| n.to_string()).collect();
        f.write_str(&list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_trusts_loopback_only() {
        let t = TrustedHosts::default();
        assert!(t.allows(ip("127.0.0.1")));
        assert!(t.allows(ip("::1")));
        assert!(t.allows(ip("::ffff:127.0.0.1")), "v4-mapped loopback is loopback");
        assert!(!t.allows(ip("127.0.0.2")), "only the single address is listed");
        assert!(!t.allows(ip("::2")));
        assert!(!t.allows(ip("10.0.0.1")));
        assert!(!t.allows(ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn v4_cidr_edges() {
        let t = TrustedHosts::parse(["10.1.2.0/24"]).unwrap();
        assert!(t.allows(ip("10.1.2.0")));
        assert!(t.allows(ip("10.1.2.255")));
        assert!(!t.allows(ip("10.1.1.255")));
        assert!(!t.allows(ip("10.1.3.0")));
        assert!(t.allows(ip("::ffff:10.1.2.7")));
    }

    #[test]
    fn v6_cidr_edges() {
        let t = TrustedHosts::parse(["fd00:1::/32"]).unwrap();
        assert!(t.allows(ip("fd00:1::")));
        assert!(t.allows(ip("fd00:1:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!t.allows(ip("fd00:2::")));
        assert!(!t.allows(ip("fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn host_bits_are_ignored_and_mapped_entries_mean_v4() {
        let t = TrustedHosts::parse(["192.168.7.9/16", "::ffff:172.16.0.0/108"]).unwrap();
        assert!(t.allows(ip("192.168.0.1")));
        assert!(t.allows(ip("172.16.5.5")));
        assert!(!t.allows(ip("172.32.0.1")));
    }

    #[test]
    fn zero_prefix_trusts_everyone_of_that_family() {
        let t = TrustedHosts::parse(["0.0.0.0/0"]).unwrap();
        assert!(t.allows(ip("8.8.8.8")));
        assert!(t.allows(ip("::ffff:8.8.8.8")));
        assert!(!t.allows(ip("2001:db8::1")));
    }

    #[test]
    fn invalid_entries_are_named() {
        for bad in ["", "localhost", "10.0.0.0/33", "fe80::1%eth0", "1.2.3", "::1/129", "10.0.0.1 /8"] {
            let err = TrustedHosts::parse(["127.0.0.1", bad]).unwrap_err();
            assert_eq!(err.entry, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")));
        }
    }
}

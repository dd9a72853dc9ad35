//! Client addresses behind reverse proxies. Pure.
//!
//! `X-Forwarded-For` is believed only from proxies the operator named
//! (`LEADS_TRUSTED_PROXIES`): walking it from the right, each hop that is a
//! trusted proxy passes the question on, and the first hop that is not is
//! the client. Entries to the left of it are whatever the client wrote and
//! are never read.

use std::net::{IpAddr, Ipv6Addr};

/// An address range: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `ADDR` or `ADDR/PREFIX`; `None` when it is neither.
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr {
            net: canonical(net),
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:80`) or in quotes.
fn hop(entry: &str) -> Option<IpAddr> {
    let e = entry.trim().trim_matches('"');
    if let Ok(ip) = e.parse() {
        return Some(ip);
    }
    if let Some(rest) = e.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = e.rsplit_once(':')?;
    port.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Whether `ip` is one of the `trusted` proxies (an IPv4 address written
/// as IPv6 is the IPv4 address).
pub fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    let ip = canonical(ip);
    trusted.iter().any(|c| c.contains(ip))
}

/// The client of a request that came from `peer` with the
/// `X-Forwarded-For` header values `forwarded` (in the order received).
pub fn client<'a>(
    peer: IpAddr,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| is_trusted(ip, trusted);
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.into_iter().flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for entry in hops.iter().rev() {
        match hop(entry) {
            Some(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    return client;
                }
            }
            // A trusted proxy wrote something unreadable: the last hop
            // that could be read stands (never an entry further left).
            None => return client,
        }
    }
    client
}

/// What failures are counted under: the address, or for IPv6 its /64
/// (one customer line or machine holds a whole /64).
pub fn throttle_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", Ipv6Addr::from(net))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains(ip("10.200.3.4")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.1")));
        let one = Cidr::parse("127.0.0.1").expect("one");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = Cidr::parse("fd00::/8").expect("v6");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["", "10.0.0.0/33", "::/129", "proxy.local", "10.0.0.0/x"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = [
            Cidr::parse("127.0.0.1").expect("c"),
            Cidr::parse("10.0.0.0/8").expect("c"),
        ];
        // Not from a trusted proxy: the header is the client's own text.
        assert_eq!(
            client(ip("203.0.113.9"), ["1.1.1.1"], &trusted),
            ip("203.0.113.9")
        );
        // From the proxy: the hop it added.
        assert_eq!(
            client(ip("127.0.0.1"), ["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // A client's forged entries stay to the left and are not read.
        assert_eq!(
            client(
                ip("127.0.0.1"),
                ["6.6.6.6, 10.1.1.1", "203.0.113.9, 10.2.2.2"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client(ip("127.0.0.1"), ["1.2.3.4:5678"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client(ip("127.0.0.1"), ["[2001:db8::7]:80"], &trusted),
            ip("2001:db8::7")
        );
        // Nothing readable: the proxy itself.
        assert_eq!(
            client(ip("127.0.0.1"), ["unknown"], &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client(ip("127.0.0.1"), [], &trusted), ip("127.0.0.1"));
        // Without trusted proxies the header is never believed.
        assert_eq!(
            client(ip("127.0.0.1"), ["203.0.113.9"], &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_is_counted_by_its_64() {
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:aaaa::1")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:bbbb::9")),
            throttle_key(ip("2001:db8:1:2:aaaa::1"))
        );
        assert_ne!(
            throttle_key(ip("2001:db8:1:3::1")),
            throttle_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(throttle_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }
}

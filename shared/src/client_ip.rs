//! Which address counts as the client's: the socket peer, unless that peer is a configured
//! trusted proxy hop, in which case `X-Forwarded-For` is walked from the right, skipping trusted
//! hops, and the first untrusted address is the client (so a client cannot choose its own
//! address by sending the header). The proxy's IP lists and the broker's per-IP rate limits both
//! decide on this one answer.

use std::net::IpAddr;

use ipnet::IpNet;

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) compare
/// as the IPv4 address they carry, so IPv4 lists apply to them.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The address abuse detection counts for `ip` (the proxy's rules, the broker's password
/// rules): [`canonical`], and an IPv6 address as the first address of its /64 — one host
/// usually holds a whole /64, so counting single v6 addresses would let a caller rotate
/// through them for fresh counters (and grow the store by one key per address).
pub fn per_host(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// How [`per_host`] names an address in a store key: `10.0.0.1`, or `2001:db8:1:2::/64`.
pub fn per_host_name(ip: IpAddr) -> String {
    match per_host(ip) {
        IpAddr::V6(v6) => format!("{v6}/64"),
        v4 => v4.to_string(),
    }
}

/// The client's address: `peer` unless it is a trusted hop; then the right-most address in
/// `X-Forwarded-For` that is not a trusted hop. A malformed entry stops the walk at the last
/// trusted hop, which is then taken as the client (it vouched for nothing parseable).
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut current = canonical(peer);
    if !is_trusted(&current) {
        return current;
    }
    let hops: Vec<&str> = forwarded_for
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                current = canonical(ip);
                if !is_trusted(&current) {
                    return current;
                }
            }
            Err(_) => return current,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_only_from_trusted_hops() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        // Untrusted peer: the header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["1.1.1.1"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Trusted peer: right-most untrusted entry; a spoofed left-most one is ignored.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                ["6.6.6.6, 198.51.100.7", "10.1.1.1"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // No header: the trusted peer itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), std::iter::empty(), &trusted),
            ip("127.0.0.1")
        );
        // Garbage stops the walk.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["nonsense"].into_iter(), &trusted),
            ip("127.0.0.1")
        );
        // Default (nothing trusted): the socket address counts.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["6.6.6.6"].into_iter(), &[]),
            ip("127.0.0.1")
        );
        assert_eq!(canonical(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
    }
}

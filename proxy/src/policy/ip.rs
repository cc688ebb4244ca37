//! IP allow/deny lists (Apigee's AccessControl, APIM's ip-filter). Which address counts as the
//! client's (the socket peer, or `X-Forwarded-For` from trusted hops only) is decided in
//! [`tessera_shared::client_ip`], shared with the broker's per-IP rate limits. The first step of
//! a route ([`IpFilter`]): a refused address is `403`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
pub use tessera_shared::client_ip::{canonical, client_ip};

use super::exchange::{Blocked, Check, Exchange, Policy};
use crate::denial::Denial;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpConfig {
    /// When non-empty, only these networks may call the route.
    #[serde(default)]
    pub allow: Vec<IpNet>,
    /// These networks may never call the route (deny wins over allow).
    #[serde(default)]
    pub deny: Vec<IpNet>,
}

impl IpConfig {
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(&ip))
    }
}

/// The IP step: the route's lists against the client address.
#[derive(Debug)]
pub struct IpFilter(IpConfig);

impl IpFilter {
    /// `None` when the route has no lists.
    pub fn compile(cfg: &IpConfig) -> Option<Self> {
        (!cfg.is_empty()).then(|| IpFilter(cfg.clone()))
    }
}

impl Check for IpFilter {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        if self.0.permits(x.ip()) {
            return Ok(());
        }
        Err(Blocked::by(Policy::Ip, Denial::IpRefused))
    }
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
    fn lists() {
        let cfg = IpConfig {
            allow: nets(&["10.0.0.0/8", "2001:db8::/32"]),
            deny: nets(&["10.6.6.0/24"]),
        };
        assert!(cfg.permits(ip("10.1.2.3")));
        assert!(cfg.permits(ip("::ffff:10.1.2.3")));
        assert!(cfg.permits(ip("2001:db8::1")));
        assert!(!cfg.permits(ip("10.6.6.6")));
        assert!(!cfg.permits(ip("192.168.1.1")));
        assert!(IpConfig::default().permits(ip("1.2.3.4")));
    }
}

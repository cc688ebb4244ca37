//! The stored form of a call event, written without building a [`CallEvent`] (issue 11,
//! direction 5): the proxy's writer serialises its compact per-call records (interned route
//! and caller, no `String` per call) straight into the line the analytics stream stores.
//!
//! [`Wire`] borrows one event's fields; [`Wire::write_json`] writes exactly what
//! `serde_json::to_string(&CallEvent)` writes (same keys, order, `null`s and skipped fields), so
//! the usage API reads both alike. Keys are written as literals; every value goes through
//! `serde_json` (its string escaping, its integer formatting). The equality is pinned by the
//! tests here and by a property test in the proxy.

use std::fmt::Write as _;
use std::net::IpAddr;

use uuid::Uuid;

use super::{AuthOutcome, CallEvent};

/// A refused call's client address: text (an event read back), or the address itself.
#[derive(Debug, Clone, Copy)]
pub enum WireIp<'a> {
    Text(&'a str),
    Addr(IpAddr),
}

/// One event's fields, borrowed, as [`CallEvent`] stores them.
#[derive(Debug, Clone, Copy)]
pub struct Wire<'a> {
    pub ts_ms: i64,
    pub client_id: Option<&'a str>,
    pub app_id: Option<Uuid>,
    pub developer_id: Option<Uuid>,
    pub route: &'a str,
    pub method: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub auth: AuthOutcome,
    pub throttled: bool,
    pub refused_by: Option<&'a str>,
    pub client_ip: Option<WireIp<'a>>,
    pub flagged_by: Option<&'a str>,
    pub count: u64,
    pub ips: &'a [(String, u64)],
}

impl CallEvent {
    /// This event's fields for [`Wire::write_json`].
    pub fn wire(&self) -> Wire<'_> {
        Wire {
            ts_ms: self.ts_ms,
            client_id: self.client_id.as_deref(),
            app_id: self.app_id,
            developer_id: self.developer_id,
            route: &self.route,
            method: &self.method,
            status: self.status,
            latency_us: self.latency_us,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            auth: self.auth,
            throttled: self.throttled,
            refused_by: self.refused_by.as_deref(),
            client_ip: self.client_ip.as_deref().map(WireIp::Text),
            flagged_by: self.flagged_by.as_deref(),
            count: self.count,
            ips: &self.ips,
        }
    }
}

/// `,"key":` then the value, through `serde_json`.
fn field<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    key: &str,
    value: &T,
) -> serde_json::Result<()> {
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    serde_json::to_writer(&mut *out, value)
}

impl Wire<'_> {
    /// The event these fields describe, owned.
    pub fn to_event(&self) -> CallEvent {
        CallEvent {
            ts_ms: self.ts_ms,
            client_id: self.client_id.map(str::to_string),
            app_id: self.app_id,
            developer_id: self.developer_id,
            route: self.route.to_string(),
            method: self.method.to_string(),
            status: self.status,
            latency_us: self.latency_us,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            auth: self.auth,
            throttled: self.throttled,
            refused_by: self.refused_by.map(str::to_string),
            client_ip: self.client_ip.map(|ip| match ip {
                WireIp::Text(t) => t.to_string(),
                WireIp::Addr(a) => a.to_string(),
            }),
            flagged_by: self.flagged_by.map(str::to_string),
            count: self.count,
            ips: self.ips.to_vec(),
        }
    }

    /// Appends the event's JSON line to `out`: byte for byte `serde_json::to_string` of the
    /// equal [`CallEvent`].
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"ts_ms\":");
        serde_json::to_writer(&mut *out, &self.ts_ms)?;
        field(out, "client_id", &self.client_id)?;
        field(out, "app_id", &self.app_id)?;
        field(out, "developer_id", &self.developer_id)?;
        field(out, "route", self.route)?;
        field(out, "method", self.method)?;
        field(out, "status", &self.status)?;
        field(out, "latency_us", &self.latency_us)?;
        field(out, "bytes_in", &self.bytes_in)?;
        field(out, "bytes_out", &self.bytes_out)?;
        field(out, "auth", &self.auth)?;
        field(out, "throttled", &self.throttled)?;
        if let Some(by) = self.refused_by {
            field(out, "refused_by", by)?;
        }
        match self.client_ip {
            Some(WireIp::Text(ip)) => field(out, "client_ip", ip)?,
            Some(WireIp::Addr(ip)) => {
                let mut text = IpText::default();
                // Writing an address into a buffer of its longest form cannot fail.
                let _ = write!(text, "{ip}");
                field(out, "client_ip", text.as_str())?;
            }
            None => {}
        }
        if let Some(rule) = self.flagged_by {
            field(out, "flagged_by", rule)?;
        }
        if self.count != 1 {
            field(out, "count", &self.count)?;
        }
        if !self.ips.is_empty() {
            field(out, "ips", self.ips)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// An address's text on the stack (the longest, an IPv6 with an embedded IPv4, is 45 bytes).
struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl Default for IpText {
    fn default() -> Self {
        IpText {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl IpText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn line(w: &Wire<'_>) -> String {
        let mut out = Vec::new();
        w.write_json(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_serde_writes_for_single_calls_and_aggregates() {
        let mut e = CallEvent {
            ts_ms: -5,
            client_id: Some("c\"1\\\u{1}é".into()),
            app_id: Some(Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)),
            developer_id: None,
            route: "orders\n".into(),
            method: "GET".into(),
            status: 200,
            latency_us: u64::MAX,
            bytes_in: 0,
            bytes_out: 10,
            auth: AuthOutcome::Unavailable,
            throttled: true,
            refused_by: None,
            client_ip: None,
            flagged_by: None,
            count: 1,
            ips: vec![],
        };
        assert_eq!(line(&e.wire()), serde_json::to_string(&e).unwrap());
        e.refused_by = Some("auth".into());
        e.client_ip = Some("10.0.0.1".into());
        e.flagged_by = Some("ip_tokens".into());
        assert_eq!(line(&e.wire()), serde_json::to_string(&e).unwrap());
        e.client_ip = None;
        e.count = 7;
        e.ips = vec![("10.0.0.1".into(), 6), ("::1".into(), 1)];
        assert_eq!(line(&e.wire()), serde_json::to_string(&e).unwrap());
    }

    #[test]
    fn an_address_is_written_as_its_text() {
        let e = CallEvent {
            refused_by: Some("ip".into()),
            client_ip: Some("::ffff:255.255.255.255".into()),
            ..serde_json::from_str(
                r#"{"ts_ms":1,"client_id":null,"app_id":null,"developer_id":null,"route":"r",
                "method":"GET","status":403,"latency_us":1,"bytes_in":0,"bytes_out":0,
                "auth":"none","throttled":false}"#,
            )
            .unwrap()
        };
        let mut w = e.wire();
        let ip: IpAddr = "::ffff:255.255.255.255".parse().unwrap();
        w.client_ip = Some(WireIp::Addr(ip));
        assert_eq!(line(&w), serde_json::to_string(&e).unwrap());
    }
}

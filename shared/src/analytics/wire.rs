//! The stored form of a call event, written without building a [`CallEvent`] (issue 11,
//! direction 5): the proxy's writer serialises its compact per-call records (interned route
//! and caller, no `String` per call) straight into the line the analytics stream stores.
//!
//! [`Wire`] borrows one event's fields; [`Wire::write_json`] writes exactly what
//! `serde_json::to_string(&CallEvent)` writes (same keys, order, `null`s and skipped fields,
//! same string escaping, integers by the same `itoa`), so the usage API reads both alike. It
//! writes by hand, into a `String`: each key with its punctuation as one literal, fixed words
//! unescaped, text copied whole unless it needs escaping, no serializer per field, no UTF-8
//! check of the line afterwards. The equality is pinned by the tests here and by a property
//! test in the proxy (arbitrary text, addresses, numbers).

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

/// `,"name":`, a key after a value, as one literal (keys are plain: nothing to escape).
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}

/// Appends JSON values to a `String`, as `serde_json`'s compact formatter writes them.
struct Out<'a>(&'a mut String);

impl Out<'_> {
    /// Text written as it is: a key ([`key!`]) or other fixed JSON.
    fn raw(&mut self, text: &str) {
        self.0.push_str(text);
    }

    fn int(&mut self, n: impl itoa::Integer) {
        self.0.push_str(itoa::Buffer::new().format(n));
    }

    fn key_int(&mut self, key: &str, n: impl itoa::Integer) {
        self.raw(key);
        self.int(n);
    }

    fn key_str(&mut self, key: &str, s: &str) {
        self.raw(key);
        self.str(s);
    }

    /// A JSON string, escaped as `serde_json` escapes (RFC 8259 §7: `"`, `\\` and the
    /// control characters; the short forms where there is one, else `\u00xx`).
    fn str(&mut self, s: &str) {
        // Names and ids rarely need escaping: one pass over the bytes without an early exit
        // (which the compiler vectorises), then the text copied whole.
        let plain = !s.bytes().fold(false, |esc, b| {
            esc | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        let out = &mut *self.0;
        out.push('"');
        if plain {
            out.push_str(s);
            out.push('"');
            return;
        }
        let mut safe = 0;
        for (i, b) in s.bytes().enumerate() {
            let short = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            out.push_str(&s[safe..i]);
            safe = i + 1;
            if short.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            } else {
                out.push_str(short);
            }
        }
        out.push_str(&s[safe..]);
        out.push('"');
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.0.push_str("null"),
        }
    }

    fn uuid(&mut self, id: Option<Uuid>) {
        match id {
            Some(id) => {
                let mut buf = Uuid::encode_buffer();
                let text = id.hyphenated().encode_lower(&mut buf);
                self.0.push('"');
                self.0.push_str(text);
                self.0.push('"');
            }
            None => self.0.push_str("null"),
        }
    }
}

impl AuthOutcome {
    /// The wire name (`serde`'s `snake_case`).
    fn wire_name(self) -> &'static str {
        match self {
            AuthOutcome::None => "none",
            AuthOutcome::Ok => "ok",
            AuthOutcome::Missing => "missing",
            AuthOutcome::Invalid => "invalid",
            AuthOutcome::Forbidden => "forbidden",
            AuthOutcome::Unavailable => "unavailable",
        }
    }
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
    pub fn write_json(&self, out: &mut String) {
        self.write_json_with(out, None);
    }

    /// [`Wire::write_json`], the fields from `client_id` to `method` copied from `memo` when
    /// they are those of the line it last kept (and kept otherwise).
    pub(crate) fn write_json_with(&self, out: &mut String, memo: Option<&mut WireMemo>) {
        let mut o = Out(out);
        o.raw("{\"ts_ms\":");
        o.int(self.ts_ms);
        match memo {
            Some(m) if m.holds(self) => o.raw(&m.text),
            Some(m) => {
                let start = o.0.len();
                self.write_who(&mut o);
                m.keep(self, &o.0[start..]);
            }
            None => self.write_who(&mut o),
        }
        o.key_int(key!("status"), self.status);
        o.key_int(key!("latency_us"), self.latency_us);
        o.key_int(key!("bytes_in"), self.bytes_in);
        o.key_int(key!("bytes_out"), self.bytes_out);
        // The outcome's name is a fixed word: written with its quotes, no escaping.
        o.raw(concat!(key!("auth"), "\""));
        o.raw(self.auth.wire_name());
        o.raw(concat!("\"", key!("throttled")));
        o.raw(if self.throttled { "true" } else { "false" });
        self.write_optional(&mut o);
        o.0.push('}');
    }

    /// Who called and where: `client_id`, `app_id`, `developer_id`, `route`, `method`.
    fn write_who(&self, o: &mut Out<'_>) {
        o.raw(key!("client_id"));
        o.opt_str(self.client_id);
        o.raw(key!("app_id"));
        o.uuid(self.app_id);
        o.raw(key!("developer_id"));
        o.uuid(self.developer_id);
        o.key_str(key!("route"), self.route);
        o.key_str(key!("method"), self.method);
    }

    /// The fields written only when they say something.
    fn write_optional(&self, o: &mut Out<'_>) {
        if let Some(by) = self.refused_by {
            o.key_str(key!("refused_by"), by);
        }
        match self.client_ip {
            Some(WireIp::Text(ip)) => o.key_str(key!("client_ip"), ip),
            Some(WireIp::Addr(ip)) => {
                o.raw(key!("client_ip"));
                // An address's text needs no escaping; writing to a `String` cannot fail.
                let _ = write!(o.0, "\"{ip}\"");
            }
            None => {}
        }
        if let Some(rule) = self.flagged_by {
            o.key_str(key!("flagged_by"), rule);
        }
        if self.count != 1 {
            o.key_int(key!("count"), self.count);
        }
        if !self.ips.is_empty() {
            o.raw(key!("ips"));
            for (i, (ip, n)) in self.ips.iter().enumerate() {
                o.0.push_str(if i == 0 { "[[" } else { ",[" });
                o.str(ip);
                o.0.push(',');
                o.int(*n);
                o.0.push(']');
            }
            o.0.push(']');
        }
    }
}

/// The text of a line's caller and route fields ([`Wire::write_json_with`]), kept with the
/// fields it was written from: a batch's calls mostly come from a few callers on a few routes,
/// so the text is copied rather than escaped and formatted again (issue 11, P1: the analytics
/// writer's cost per event). The fields are compared by value, so the copy is always the text
/// the fields would make.
#[derive(Debug, Default, Clone)]
pub(crate) struct WireMemo {
    kept: bool,
    client_id: Option<String>,
    app_id: Option<Uuid>,
    developer_id: Option<Uuid>,
    route: String,
    method: String,
    text: String,
}

impl WireMemo {
    fn holds(&self, w: &Wire<'_>) -> bool {
        self.kept
            && self.client_id.as_deref() == w.client_id
            && self.app_id == w.app_id
            && self.developer_id == w.developer_id
            && self.route == w.route
            && self.method == w.method
    }

    /// Keeps `text`, written from `w` (buffers reused: no allocation once they are grown).
    fn keep(&mut self, w: &Wire<'_>, text: &str) {
        let set = |to: &mut String, from: &str| {
            to.clear();
            to.push_str(from);
        };
        match (&mut self.client_id, w.client_id) {
            (Some(kept), Some(id)) => set(kept, id),
            (kept, id) => *kept = id.map(str::to_string),
        }
        self.app_id = w.app_id;
        self.developer_id = w.developer_id;
        set(&mut self.route, w.route);
        set(&mut self.method, w.method);
        set(&mut self.text, text);
        self.kept = true;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn line(w: &Wire<'_>) -> String {
        let mut out = String::new();
        w.write_json(&mut out);
        out
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
    fn a_memo_writes_the_same_lines() {
        let base: CallEvent = serde_json::from_str(
            r#"{"ts_ms":1,"client_id":"c1","app_id":null,"developer_id":null,"route":"r",
            "method":"GET","status":200,"latency_us":1,"bytes_in":0,"bytes_out":0,
            "auth":"ok","throttled":false}"#,
        )
        .unwrap();
        let id = |n: u128| Some(Uuid::from_u128(n));
        let mut events = vec![base.clone(), base.clone()];
        let changes: [fn(&mut CallEvent); 7] = [
            |e| e.client_id = Some("c\"2".into()),
            |e| e.client_id = None,
            |e| e.app_id = Some(Uuid::from_u128(7)),
            |e| e.developer_id = Some(Uuid::from_u128(8)),
            |e| e.route = "r\n2".into(),
            |e| e.method = "PURGE".into(),
            |e| e.ts_ms = 99,
        ];
        for change in changes {
            let mut e = events.last().unwrap().clone();
            change(&mut e);
            events.push(e.clone());
            events.push(e);
            events.push(base.clone());
        }
        events.push(CallEvent {
            app_id: id(1),
            ..base.clone()
        });
        let mut memo = WireMemo::default();
        for e in &events {
            let mut with = String::new();
            e.wire().write_json_with(&mut with, Some(&mut memo));
            assert_eq!(with, serde_json::to_string(e).unwrap());
        }
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

//! The per-call record the pipeline hands the emitter (issue 11, direction 5): what a
//! [`CallEvent`] says, without a `String` per call — the route and the caller are the shared
//! `Arc`s the call already holds, the method and policy labels are static, the address is an
//! `IpAddr`. The writer stores it by [`CallRecord::wire`] (the same line a `CallEvent` makes);
//! only a refusal of an unknown caller is turned into a `CallEvent`, for the refusal table.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use tessera_shared::analytics::{AuthOutcome, CallEvent, Wire, WireIp};

use crate::bounded::{truncate, MAX_CLIENT_ID};
use crate::caller::Caller;
use crate::routes::Route;

/// The route a call is counted under: the matched route, or a fixed label.
#[derive(Debug, Clone)]
pub enum RouteLabel {
    Route(Arc<Route>),
    Fixed(&'static str),
}

impl RouteLabel {
    pub fn as_str(&self) -> &str {
        match self {
            RouteLabel::Route(r) => &r.name,
            RouteLabel::Fixed(label) => label,
        }
    }

    /// A route was matched.
    pub fn is_route(&self) -> bool {
        matches!(self, RouteLabel::Route(_))
    }
}

/// One call, as the pipeline saw it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// When the request arrived, Unix milliseconds.
    pub ts_ms: i64,
    pub route: RouteLabel,
    /// A standard method, or an extension method a route lists.
    pub method: Cow<'static, str>,
    /// The caller, once authenticated.
    pub caller: Option<Arc<Caller>>,
    pub status: u16,
    pub latency_us: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub auth: AuthOutcome,
    pub throttled: bool,
    pub refused_by: Option<&'static str>,
    /// Recorded for refused calls only.
    pub client_ip: Option<IpAddr>,
    pub flagged_by: Option<&'static str>,
}

impl CallRecord {
    /// The client the call is attributed to, as labels bound it; `None` when unknown (or
    /// empty).
    pub fn client(&self) -> Option<&str> {
        let c = self.caller.as_deref()?;
        Some(truncate(&c.client_id, MAX_CLIENT_ID)).filter(|c| !c.is_empty())
    }

    /// A refusal before the caller was known ([`CallEvent::is_anonymous_refusal`]).
    pub fn is_anonymous_refusal(&self) -> bool {
        self.client().is_none() && self.refused_by.is_some()
    }

    /// The record's fields as the stored line writes them.
    pub fn wire(&self) -> Wire<'_> {
        let caller = self.caller.as_deref();
        Wire {
            ts_ms: self.ts_ms,
            client_id: self.client(),
            app_id: caller.and_then(|c| c.app_id),
            developer_id: caller.and_then(|c| c.developer_id),
            route: self.route.as_str(),
            method: &self.method,
            status: self.status,
            latency_us: self.latency_us,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            auth: self.auth,
            throttled: self.throttled,
            refused_by: self.refused_by,
            client_ip: self.refused_by.and(self.client_ip).map(WireIp::Addr),
            flagged_by: self.flagged_by,
            count: 1,
            ips: &[],
        }
    }

    /// The record as an event (for the refusal table, which keeps events).
    pub fn to_event(&self) -> CallEvent {
        self.wire().to_event()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn caller(client_id: String, app: Option<u128>) -> Arc<Caller> {
        Arc::new(Caller {
            client_id,
            app_id: app.map(uuid::Uuid::from_u128),
            developer_id: app.map(|a| uuid::Uuid::from_u128(!a)),
            ..Caller::default()
        })
    }

    fn auth() -> impl Strategy<Value = AuthOutcome> {
        use AuthOutcome::*;
        prop::sample::select(vec![None, Ok, Missing, Invalid, Forbidden, Unavailable])
    }

    proptest! {
        /// The line written from a record is, byte for byte, the line serde writes for the
        /// event the record stands for — and reads back as that event.
        #[test]
        fn a_record_is_stored_as_its_event(
            client in proptest::option::of(any::<String>()),
            app in proptest::option::of(any::<u128>()),
            route in any::<String>(),
            method in prop::sample::select(vec!["GET", "POST", "PURGE"]),
            (status, latency_us, bytes_in, bytes_out) in (any::<u16>(), any::<u64>(), any::<u64>(), any::<u64>()),
            auth in auth(),
            throttled in any::<bool>(),
            refused_by in proptest::option::of(prop::sample::select(vec!["auth", "ip", "quota"])),
            ip in proptest::option::of(any::<std::net::IpAddr>()),
            flagged_by in proptest::option::of(Just("ip_tokens")),
            ts_ms in any::<i64>(),
        ) {
            let route: &'static str = Box::leak(route.into_boxed_str());
            let r = CallRecord {
                ts_ms,
                route: RouteLabel::Fixed(route),
                method: Cow::Borrowed(method),
                caller: client.map(|c| caller(c, app)),
                status, latency_us, bytes_in, bytes_out, auth, throttled, refused_by,
                client_ip: ip,
                flagged_by,
            };
            let mut line = String::new();
            r.wire().write_json(&mut line);
            let event = r.to_event();
            prop_assert_eq!(&line, &serde_json::to_string(&event).unwrap());
            prop_assert_eq!(event.client_id.as_deref(), r.client());
            prop_assert_eq!(event.is_anonymous_refusal(), r.is_anonymous_refusal());
            prop_assert_eq!(event.client_ip.is_some(), refused_by.is_some() && ip.is_some());
        }
    }
}

//! Analytics: the event the proxy records for every call it handles (what Apigee analytics
//! records per call), in the wire format of the store's analytics stream
//! ([`crate::store::AnalyticsStore`]). The proxy's emitter (`tessera_proxy::analytics`) writes
//! events; the broker's usage API (`tessera_broker::usage`) reads them back and sums them up.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What authentication concluded about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    /// The route requires no authentication.
    None,
    /// Credentials presented and accepted.
    Ok,
    /// The route requires credentials and none were presented.
    Missing,
    /// Credentials presented but unknown, expired, revoked or malformed.
    Invalid,
    /// Valid credentials without the scope or claims the route requires.
    Forbidden,
    /// The credentials could not be checked (store or introspection endpoint down).
    Unavailable,
}

impl AuthOutcome {
    /// The caller's credentials were refused (missing, invalid, or lacking rights). An outage
    /// (`unavailable`) is not the caller's failure: it shows as a server error instead.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            AuthOutcome::Missing | AuthOutcome::Invalid | AuthOutcome::Forbidden
        )
    }
}

/// One proxied call (what Apigee analytics records per call).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallEvent {
    /// When the request arrived, Unix milliseconds.
    pub ts_ms: i64,
    /// `None`: unauthenticated, or not identified.
    pub client_id: Option<String>,
    pub app_id: Option<Uuid>,
    pub developer_id: Option<Uuid>,
    /// The route's name.
    pub route: String,
    pub method: String,
    pub status: u16,
    pub latency_us: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub auth: AuthOutcome,
    /// Refused by spike arrest or quota.
    pub throttled: bool,
    /// The policy that answered instead of the backend (`ip`, `spike_arrest`, `auth`, `scope`,
    /// `quota`, `threat`, `unavailable`, `backend`, `request`: the proxy's refusal labels);
    /// `None` when the backend answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_by: Option<String>,
    /// The client address, recorded only for refused calls (the portal's security figures:
    /// top refused addresses); `None` for every call the backend answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The abuse detection rule that had flagged (or blocked) the call's client or address
    /// when the call was made (`client_rate`, `ip_tokens`, …); `None` for most calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_by: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn event(ts_ms: i64) -> CallEvent {
        CallEvent {
            ts_ms,
            client_id: Some("c1".into()),
            app_id: None,
            developer_id: None,
            route: "orders".into(),
            method: "GET".into(),
            status: 200,
            latency_us: 1000,
            bytes_in: 0,
            bytes_out: 10,
            auth: AuthOutcome::Ok,
            throttled: false,
            refused_by: None,
            client_ip: None,
            flagged_by: None,
        }
    }

    #[test]
    fn wire_format_is_snake_case_and_round_trips() {
        let mut e = event(5);
        e.auth = AuthOutcome::Unavailable;
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["auth"], "unavailable");
        assert_eq!(json["ts_ms"], 5);
        let back: CallEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, e);
        // Events written before refusals were recorded read back as the backend's answers.
        assert!(json.get("refused_by").is_none() && json.get("client_ip").is_none());
    }

    #[test]
    fn only_refused_credentials_are_auth_failures() {
        use AuthOutcome::*;
        let failures: Vec<_> = [None, Ok, Missing, Invalid, Forbidden, Unavailable]
            .into_iter()
            .filter(|a| a.is_failure())
            .collect();
        assert_eq!(failures, vec![Missing, Invalid, Forbidden]);
    }
}

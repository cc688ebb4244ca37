//! What a policy step sees of a call, and how it refuses one.
//!
//! An [`Exchange`] is built once per call after routing: the request, its canonical path and the
//! client address, and the [`Outcome`] the steps fill in as they run (the caller, the
//! authentication outcome, whether the call was throttled, the quota and CORS headers) — which the
//! pipeline then reads for forwarding, the response and the analytics event.
//!
//! Every policy has one signature, `Check`; a step that refuses returns a [`Blocked`]: the
//! answer ([`Denial`]) and the [`Policy`] that gave it, so the refusal metrics read the policy
//! from the refusal itself.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpRequest;
use tessera_shared::analytics::AuthOutcome;

use crate::caller::Caller;
use crate::denial::Denial;

/// The `policy` label of `tessera_proxy_refusals_total`: who answered a call on a matched route
/// instead of the backend. A closed set, so the label stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Ip,
    /// Abuse detection: a blocked client address.
    Abuse,
    SpikeArrest,
    /// CORS: a preflight answered (204) or refused (403) by the route's policy.
    Cors,
    Auth,
    Scope,
    Quota,
    Threat,
    /// A policy failed closed: what it depends on (the store, the broker, a JWKS) is unreachable.
    Unavailable,
    /// Forwarding: the backend failed (`502`) or was too slow (`504`).
    Backend,
    /// The request itself: refused as it came, or its body unreadable.
    Request,
}

impl Policy {
    pub fn label(self) -> &'static str {
        match self {
            Policy::Ip => "ip",
            Policy::Abuse => "abuse",
            Policy::SpikeArrest => "spike_arrest",
            Policy::Cors => "cors",
            Policy::Auth => "auth",
            Policy::Scope => "scope",
            Policy::Quota => "quota",
            Policy::Threat => "threat",
            Policy::Unavailable => "unavailable",
            Policy::Backend => "backend",
            Policy::Request => "request",
        }
    }
}

/// A call refused, by whom.
#[derive(Debug)]
pub struct Blocked {
    pub by: Policy,
    pub denial: Denial,
}

impl Blocked {
    pub fn by(by: Policy, denial: Denial) -> Self {
        Blocked { by, denial }
    }

    /// Refused as the request came (before or during routing, or an unreadable body).
    pub fn request(denial: Denial) -> Self {
        Blocked::by(Policy::Request, denial)
    }

    /// Fail closed: `what` could not be checked (503 with `Retry-After`).
    pub fn unavailable(what: &str) -> Self {
        Blocked::by(Policy::Unavailable, Denial::Unavailable(what.into()))
    }
}

/// One policy as a step of a compiled route (a variant of `Step`, in `step.rs`).
///
/// `async fn` in a crate-private trait: steps are dispatched by a `match` over the `Step` enum,
/// never through `dyn`, so no future is boxed per call.
pub(crate) trait Check {
    /// Lets the call through, or refuses it naming the policy.
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked>;
}

/// `RateLimit-*` headers: name and value.
pub type RateLimitHeaders = [(&'static str, String); 4];

/// What the CORS step leaves for the answer to an actual request (applied by `cors::apply`): the
/// allow headers (none for an origin not allowed) and whether the answer must say
/// `Vary: Origin`.
#[derive(Debug, Default)]
pub struct CorsAnswer {
    pub allow: Vec<(HeaderName, HeaderValue)>,
    pub vary_origin: bool,
}

/// What the steps learnt about a call.
#[derive(Debug)]
pub struct Outcome {
    /// Who the call was authenticated as (none on a route without authentication).
    pub caller: Option<Arc<Caller>>,
    pub auth: AuthOutcome,
    /// Refused by spike arrest or quota.
    pub throttled: bool,
    /// Set by the quota step; sent with the response, whatever it is.
    pub quota_headers: Option<RateLimitHeaders>,
    /// Set by the CORS step of a route with a CORS policy; applied to the response, whatever
    /// it is.
    pub cors: Option<CorsAnswer>,
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome {
            caller: None,
            auth: AuthOutcome::None,
            throttled: false,
            quota_headers: None,
            cors: None,
        }
    }
}

/// One call as the steps see it.
pub struct Exchange<'a> {
    req: &'a HttpRequest,
    path: &'a str,
    ip: IpAddr,
    /// When the call arrived, Unix milliseconds: the call's one wall-clock reading, shared by
    /// its analytics event and the steps (the token cache's expiry check) — a clock read
    /// fewer per call each (issue 11, P1).
    now_ms: i64,
    /// The caller's throttle key, built the first time a step needs it (it allocates).
    subject: Option<String>,
    pub out: &'a mut Outcome,
}

/// Neither the request nor the caller: their headers and claims may carry credentials.
impl std::fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

impl<'a> Exchange<'a> {
    pub fn new(
        req: &'a HttpRequest,
        path: &'a str,
        ip: IpAddr,
        now_ms: i64,
        out: &'a mut Outcome,
    ) -> Self {
        Exchange {
            req,
            path,
            ip,
            now_ms,
            subject: None,
            out,
        }
    }

    pub fn req(&self) -> &'a HttpRequest {
        self.req
    }

    /// The canonical path, as the route matched it and the backend receives it.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The client address (the peer, or `X-Forwarded-For` from trusted hops).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// When the call arrived, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn caller(&self) -> Option<&Caller> {
        self.out.caller.as_deref()
    }

    /// What spike arrest and quota count the caller against ([`Caller::throttle_key`]).
    pub fn throttle_key(&mut self) -> Option<&str> {
        if self.subject.is_none() {
            self.subject = self.out.caller.as_ref().map(|c| c.throttle_key());
        }
        self.subject.as_deref()
    }
}

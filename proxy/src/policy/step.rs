//! The list of policies a route can run: [`Step`], one variant per policy type, each a
//! `Check`. The route compiler (`routes/compile.rs`) decides which steps a route has and in which
//! order; the pipeline runs them one after the other, the first refusal answering.
//!
//! # Design note: an enum, not `Box<dyn Check>`
//! The proxy is a hot path. A trait object would need a boxed future per step and call
//! (async-trait); the enum's `check` is a `match` whose future is sized at compile time, so
//! running a route's steps allocates nothing for the dispatch. The `steps!` macro keeps the
//! cost of that choice to one line per policy: it writes the enum, the `match` and a `From` for
//! each policy type.

use super::exchange::{Blocked, Check, Exchange};
use super::{abuse, auth, cors, ip, quota, scope, spike, threat};

/// Declares [`Step`] from `Variant(PolicyType)` lines: the enum, its `check` (a `match` calling
/// each policy's [`Check::check`]) and `From<PolicyType> for Step`.
macro_rules! steps {
    ($($(#[$doc:meta])* $variant:ident($policy:ty),)*) => {
        /// One policy of a compiled route.
        #[derive(Debug)]
        pub enum Step {
            $($(#[$doc])* $variant($policy),)*
        }

        impl Step {
            pub(crate) async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
                match self {
                    $(Step::$variant(p) => p.check(x).await,)*
                }
            }
        }

        $(impl From<$policy> for Step {
            fn from(p: $policy) -> Self {
                Step::$variant(p)
            }
        })*
    };
}

steps! {
    /// IP allow/deny lists.
    Ip(ip::IpFilter),
    /// Abuse detection: an address blocked for its refusals.
    Abuse(abuse::AbuseCheck),
    /// Abuse detection's behaviour rules: a blocked address (before authentication) or client
    /// (right after it).
    Behaviour(crate::behaviour::check::BehaviourCheck),
    /// Spike arrest, per IP (before authentication) or per client (right after it).
    SpikeArrest(spike::SpikeArrest),
    /// CORS: answers preflights, and marks answers for the allowed origins.
    Cors(cors::Cors),
    /// Authentication by a Tessera opaque token (the store, or introspection at the broker).
    Tessera(auth::tessera::Tessera),
    /// Authentication by an upstream JWT (validate-jwt).
    Jwt(auth::jwt::Jwt),
    /// Authentication by an app's API key (VerifyAPIKey).
    ApiKey(auth::api_key::ApiKey),
    /// Scopes and claims required of the caller.
    Scopes(scope::Scopes),
    /// Quota per client.
    Quota(quota::QuotaStep),
    /// Threat protection of the request head (the body is checked as it streams in).
    Threat(threat::step::HeadCheck),
}

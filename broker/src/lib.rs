//! The Tessera broker: the OAuth 2.0 authorization server apps talk to.
//!
//! # Layout
//!
//! Dependencies point one way: handlers (`oauth`, `admin`) → `flows` → the domain (`tokens`,
//! `upstream`, `idtoken`, `ratelimit`, `usage`) → [`tessera_shared`]; `http` holds the wire
//! helpers handlers use, and `state` the services they share.
//!
//! * [`startup`] — [`startup::Application`]: binds the listeners, wires state and routes (and
//!   the routes a caller mounts, e.g. `tessera dev`'s identity provider); used by `main` and by
//!   the tests alike. [`state`] — what every handler shares.
//! * [`config`] — [`config::BrokerConfig`] and its sections, on the shared loader.
//! * [`http`] — wire helpers: bearer tokens, client credentials, JSON bodies, the browser's
//!   pages and redirects, the client's address; and the request stack (`http::stack`: span,
//!   HTTP metrics and security headers as one middleware).
//! * [`oauth`] — the OAuth endpoints as HTTP: each reads its request, calls one flow and renders
//!   the answer. [`admin`] — the admin API (developers, apps, credentials, usage) behind the admin
//!   bearer token (products and subscriptions too), with its OpenAPI document.
//! * [`portal`] — the developer portal and operator console: server-rendered pages, sessions,
//!   sign-in through the upstream, SVG charts; on the same catalog code as the admin API.
//! * [`flows`] — the rules of each endpoint in OAuth terms: authorization and callback with the
//!   pending logins and codes, client authentication, one file per grant, introspection,
//!   revocation, registration, and the client rules the admin API and registration share.
//! * [`tokens`] — issuing: access tokens, logins (families) with refresh rotation, revocation.
//! * [`upstream`] — the upstream OpenID Connect providers (Okta, and others with
//!   `[[upstreams]]`): discovery, code and password exchanges, `id_token` and JWT validation,
//!   claim mapping.
//! * [`idtoken`] — the id_tokens the broker signs for apps, and its signing keys (JWKS).
//! * [`ratelimit`] — rate limits, failure back-off and budgets, shared by every instance.
//! * [`usage`] — the proxy's call events summed up for the usage API; [`abuse`] — abuse
//!   detection's flags and blocks, for the admin API.
//! * [`health`] — `/healthz`, `/readyz` and the status listener's `/metrics`; [`metrics`] —
//!   Prometheus counters.
//! * [`security_headers`] — CSP, framing, referrer and sniffing headers on every answer.
//! * [`telemetry`] — the request span (route and request id, never the query string).

pub mod abuse;
pub mod admin;
pub mod config;
pub mod flows;
pub mod health;
pub mod http;
pub mod idtoken;
pub mod metrics;
pub mod oauth;
pub mod portal;
pub mod ratelimit;
pub mod security_headers;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tokens;
pub mod upstream;
pub mod usage;

pub use startup::Application;

//! The Tessera broker: the OAuth 2.0 authorization server apps talk to.
//!
//! # Layout
//!
//! * [`startup`] — [`startup::Application`]: binds the listener, wires state and routes; used by
//!   `main` and by the tests alike.
//! * [`state`] — what every handler shares (catalog, tokens, keys, configuration, metrics).
//! * [`oauth`] — the OAuth endpoints, one file each: authorize and callback (user login),
//!   token (one file per grant), introspection (RFC 7662), revocation (RFC 7009), dynamic
//!   registration (RFC 7591), metadata (RFC 8414); with the strict form reader, PKCE and client
//!   authentication they share.
//! * [`upstream`] — the upstream OpenID Connect provider (Okta): discovery, code and password
//!   exchanges, `id_token` and JWT validation, claim mapping.
//! * [`ratelimit`] — rate limits, failure back-off and budgets, shared by every instance.
//! * [`admin`] — the admin API (developers, apps, credentials) behind the admin bearer token.
//! * [`idtoken`] — the id_tokens the broker signs for apps, and its signing keys (JWKS).
//! * [`health`] — `/healthz`, `/readyz`; [`metrics`] — Prometheus counters and `/metrics` (on the
//!   status listener).
//! * [`security_headers`] — CSP, framing, referrer and sniffing headers on every answer.
//! * [`telemetry`] — the request span (route and request id, never the query string).
//!
//! Handlers parse, call [`tessera_shared`] domain code, and map errors; they hold no rules.

pub mod admin;
pub mod config;
pub mod flows;
pub mod health;
pub mod http;
pub mod idtoken;
pub mod metrics;
pub mod oauth;
pub mod ratelimit;
pub mod security_headers;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tokens;
pub mod upstream;
pub mod usage;

pub use startup::Application;

//! Tessera's shared core: everything the broker and the proxy both need, and nothing that knows
//! about HTTP routing.
//!
//! # Layout
//!
//! * [`client_ip`] — the client's address: the peer, or `X-Forwarded-For` from trusted hops.
//! * [`config`] — loading (TOML file + `TESSERA_…` environment overrides) and validating settings.
//! * [`crypto`] — randomness, keyed hashes of tokens and client secrets, constant-time checks.
//! * [`token`] — the opaque token format: prefix, 256-bit random body, checksum.
//! * [`model`] — developers, apps, credentials, token records; parsed wire values
//!   ([`model::RedirectUri`], [`scope::ScopeSet`]).
//! * [`store`] — the storage trait and its two implementations (Redis, in-memory); the one module
//!   that builds Redis key names.
//! * [`rate`] — spike-arrest rates, quota periods and app rate plans.
//! * [`catalog`] — developer and app registry on top of the store.
//! * [`tokens`] — minting, looking up and revoking access tokens.
//! * [`oauth`] — the RFC 6749 §5.2 error type shared by every OAuth endpoint.
//! * [`jwt`] — JWS algorithm names (asymmetric only), for every JWT verifier.
//! * [`telemetry`] — tracing subscriber set-up.
//! * [`analytics`] — the per-call event the proxy records, and the usage aggregation the
//!   broker reports.

pub mod analytics;
pub mod catalog;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod error;
pub mod jwt;
pub mod model;
pub mod oauth;
pub mod rate;
pub mod scope;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod tokens;

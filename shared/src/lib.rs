//! Tessera's shared core: what the broker and the proxy both need — and the OAuth wire format the
//! broker shares with the development identity provider — and nothing that knows about HTTP
//! routing. Service-specific code (the broker's configuration, token issuing and usage reports;
//! the proxy's policies) lives in its own crate.
//!
//! # Layout
//!
//! * [`config`] — the loader (TOML file + `TESSERA_…` environment overrides), validation helpers,
//!   and the sections both services read: `[store]`, `[security]`, `[log]`.
//! * [`crypto`] — randomness (the OS CSPRNG, read in batches), keyed hashes of tokens and client secrets, constant-time checks,
//!   the keyed tags of minted access and refresh tokens, and [`crypto::seal`], the one AEAD.
//! * [`token`] — the opaque token format: prefix, 256-bit random body, checksum.
//! * [`model`] — developers, apps, credentials, token records; parsed wire values
//!   ([`model::RedirectUri`], [`scope::ScopeSet`]).
//! * [`store`] — the storage traits, one per concern, and their two implementations (Redis — one
//!   node or a Redis Cluster, plain or TLS —
//!   in-memory); the one module that builds Redis key names.
//! * [`catalog`] — developer and app registry on top of the store (with the broker's apps in
//!   process, `catalog::cached`); [`product`] — API products, subscriptions, and an app's
//!   effective scopes and rate plan.
//! * [`cache`] — what the proxy's token cache and the broker's introspection cache share: the
//!   compact table keyed by hash prefix with deadlines, and the rules that keep them honest.
//! * [`tokens`] — looking access tokens up ([`tokens::TokenLookup`]): the broker's
//!   introspection and the proxy.
//! * [`rate`] — spike-arrest rates, quota periods and app rate plans; [`limiter`] — in-process
//!   keyed rate limiters (governor).
//! * [`oauth`] — the OAuth wire format: the RFC 6749 §5.2 error and its response, strict forms,
//!   Basic credentials, PKCE.
//! * [`jwt`] — JWS algorithm names (asymmetric only), for every JWT verifier; [`json_string`] —
//!   a JSON string as serde_json writes it, for the hot paths' hand-written JSON.
//! * [`analytics`] — the per-call event the proxy records and the broker's usage reports read.
//! * [`client_ip`] — the client's address: the peer, or `X-Forwarded-For` from trusted hops.
//! * [`method`] — HTTP methods as metrics and analytics name them: the standard set, or `OTHER`.
//! * [`status`] — running a service beside its status listener; [`telemetry`] — tracing
//!   subscriber set-up; [`error`], [`time`].

pub mod analytics;
pub mod cache;
pub mod catalog;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod error;
pub mod json_string;
pub mod jwt;
pub mod limiter;
pub mod method;
pub mod model;
pub mod oauth;
pub mod product;
pub mod rate;
pub mod scope;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod tokens;

//! Tessera's API proxy: the route table, the policy steps every request passes (IP lists,
//! spike arrest, CORS, authentication, scope checks, quota, threat protection), forwarding to backends,
//! and the analytics events of every call.
//!
//! # Layout
//!
//! * [`config`] — the proxy's settings; [`routes`] — the route table, and the route compiler that
//!   turns each route's configuration into its policy steps, in order, and its forwarding.
//! * [`canonical`] — the request read once, before routing: head limits, method, host and the
//!   canonical path that routes match and backends receive; [`bounded`] — caps on every string
//!   the proxy records.
//! * [`pipeline`] — the request handler: route, run the route's steps, forward (`send`), record.
//! * [`policy`] — the policies, one file each, all with one signature
//!   (`Check`) and listed once as [`policy::step::Step`]: `ip`, `abuse`, `spike`, `cors`,
//!   `auth/` (`tessera` with `introspection` and `stored_callers`, `jwt`, `api_key`, `none`), `scope`, `quota`,
//!   `threat/`; `jwt/` is the validate-jwt engine. A refusal names its policy
//!   ([`policy::exchange::Blocked`]). [`caller`] — who a request was authenticated as.
//! * [`behaviour`] — abuse detection's behaviour rules: signals counted per client and address
//!   in process, merged into Redis per flush interval, flags and blocks learnt into a local
//!   cache, and the steps refusing blocked subjects (`Step::Behaviour`).
//! * [`cache`] — validated tokens (and, briefly, unknown ones) in process, kept honest by the
//!   revocation channel (which the apps kept in process follow too, first), in the compact
//!   table and under the rules it shares with the broker ([`tessera_shared::cache`]).
//! * [`body`], [`forward`] — bodies and headers on their way to the backend and back, through
//!   hyper's HTTP/1.1 connections in a pool per worker (`forward/client.rs`, `forward/pool.rs`),
//!   and the RFC 9421 signature of what a route forwards (`forward/signature.rs`).
//! * [`denial`] — the answer to each refusal; [`metrics`]; [`analytics`] — the per-call events.
//! * [`tls`] — TLS termination and mutual TLS to backends; [`startup`] — building, running and
//!   reloading; [`state`] — what every handler shares; [`echo`] — the sample backend of
//!   `tessera dev`, the tests and the benchmark.

pub mod analytics;
pub mod behaviour;
pub mod body;
pub mod bounded;
pub mod cache;
pub mod caller;
pub mod canonical;
pub mod config;
pub mod denial;
pub mod echo;
pub mod forward;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tls;

pub use startup::{reload, Listeners, Proxy, StartError};

//! Tessera's API proxy: the route table, the policy pipeline every request passes (IP lists,
//! spike arrest, authentication, scope checks, quota, threat protection), forwarding to backends,
//! and the analytics events of every call.
//!
//! # Layout
//!
//! * [`config`] — the proxy's settings; [`routes`] — the route table and its compilation.
//! * [`canonical`] — the request read once, before routing: head limits, method, host and the
//!   canonical path that routes match and backends receive; [`bounded`] — caps on every string
//!   the proxy records.
//! * [`pipeline`] — the request handler that runs a route's policies in order; [`policy`] —
//!   the policies; [`caller`] — who a request was authenticated as.
//! * [`cache`] — validated tokens in process, kept honest by the revocation channel.
//! * [`body`], [`forward`] — bodies and headers on their way to the backend and back.
//! * [`denial`] — the answer to each refusal; [`metrics`]; [`analytics`] — the per-call events.
//! * [`tls`] — TLS termination and mutual TLS to backends; [`startup`] — building, running and
//!   reloading; [`echo`] — the sample backend of `tessera dev`, the tests and the benchmark.

pub mod analytics;
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

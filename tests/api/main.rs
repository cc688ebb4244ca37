//! End-to-end tests of the broker over HTTP, against a real `redis-server` spawned by the
//! helpers (one per test binary; each test gets its own key prefix, so tests run in parallel).

// Tests may panic on what they did not expect: that is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    clippy::type_complexity
)]

mod admin;
mod app_cache;
mod authorize;
mod backoff_notices;
mod basic_credentials;
mod bounded_inputs;
mod broker_dev_idp;
mod certs;
mod client_config;
mod client_rules;
mod client_scripts;
mod cluster;
mod cors;
mod credentials;
mod device_consent;
mod device_csrf;
mod device_flow;
mod devidp;
mod dpop;
mod failure;
mod gateway;
mod head_reads;
mod helpers;
mod id_tokens;
mod introspect;
mod introspection_cache;
mod login_binding;
mod login_limits;
mod logout;
mod metadata;
mod method_labels;
mod native_apps;
mod node_clients;
mod page_headers;
mod password_abuse;
mod portal;
mod products;
mod python_clients;
mod rate_leases;
mod rate_limits;
mod redis_cluster;
mod redis_memory;
mod redis_server;
mod refresh_grace;
mod refusal_flood;
mod refusal_queue;
mod registration;
mod request_stack;
mod revoke;
mod scopes_follow_app;
mod shipped_acl;
mod stack_headers;
mod store_conformance;
mod store_per_thread;
mod token;
mod token_exchange;
mod token_wire;
mod upstream_faults;
mod upstream_size;
mod upstreams;
mod usage;
mod user_tokens;
mod worker_reconnect;
mod world;

//! Tessera's API proxy: the route table, the policy pipeline every request passes (IP lists,
//! spike arrest, authentication, scope checks, quota, threat protection), forwarding to backends,
//! and the analytics events of every call.

pub mod analytics;

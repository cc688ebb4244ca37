//! The per-route policies, in the order the pipeline applies them.

pub mod jwt;

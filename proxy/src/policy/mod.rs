//! The per-route policies, each a step with one signature (`exchange::Check`): it reads and
//! fills in the call's [`exchange::Exchange`], and lets the call through or refuses it naming
//! itself ([`exchange::Blocked`]). A compiled route holds its steps ([`step::Step`]) in this
//! order, the first refusal answering:
//!
//! 1. [`ip`] — IP allow/deny, then [`abuse`] — an address blocked by abuse detection (its
//!    per-IP rule, then the behaviour rules' address blocks, `crate::behaviour::check`);
//! 2. [`spike`] — spike arrest per IP, before any lookup;
//! 3. [`cors`] — CORS: a preflight is answered here, before authentication, and never reaches
//!    the backend; other answers get the allow headers on their way back;
//! 4. [`auth`] — authentication: [`auth::tessera`] (opaque tokens, from the store or by
//!    [`auth::introspection`]), [`auth::jwt`] (upstream JWTs, validated by [`jwt`]),
//!    [`auth::api_key`], or none ([`auth::none`]: no step);
//! 5. a client blocked by abuse detection's behaviour rules (`crate::behaviour::check`), then
//!    [`spike`] — spike arrest per client (the app's plan, else the route's);
//! 6. [`scope`] — required scopes and claims;
//! 7. [`quota`] — quota per client (the app's plan, else the route's), with its in-process
//!    fallback;
//! 8. [`threat`] — threat protection of the head ([`threat::step`]); the body is checked as it
//!    streams in, on its way to the backend.
//!
//! Before the steps the request is read once and routed ([`crate::canonical`]); after them it
//! is forwarded ([`crate::forward`]).
//!
//! # Adding a policy
//! One file here with its configuration, its step type and `impl Check`; one line in the
//! `steps!` list ([`step`]); one line at its place in the route compiler
//! (`routes/compile.rs`), and its key in `RouteConfig` (`routes/config.rs`). A step may
//! answer a call itself (CORS preflights: `Denial::Preflight`) and leave headers for the
//! answer on the way back ([`exchange::Outcome`]).

pub mod abuse;
pub mod auth;
pub mod cors;
pub mod exchange;
pub mod ip;
pub mod jwt;
pub mod quota;
pub mod scope;
pub mod spike;
pub mod step;
pub mod threat;

//! Tessera in a real browser: headless Chromium driven by chromedriver over WebDriver
//! (fantoccini), against the real broker on a real Redis, the development identity provider
//! as the upstream, and the proxy in front of the sample backend — the developer portal and
//! operator console ([`walk`]) and a single-page app calling the broker and an API across
//! origins ([`spa`]). One chromedriver per test ([`driver`]); screenshots under
//! `target/screenshots/`. The world they run in is `tests/api/`'s, included by `#[path]`.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs): without them the tests fail, loudly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../api/redis_server.rs"]
mod redis_server;

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[allow(dead_code)]
#[path = "../api/world.rs"]
mod world;

#[allow(dead_code)]
#[path = "../api/gateway/harness.rs"]
mod gateway;

mod driver;
mod spa;
mod walk;

//! Rate limits of the broker's endpoints, shared by every broker instance.
//!
//! Each limit is a GCRA rate ([`tessera_shared::store::limits`]) kept in the store: one Lua
//! script call per check on Redis (`redis/scripts/gcra.lua`, timed by the Redis clock), so N
//! brokers together admit what one would. In front of it, an in-process limiter with the same
//! rate ([`local`]) refuses a flood without a round trip; it never refuses what the shared limit
//! would admit, except to a subject whose own recent requests were over the limit anyway.
//!
//! The per-app limits are taken in leases ([`lease`]): a busy broker takes a slice of the app's
//! allowance in one script call and admits from it in process for at most `limits.lease_ms`.
//! The rule and its bounds: the store grants a slice's cells only in slots that a request
//! arriving at the end of the hold could have taken, so **N brokers together still never admit
//! more than the plain limit** (at most `burst + t × rate` in any `t`), however the slices are
//! spread; unspent cells are lost, so they may admit less — by at most one slice per broker, plus
//! one hold's worth of the rate after an idle spell. Rates too low for a slice of 2 in the hold
//! (under 200 per second by default) are checked per request, as every per-IP limit is.
//! Unlike Kong's `sync_rate` or Apigee's asynchronous quotas, which count locally and reconcile
//! afterwards (and so may admit more than the limit between syncs), a lease is paid for before it
//! is spent.
//!
//! Where a limit applies (README.md, "Rate limits"):
//! * per app on `/token`, `/introspect`, `/revoke`, after client authentication (so nobody can
//!   spend another app's allowance); an app's rate plan may set its own rates;
//! * per client IP and per username on the password grant, before the upstream is asked (so
//!   credential stuffing never reaches Okta);
//! * per client IP on `/authorize`, `/callback`, `/register`, and the device pages (`/device`,
//!   `/device/confirm`), before anything else; per app on `/device_authorization`;
//! * per client IP on `/authorize`, `/callback`, `/register`, and every page of the portal,
//!   before anything else;
//! * failed client authentication: exponential back-off per IP and per client ([`backoff`]),
//!   read from the store only for subjects that may be in one ([`suspects`]); wrong user
//!   codes: the same, per IP ([`device`]);
//! * pending logins, authorization codes and device authorizations: budgets per IP and in all
//!   ([`budget`]).
//!
//! When the store cannot answer a limit check, the in-process limiter alone decides (the
//! request then usually fails on the store anyway), and the metric
//! `tessera_rate_limit_unavailable_total` counts it.
//!
//! # Layout
//! * [`local`] — the in-process pre-filter (governor).
//! * [`lease`] — slices of the per-app limits, spent in process.
//! * [`refusal`] — the 429 answers: OAuth JSON or an HTML page, with `Retry-After` and the
//!   RateLimit fields.
//! * [`backoff`] — failed client authentication.
//! * [`suspects`] — which subjects may be in a back-off, heard on the revocation channel.
//! * [`budget`] — pending logins, codes and device authorizations.
//! * [`device`] — wrong user codes.

pub mod backoff;
pub mod budget;
pub mod device;
pub mod lease;
pub mod local;
pub mod refusal;
pub mod suspects;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_shared::crypto::Keys;
use tessera_shared::model::App;
use tessera_shared::oauth::OAuthError;
use tessera_shared::store::{Gcra, Lease, LimitKey, Store};

use crate::config::{LimitsConfig, RateLimit};
use crate::metrics::Metrics;
pub use refusal::Refusal;

/// The rate limits, by the name they carry in keys and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Token,
    Introspect,
    Revoke,
    PasswordUsername,
    PasswordIp,
    AuthorizeIp,
    CallbackIp,
    RegisterIp,
    DeviceAuthorization,
    DeviceEntryIp,
    PortalIp,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Token => "token",
            Limit::Introspect => "introspect",
            Limit::Revoke => "revoke",
            Limit::PasswordUsername => "password_username",
            Limit::PasswordIp => "password_ip",
            Limit::AuthorizeIp => "authorize_ip",
            Limit::CallbackIp => "callback_ip",
            Limit::RegisterIp => "register_ip",
            Limit::DeviceAuthorization => "device_authorization",
            Limit::DeviceEntryIp => "device_entry_ip",
            Limit::PortalIp => "portal_ip",
        }
    }

    fn configured(self, c: &LimitsConfig) -> RateLimit {
        match self {
            Limit::Token => c.token,
            Limit::Introspect => c.introspect,
            Limit::Revoke => c.revoke,
            Limit::PasswordUsername => c.password_per_username,
            Limit::PasswordIp => c.password_per_ip,
            Limit::AuthorizeIp => c.authorize_per_ip,
            Limit::CallbackIp => c.callback_per_ip,
            Limit::RegisterIp => c.register_per_ip,
            Limit::DeviceAuthorization => c.device_authorization,
            Limit::DeviceEntryIp => c.device_entry_per_ip,
            Limit::PortalIp => c.portal_per_ip,
        }
    }
}

#[derive(Debug)]
pub struct Limiters {
    cfg: LimitsConfig,
    store: Arc<dyn Store>,
    keys: Keys,
    local: local::Local,
    slices: lease::Slices,
    suspects: Arc<suspects::Suspects>,
    metrics: Metrics,
}

/// What per-IP limits count: the address, or for IPv6 its /64 (one host's usual allocation,
/// so that an attacker cannot take a fresh address per request).
pub fn ip_subject(ip: IpAddr) -> String {
    use std::fmt::Write;
    // Written into its final size at once (`to_string` and `format!` grow it as they go).
    let mut subject = String::with_capacity(IP_SUBJECT_MAX);
    match ip {
        // What `Ipv4Addr`'s `Display` writes (dotted decimal), by `itoa`: the formatter cost
        // about 1,000 instructions per request (issue 11, P3).
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    subject.push('.');
                }
                subject.push_str(digits.format(octet));
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let _ = write!(subject, "{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]);
        }
    }
    subject
}

/// The longest [`ip_subject`]: `ffff:ffff:ffff:ffff::/64`.
const IP_SUBJECT_MAX: usize = 24;

/// The store's rate for `spec`. The scripts count in whole µs, so the emission interval is
/// rounded up: rounded down (`600000ps`: 1.67 µs to 1 µs), the shared limit would admit up to
/// twice the rate, past its `burst + t × rate` promise; rounded up it admits at most the rate.
/// (`Rate::interval` is already rounded up to the ns, and a ceiling of a ceiling by a whole
/// divisor is the ceiling of the exact value.)
fn gcra(spec: RateLimit) -> Gcra {
    let us = spec.rate.interval().as_nanos().div_ceil(1_000);
    Gcra {
        interval_us: u64::try_from(us).unwrap_or(u64::MAX).max(1),
        burst: spec.burst.max(1),
    }
}

impl Limiters {
    pub fn new(cfg: LimitsConfig, store: Arc<dyn Store>, keys: Keys, metrics: Metrics) -> Self {
        Limiters {
            suspects: Arc::new(suspects::Suspects::new(backoff::longest(&cfg))),
            cfg,
            store,
            keys,
            local: local::Local::default(),
            slices: lease::Slices::default(),
            metrics,
        }
    }

    /// The back-off suspects, to follow the revocation channel.
    pub fn suspects(&self) -> &Arc<suspects::Suspects> {
        &self.suspects
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.cfg
    }

    /// A per-app limit (`/token`, `/introspect`, `/revoke`), after client authentication. The
    /// app's rate plan, where it sets this endpoint's rate, replaces the default (the burst is
    /// then the larger of the configured one and the plan's count).
    pub async fn per_app(&self, limit: Limit, app: &App) -> Result<(), OAuthError> {
        let rates = app.effective_rate_plan().oauth;
        let plan = match limit {
            Limit::Token => rates.token,
            Limit::Introspect => rates.introspect,
            Limit::Revoke => rates.revoke,
            _ => None,
        };
        let mut spec = limit.configured(&self.cfg);
        if let Some(rate) = plan {
            spec = RateLimit {
                rate,
                burst: spec.burst.max(rate.count.get()),
            };
        }
        let hold = Duration::from_millis(self.cfg.lease_ms);
        // The app id as in its key (hyphenated), written on the stack.
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let subject = app.id.hyphenated().encode_lower(&mut id);
        self.take(limit, subject, spec, hold)
            .await
            .map_err(Refusal::oauth)
    }

    /// A per-IP limit.
    pub async fn per_ip(&self, limit: Limit, ip: IpAddr) -> Result<(), Refusal> {
        let spec = limit.configured(&self.cfg);
        self.take(limit, &ip_subject(ip), spec, Duration::ZERO)
            .await
    }

    /// The password grant's limits, per client IP then per username (compared without case),
    /// before the upstream is asked.
    pub async fn password(&self, ip: IpAddr, username: &str) -> Result<(), OAuthError> {
        self.per_ip(Limit::PasswordIp, ip)
            .await
            .map_err(Refusal::oauth)?;
        let user = self.keys.limit_subject(&username.trim().to_lowercase());
        let spec = Limit::PasswordUsername.configured(&self.cfg);
        self.take(Limit::PasswordUsername, &user, spec, Duration::ZERO)
            .await
            .map_err(Refusal::oauth)
    }

    /// Takes one request of `subject` under `limit`: from this broker's slice when `hold`
    /// allows leases and it has one ([`lease`]), else from the store.
    async fn take(
        &self,
        limit: Limit,
        subject: &str,
        spec: RateLimit,
        hold: Duration,
    ) -> Result<(), Refusal> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let name = limit.name();
        if let Err(wait) = self.local.check(name, spec, subject) {
            self.metrics.rate_limited(name);
            return Err(Refusal::local(name, spec, wait));
        }
        let g = gcra(spec);
        let most = lease::plan(g, hold);
        let (ask, admitted, at) = match most.cells > 1 {
            true => self.take_slice(name, subject, most).await,
            false => (Some(Lease::ONE), false, Instant::now()),
        };
        if admitted {
            self.metrics.lease_spent(name);
        }
        let Some(ask) = ask else {
            return Ok(());
        };
        let key = LimitKey {
            limiter: name,
            subject,
        };
        let verdict = self.store.rate_lease(&key, g, ask).await;
        if most.cells > 1 {
            let granted = verdict.as_ref().map_or(0, |v| v.granted);
            let hold = Duration::from_micros(most.hold_us);
            let slices = &self.slices;
            slices.settle(name, subject, ask, granted, admitted, at, hold);
            if ask.cells > 1 {
                self.metrics.lease(name, ask.cells, granted);
                // The first cell of a lease asked without one in hand is the asker's own.
                if !admitted && granted > 0 {
                    self.metrics.lease_spent(name);
                }
            }
        }
        match verdict {
            Ok(v) if v.allowed || admitted => Ok(()),
            Ok(v) => {
                self.metrics.rate_limited(name);
                Err(Refusal::shared(name, spec, v))
            }
            Err(e) => {
                // The in-process limiter has decided alone; the request will meet the outage.
                tracing::debug!(limiter = name, cause = %e, "rate limit store unavailable");
                self.metrics.rate_limit_unavailable(name);
                Ok(())
            }
        }
    }

    /// Takes from this broker's slice of `subject` ([`lease::Slices::take`]), waiting once for a
    /// lease being asked for: what to ask the store for, if anything, whether the request is
    /// admitted already, and when the ask is made.
    async fn take_slice(
        &self,
        name: &'static str,
        subject: &str,
        most: Lease,
    ) -> (Option<Lease>, bool, Instant) {
        let mut wait = true;
        loop {
            let at = Instant::now();
            match self.slices.take(name, subject, most, at, wait) {
                lease::Take::Admitted => return (None, true, at),
                lease::Take::AdmittedAsk(l) => return (Some(l), true, at),
                lease::Take::Ask(l) => return (Some(l), false, at),
                lease::Take::Wait(w) => w.done().await,
            }
            wait = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ip_subject(a), ip_subject(b));
        assert_eq!(ip_subject(a), "2001:db8:1:2::/64");
        assert_eq!(ip_subject("10.0.0.1".parse().unwrap()), "10.0.0.1");
    }

    /// IPv4 subjects are what `Display` writes, for every octet value in every position.
    #[test]
    fn ipv4_subjects_are_the_dotted_decimal_address() {
        for n in 0..=255u8 {
            for octets in [[n, 0, 0, 0], [1, n, 2, 3], [10, 0, n, 255], [255, 9, 99, n]] {
                let ip = std::net::Ipv4Addr::from(octets);
                assert_eq!(ip_subject(IpAddr::V4(ip)), ip.to_string());
            }
        }
    }

    #[test]
    fn the_longest_subjects_fit_their_reservation() {
        let v6 = ip_subject("ffff:ffff:ffff:ffff:ffff::1".parse().unwrap());
        assert_eq!(v6, "ffff:ffff:ffff:ffff::/64");
        assert_eq!(v6.len(), IP_SUBJECT_MAX);
        let v4 = ip_subject("255.255.255.255".parse().unwrap());
        assert_eq!(v4, "255.255.255.255");
        assert!(v4.capacity() >= IP_SUBJECT_MAX);
    }
}

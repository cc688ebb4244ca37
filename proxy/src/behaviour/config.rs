//! The behaviour rules' configuration (`[abuse.client_rate]`, `[abuse.client_errors]`,
//! `[abuse.ip_unauthorized]`, `[abuse.ip_tokens]`, and the shared `[abuse.signals]`): every
//! rule is `action = "off"` by default, so none adds work to a call until an operator turns it
//! on. Checked once at start-up; an error names the key.

use serde::Deserialize;

/// What a rule does when it trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[default]
    Off,
    /// Mark the subject (metrics, the operator's listing) and let its calls through.
    Flag,
    /// Refuse the subject's calls for `ttl_secs`.
    Block,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Off => "off",
            Action::Flag => "flag",
            Action::Block => "block",
        }
    }
}

/// `[abuse.signals]`: how signals are counted and shared.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalsConfig {
    /// The counting window of every behaviour rule (fixed windows on the proxies' clocks).
    pub window_secs: u64,
    /// How often each proxy merges what it counted into Redis (and learns blocks).
    pub flush_ms: u64,
    /// Subjects (clients, addresses: each kind on its own) one proxy counts per flush interval;
    /// more are not counted until the next interval.
    pub max_subjects: usize,
    /// Finished windows the client's moving baseline remembers (its weight is 1/n).
    pub baseline_windows: u64,
}

impl Default for SignalsConfig {
    fn default() -> Self {
        SignalsConfig {
            window_secs: 60,
            flush_ms: 1000,
            max_subjects: 10_000,
            baseline_windows: 10,
        }
    }
}

/// `[abuse.client_rate]`: a client's calls in the window against its moving baseline.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateRule {
    pub action: Action,
    /// Trips above `factor` × the baseline …
    pub factor: f64,
    /// … and above `floor` calls (so a quiet client's first burst does not trip).
    pub floor: u64,
    pub ttl_secs: u64,
    /// `429` (with `Retry-After`) or `403`.
    pub status: u16,
}

impl Default for RateRule {
    fn default() -> Self {
        RateRule {
            action: Action::Off,
            factor: 5.0,
            floor: 100,
            ttl_secs: 300,
            status: 429,
        }
    }
}

/// `[abuse.client_errors]` (backend `4xx`/`5xx` per client) and `[abuse.ip_unauthorized]`
/// (`401` per address): a share of the window's calls, once there are `min_calls`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatioRule {
    pub action: Action,
    pub min_calls: u64,
    /// Trips when the share is above this (0 < max_ratio < 1).
    pub max_ratio: f64,
    pub ttl_secs: u64,
    pub status: u16,
}

impl Default for RatioRule {
    fn default() -> Self {
        RatioRule {
            action: Action::Off,
            min_calls: 20,
            max_ratio: 0.5,
            ttl_secs: 300,
            status: 429,
        }
    }
}

/// `[abuse.ip_tokens]`: distinct credentials presented from one address in the window.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensRule {
    pub action: Action,
    /// Trips above this many distinct credentials.
    pub max_distinct: u64,
    pub ttl_secs: u64,
    pub status: u16,
}

impl Default for TokensRule {
    fn default() -> Self {
        TokensRule {
            action: Action::Off,
            max_distinct: 20,
            ttl_secs: 300,
            status: 429,
        }
    }
}

/// Every behaviour rule, as `[abuse]` holds them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    pub signals: SignalsConfig,
    pub client_rate: RateRule,
    pub client_errors: RatioRule,
    pub ip_unauthorized: RatioRule,
    pub ip_tokens: TokensRule,
}

impl Rules {
    pub fn clients_on(&self) -> bool {
        self.client_rate.action != Action::Off || self.client_errors.action != Action::Off
    }

    pub fn addresses_on(&self) -> bool {
        self.ip_unauthorized.action != Action::Off || self.ip_tokens.action != Action::Off
    }

    /// Every value in range; the error names the key.
    pub fn check(&self) -> Result<(), String> {
        let s = &self.signals;
        for (key, v) in [
            ("signals.window_secs", s.window_secs),
            ("signals.flush_ms", s.flush_ms),
            ("signals.max_subjects", s.max_subjects as u64),
            ("signals.baseline_windows", s.baseline_windows),
            ("client_rate.ttl_secs", self.client_rate.ttl_secs),
            ("client_errors.ttl_secs", self.client_errors.ttl_secs),
            ("client_errors.min_calls", self.client_errors.min_calls),
            ("ip_unauthorized.ttl_secs", self.ip_unauthorized.ttl_secs),
            ("ip_unauthorized.min_calls", self.ip_unauthorized.min_calls),
            ("ip_tokens.ttl_secs", self.ip_tokens.ttl_secs),
            ("ip_tokens.max_distinct", self.ip_tokens.max_distinct),
        ] {
            if v == 0 {
                return Err(format!("abuse.{key}: must be at least 1"));
            }
        }
        if !(self.client_rate.factor.is_finite() && self.client_rate.factor >= 1.0) {
            return Err("abuse.client_rate.factor: must be a number of at least 1".into());
        }
        for (key, r) in [
            ("client_errors", self.client_errors.max_ratio),
            ("ip_unauthorized", self.ip_unauthorized.max_ratio),
        ] {
            if !(r > 0.0 && r < 1.0) {
                return Err(format!("abuse.{key}.max_ratio: must be between 0 and 1"));
            }
        }
        for (key, st) in [
            ("client_rate", self.client_rate.status),
            ("client_errors", self.client_errors.status),
            ("ip_unauthorized", self.ip_unauthorized.status),
            ("ip_tokens", self.ip_tokens.status),
        ] {
            if !matches!(st, 429 | 403) {
                return Err(format!("abuse.{key}.status: must be 429 or 403"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let ok = Rules::default();
        assert_eq!(ok.check(), Ok(()));
        let mut r = ok;
        r.signals.flush_ms = 0;
        assert_eq!(
            r.check().unwrap_err(),
            "abuse.signals.flush_ms: must be at least 1"
        );
        let mut r = ok;
        r.client_rate.factor = f64::NAN;
        assert!(r
            .check()
            .unwrap_err()
            .starts_with("abuse.client_rate.factor"));
        let mut r = ok;
        r.ip_unauthorized.max_ratio = 1.0;
        assert!(r
            .check()
            .unwrap_err()
            .starts_with("abuse.ip_unauthorized.max_ratio"));
        let mut r = ok;
        r.ip_tokens.status = 500;
        assert_eq!(
            r.check().unwrap_err(),
            "abuse.ip_tokens.status: must be 429 or 403"
        );
        assert!(
            !ok.clients_on() && !ok.addresses_on(),
            "every rule is off by default"
        );
    }
}

//! `[abuse]` of the broker: credential stuffing on the password grant (RFC 6749 §4.3), off by
//! default. Failed attempts are counted per client address (failures, and distinct usernames
//! tried) and per username across addresses, in a fixed window shared through Redis; past a
//! threshold the address is flagged or blocked for `ttl_secs`, the username only ever flagged.

use serde::Deserialize;
use tessera_shared::config::{in_range, ConfigError};

/// What the password rule does when it trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AbuseAction {
    #[default]
    Off,
    /// Marked for the TTL (the operator's listing), attempts go on.
    Flag,
    /// Attempts refused for the TTL, before the upstream is asked.
    Block,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbuseConfig {
    pub password_action: AbuseAction,
    /// The counting window (fixed, on the brokers' clocks).
    pub window_secs: u64,
    /// Failed attempts one address may make in a window.
    pub max_failures_per_ip: u64,
    /// Distinct usernames one address may fail with in a window.
    pub max_usernames_per_ip: u64,
    /// Failed attempts on one username, from any address, in a window.
    pub max_failures_per_username: u64,
    pub ttl_secs: u64,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig {
            password_action: AbuseAction::Off,
            window_secs: 600,
            max_failures_per_ip: 20,
            max_usernames_per_ip: 5,
            max_failures_per_username: 10,
            ttl_secs: 900,
        }
    }
}

impl AbuseConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        const DAY: u64 = 86_400;
        in_range("abuse.window_secs", self.window_secs, 1, DAY)?;
        in_range(
            "abuse.max_failures_per_ip",
            self.max_failures_per_ip,
            1,
            1 << 32,
        )?;
        in_range(
            "abuse.max_usernames_per_ip",
            self.max_usernames_per_ip,
            1,
            1 << 32,
        )?;
        in_range(
            "abuse.max_failures_per_username",
            self.max_failures_per_username,
            1,
            1 << 32,
        )?;
        in_range("abuse.ttl_secs", self.ttl_secs, 1, 30 * DAY)
    }
}

//! RFC 8628 device authorizations in flight: what a device polls for while its user logs in
//! on another screen. Each lives under the keyed hash of its device code (the record, its
//! status, the polling interval and the time of the last poll), and its user code points at
//! it by the user code's own keyed hash. Both expire with the device code (§3.2
//! `expires_in`).
//!
//! A device authorization moves one way: `pending` → `authenticated` (the user logged in
//! upstream, in one browser) → `approved` or `denied` (the user's decision in that browser) →
//! `consumed` (the device got its tokens, once). Each move is atomic on one key
//! (`redis/scripts/device_step.lua`, `device_poll.lua`), so two browsers cannot both log in
//! for one code and two polls cannot both get tokens.

use async_trait::async_trait;

use crate::error::StoreError;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user to enter the code and log in.
    Pending,
    /// The user logged in; waiting for their decision.
    Authenticated,
    Approved,
    Denied,
    /// Approved, and the device has its tokens.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Authenticated => "authenticated",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeviceStatus::Pending,
            DeviceStatus::Authenticated,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Consumed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A device authorization as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// What the device asked for (JSON).
    pub record: String,
    pub status: DeviceStatus,
    /// Who logged in (JSON), from `authenticated` on.
    pub identity: Option<String>,
    /// The keyed hash of the login cookie of the browser that logged in, from `authenticated`
    /// on: only that browser may decide.
    pub browser_hash: Option<String>,
}

/// The answer to one poll of the token endpoint (RFC 8628 §3.4, §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    /// Unknown or expired.
    Gone,
    /// Polled sooner than the interval allows: the interval is now 5 s longer (§3.5), and
    /// this is it, in seconds.
    SlowDown(u64),
    /// Not decided yet.
    Pending,
    /// The device code was issued to another client (nothing changed).
    OtherClient,
    Denied,
    /// Approved, and consumed by this very poll: the record and the identity.
    Approved {
        record: String,
        identity: String,
    },
    /// Approved and consumed by an earlier poll.
    Consumed,
}

/// Device authorizations.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Stores a new, pending device authorization of `client_id`: `record` under
    /// `device_hash`, polled at most every `interval_secs`, and `user_hash` pointing at it —
    /// unless that user code is taken, which stores nothing and answers `false`. Both expire
    /// after `ttl_secs`.
    async fn device_put(
        &self,
        device_hash: &str,
        user_hash: &str,
        client_id: &str,
        record: &str,
        interval_secs: u64,
        ttl_secs: u64,
    ) -> Result<bool, StoreError>;
    /// The device authorization the user code of `user_hash` names: its device code's hash,
    /// and where it stands.
    async fn device_by_user_code(
        &self,
        user_hash: &str,
    ) -> Result<Option<(String, DeviceState)>, StoreError>;
    /// `pending` → `authenticated` with `identity` and the browser's `browser_hash`; `false`
    /// (nothing changed) when it was not pending or is gone.
    async fn device_authenticate(
        &self,
        device_hash: &str,
        identity: &str,
        browser_hash: &str,
    ) -> Result<bool, StoreError>;
    /// `authenticated` → `approved` (or `denied`), and the user code `user_hash` is
    /// forgotten; `false` (nothing changed) when it was not authenticated or is gone.
    async fn device_decide(
        &self,
        device_hash: &str,
        user_hash: &str,
        approve: bool,
    ) -> Result<bool, StoreError>;
    /// One poll by the device, as `client_id` (`redis/scripts/device_poll.lua`), on the
    /// store's clock: another client's code is [`DevicePoll::OtherClient`]; sooner than the
    /// interval (less `slack_ms`) since the last poll is [`DevicePoll::SlowDown`]; otherwise
    /// where it stands, and an approved authorization is consumed.
    async fn device_poll(
        &self,
        device_hash: &str,
        client_id: &str,
        slack_ms: u64,
    ) -> Result<DevicePoll, StoreError>;
}

//! In-memory RFC 8628 device authorizations: the same steps as `device_step.lua` and
//! `device_poll.lua`, under the store's lock.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::StoreError;
use crate::store::{DevicePoll, DeviceState, DeviceStatus, DeviceStore};

/// A device authorization in memory (`device_step.lua`'s fields).
#[derive(Debug)]
pub(super) struct Device {
    client_id: String,
    state: DeviceState,
    interval_secs: u64,
    /// The last poll, in ms of the store's clock (0: none yet).
    last_poll_ms: u64,
}

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn device_put(
        &self,
        device_hash: &str,
        user_hash: &str,
        client_id: &str,
        record: &str,
        interval_secs: u64,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        g.writes += 1;
        if g.writes % super::SWEEP_EVERY == 0 {
            let now = std::time::Instant::now();
            g.devices.sweep(now);
            g.device_codes.sweep(now);
        }
        if g.device_codes.get_mut(user_hash).is_some() {
            return Ok(false);
        }
        g.device_codes
            .insert(user_hash, device_hash.to_string(), ttl_secs);
        let device = Device {
            client_id: client_id.to_string(),
            state: DeviceState {
                record: record.to_string(),
                status: DeviceStatus::Pending,
                identity: None,
                browser_hash: None,
            },
            interval_secs,
            last_poll_ms: 0,
        };
        g.devices.insert(device_hash, device, ttl_secs);
        Ok(true)
    }

    async fn device_by_user_code(
        &self,
        user_hash: &str,
    ) -> Result<Option<(String, DeviceState)>, StoreError> {
        let mut g = self.lock()?;
        let Some(device) = g.device_codes.get_mut(user_hash).cloned() else {
            return Ok(None);
        };
        let state = g.devices.get_mut(&device).map(|d| d.state.clone());
        Ok(state.map(|s| (device, s)))
    }

    async fn device_authenticate(
        &self,
        device_hash: &str,
        identity: &str,
        browser_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.devices.get_mut(device_hash) {
            Some(d) if d.state.status == DeviceStatus::Pending => {
                d.state.status = DeviceStatus::Authenticated;
                d.state.identity = Some(identity.to_string());
                d.state.browser_hash = Some(browser_hash.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn device_decide(
        &self,
        device_hash: &str,
        user_hash: &str,
        approve: bool,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.devices.get_mut(device_hash) {
            Some(d) if d.state.status == DeviceStatus::Authenticated => {
                d.state.status = if approve {
                    DeviceStatus::Approved
                } else {
                    DeviceStatus::Denied
                };
                g.device_codes.take(user_hash);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn device_poll(
        &self,
        device_hash: &str,
        client_id: &str,
        slack_ms: u64,
    ) -> Result<DevicePoll, StoreError> {
        let now = self.created.elapsed().as_millis() as u64 + 1;
        let mut g = self.lock()?;
        let Some(d) = g.devices.get_mut(device_hash) else {
            return Ok(DevicePoll::Gone);
        };
        if d.client_id != client_id {
            return Ok(DevicePoll::OtherClient);
        }
        let last = std::mem::replace(&mut d.last_poll_ms, now);
        if last > 0 && now - last < (d.interval_secs * 1000).saturating_sub(slack_ms) {
            d.interval_secs += 5;
            return Ok(DevicePoll::SlowDown(d.interval_secs));
        }
        Ok(match d.state.status {
            DeviceStatus::Approved => {
                d.state.status = DeviceStatus::Consumed;
                DevicePoll::Approved {
                    record: d.state.record.clone(),
                    identity: d.state.identity.clone().unwrap_or_default(),
                }
            }
            DeviceStatus::Denied => DevicePoll::Denied,
            DeviceStatus::Consumed => DevicePoll::Consumed,
            DeviceStatus::Pending | DeviceStatus::Authenticated => DevicePoll::Pending,
        })
    }
}

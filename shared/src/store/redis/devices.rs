//! RFC 8628 device authorizations in Redis: a hash per device code (`device_step.lua`,
//! `device_poll.lua`) and a string per user code. The two keys live in different slots and are
//! never written by one script: the user code is claimed first (`SET NX`), so a code is never
//! handed to two devices, and a user code whose device record is missing leads nowhere.

use async_trait::async_trait;
use redis::AsyncCommands;

use super::call::Call;
use super::RedisStore;
use crate::error::StoreError;
use crate::store::{DevicePoll, DeviceState, DeviceStatus, DeviceStore};

#[async_trait]
impl DeviceStore for RedisStore {
    async fn device_put(
        &self,
        device_hash: &str,
        user_hash: &str,
        client_id: &str,
        record: &str,
        interval_secs: u64,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let ttl = ttl_secs.max(1);
        let claimed: Option<String> = redis::cmd("SET")
            .arg(self.keys.device_user_code(user_hash))
            .arg(device_hash)
            .arg("NX")
            .arg("EX")
            .arg(ttl)
            .query_async(&mut c)
            .await?;
        if claimed.is_none() {
            return Ok(false);
        }
        let key = self.keys.device(device_hash);
        let mut record_cmds = redis::pipe();
        record_cmds
            .hset_multiple(
                &key,
                &[
                    ("rec", record),
                    ("cid", client_id),
                    ("st", DeviceStatus::Pending.as_str()),
                    ("iv", &interval_secs.to_string()),
                ],
            )
            .ignore()
            .expire(&key, ttl as i64)
            .ignore();
        self.write(&record_cmds, false).await?;
        Ok(true)
    }

    async fn device_by_user_code(
        &self,
        user_hash: &str,
    ) -> Result<Option<(String, DeviceState)>, StoreError> {
        let mut c = self.conn.clone();
        let device: Option<String> = c.get(self.keys.device_user_code(user_hash)).await?;
        let Some(device) = device else {
            return Ok(None);
        };
        let (rec, st, ident, bh): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = redis::cmd("HMGET")
            .arg(self.keys.device(&device))
            .arg(&["rec", "st", "ident", "bh"])
            .query_async(&mut c)
            .await?;
        let (Some(record), Some(status)) = (rec, st.as_deref().and_then(DeviceStatus::parse))
        else {
            return Ok(None);
        };
        let state = DeviceState {
            record,
            status,
            identity: ident,
            browser_hash: bh,
        };
        Ok(Some((device, state)))
    }

    async fn device_authenticate(
        &self,
        device_hash: &str,
        identity: &str,
        browser_hash: &str,
    ) -> Result<bool, StoreError> {
        let call = self
            .step(
                device_hash,
                DeviceStatus::Pending,
                DeviceStatus::Authenticated,
            )
            .arg(identity)
            .arg(browser_hash);
        let moved: i64 = self.run(call, false).await?;
        Ok(moved == 1)
    }

    async fn device_decide(
        &self,
        device_hash: &str,
        user_hash: &str,
        approve: bool,
    ) -> Result<bool, StoreError> {
        let to = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let call = self
            .step(device_hash, DeviceStatus::Authenticated, to)
            .arg("")
            .arg("");
        let moved: i64 = self.run(call, false).await?;
        if moved == 1 {
            let mut c = self.conn.clone();
            let _: () = c.del(self.keys.device_user_code(user_hash)).await?;
        }
        Ok(moved == 1)
    }

    async fn device_poll(
        &self,
        device_hash: &str,
        client_id: &str,
        slack_ms: u64,
    ) -> Result<DevicePoll, StoreError> {
        let call = Call::new(&self.device_poll)
            .key(self.keys.device(device_hash))
            .arg(slack_ms)
            .arg(client_id);
        let out: Vec<String> = self.run(call, false).await?;
        let mut out = out.into_iter();
        Ok(match (out.next().as_deref(), out.next(), out.next()) {
            (Some("slow_down"), Some(iv), _) => DevicePoll::SlowDown(iv.parse().unwrap_or(10)),
            (Some("pending"), _, _) => DevicePoll::Pending,
            (Some("other_client"), _, _) => DevicePoll::OtherClient,
            (Some("denied"), _, _) => DevicePoll::Denied,
            (Some("consumed"), _, _) => DevicePoll::Consumed,
            (Some("approved"), Some(record), Some(identity)) => {
                DevicePoll::Approved { record, identity }
            }
            _ => DevicePoll::Gone,
        })
    }
}

impl RedisStore {
    /// `device_step.lua` from `from` to `to` on the device authorization of `device_hash`; the
    /// caller adds the identity and browser hash arguments.
    fn step(&self, device_hash: &str, from: DeviceStatus, to: DeviceStatus) -> Call<'_> {
        Call::new(&self.device_step)
            .key(self.keys.device(device_hash))
            .arg(from.as_str())
            .arg(to.as_str())
    }
}

//! The Redis store: one multiplexed connection per process, managed so that it reconnects by
//! itself, with connection and response timeouts so that an outage turns into a quick
//! [`StoreError::Unavailable`] instead of a hung request.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

mod limits;

use super::keys::KeySpace;
use super::subscription;
use super::{
    Backoff, CatalogTx, CodeClaim, FamilyState, Gcra, LimitKey, Memory, QuotaKey, RateVerdict,
    Revocation, RevocationStream, RotateRequest, Rotation, Store, Table,
};
use crate::config::StoreConfig;
use crate::error::{StoreError, OUT_OF_MEMORY};
use crate::token::TokenKind;

/// How long a revocation of a family not created yet is remembered (longer than a code lives).
const TOMBSTONE_SECS: u64 = 300;

/// Most analytics entries one XRANGE returns (about 1.7 MB); longer reads take several.
const ANALYTICS_PAGE: usize = 5_000;

pub struct RedisStore {
    /// Kept to open the dedicated pub/sub connections of [`Store::revocations`].
    client: redis::Client,
    conn: ConnectionManager,
    connect_timeout: Duration,
    /// The deadline of the subscription's pings too.
    command_timeout: Duration,
    keys: KeySpace,
    catalog_commit: Script,
    app_for_client: Script,
    code_claim: Script,
    refresh_rotate: Script,
    family_revoke: Script,
    quota: Script,
    gcra: Script,
    backoff: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold an ACL password: never print it.
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .finish()
    }
}

impl RedisStore {
    pub fn open(cfg: &StoreConfig) -> Result<Self, StoreError> {
        let info = redis::IntoConnectionInfo::into_connection_info(cfg.url.as_str())?
            .set_tcp_settings(subscription::tcp_settings());
        let client = redis::Client::open(info)?;
        let timeout = Duration::from_millis(cfg.command_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(cfg.connect_timeout_ms)))
            .set_response_timeout(Some(timeout))
            // Reconnection is retried in the background; requests made meanwhile fail fast.
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(RedisStore {
            client,
            conn,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            command_timeout: timeout,
            keys: KeySpace::new(&cfg.prefix),
            catalog_commit: Script::new(include_str!("../../../redis/scripts/catalog_commit.lua")),
            app_for_client: Script::new(include_str!("../../../redis/scripts/app_for_client.lua")),
            code_claim: Script::new(include_str!("../../../redis/scripts/code_claim.lua")),
            refresh_rotate: Script::new(include_str!("../../../redis/scripts/refresh_rotate.lua")),
            family_revoke: Script::new(include_str!("../../../redis/scripts/family_revoke.lua")),
            quota: Script::new(include_str!("../../../redis/scripts/quota.lua")),
            gcra: Script::new(include_str!("../../../redis/scripts/gcra.lua")),
            backoff: Script::new(include_str!("../../../redis/scripts/backoff.lua")),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    async fn revocations(&self) -> Result<RevocationStream, StoreError> {
        let connect = self.client.get_async_pubsub();
        let mut pubsub = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| StoreError::Unavailable("pub/sub connection timed out".into()))??;
        pubsub.subscribe(self.keys.revocation_channel()).await?;
        // The stream ends when the connection drops or stops answering pings, which is what
        // tells the subscriber to flush.
        Ok(subscription::watch(pubsub, self.command_timeout))
    }

    async fn quota_take(&self, key: &QuotaKey<'_>, limit: u64) -> Result<(u64, bool), StoreError> {
        let mut c = self.conn.clone();
        let ttl = (key.window_end - crate::time::now()).max(1) + 60;
        let (count, allowed): (u64, u8) = self
            .quota
            .key(self.keys.quota(key.subject, key.period, key.window_start))
            .arg(limit)
            .arg(ttl)
            .invoke_async(&mut c)
            .await?;
        Ok((count, allowed == 1))
    }

    async fn rate_take(&self, key: &LimitKey<'_>, gcra: Gcra) -> Result<RateVerdict, StoreError> {
        self.gcra_take(key, gcra).await
    }

    async fn backoff(
        &self,
        key: &LimitKey<'_>,
        policy: Backoff,
        fail: bool,
    ) -> Result<u64, StoreError> {
        self.backoff_step(key, policy, fail).await
    }

    async fn catalog_get(&self, table: Table, field: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.hget(self.keys.table(table), field).await?)
    }

    async fn catalog_values(&self, table: Table) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.hvals(self.keys.table(table)).await?)
    }

    async fn catalog_commit(&self, tx: &CatalogTx) -> Result<Option<usize>, StoreError> {
        let mut c = self.conn.clone();
        let mut inv = self.catalog_commit.prepare_invoke();
        for t in Table::ALL {
            inv.key(self.keys.table(t));
        }
        inv.arg(serde_json::to_string(tx)?);
        inv.arg(self.keys.revocation_channel());
        for app in tx.touched_apps() {
            inv.arg(Revocation::App(app.to_string()).encode());
        }
        let failed: usize = inv.invoke_async(&mut c).await?;
        Ok(failed.checked_sub(1))
    }

    async fn app_for_client(&self, client_id: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(self
            .app_for_client
            .key(self.keys.table(Table::Clients))
            .key(self.keys.table(Table::Apps))
            .arg(client_id)
            .invoke_async(&mut c)
            .await?)
    }

    async fn token_put(
        &self,
        kind: TokenKind,
        hash: &str,
        record: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(self.keys.token(kind, hash), record, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    async fn token_get(&self, kind: TokenKind, hash: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.get(self.keys.token(kind, hash)).await?)
    }

    async fn token_delete(&self, kind: TokenKind, hash: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let mut p = redis::pipe();
        p.atomic().del(self.keys.token(kind, hash)).ignore();
        if kind == TokenKind::AccessToken {
            let announce = Revocation::Token(hash.to_string()).encode();
            p.publish(self.keys.revocation_channel(), announce).ignore();
        }
        let _: () = p.query_async(&mut c).await?;
        Ok(())
    }

    async fn login_put(&self, state: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: () = c
            .set_ex(self.keys.login(state), record, ttl_secs.max(1))
            .await?;
        Ok(())
    }

    async fn login_take(&self, state: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.get_del(self.keys.login(state)).await?)
    }

    async fn code_put(&self, hash: &str, record: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let key = self.keys.token(TokenKind::AuthorizationCode, hash);
        let _: () = redis::pipe()
            .atomic()
            .hset(&key, "rec", record)
            .ignore()
            .expire(&key, ttl_secs.max(1) as i64)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn code_get(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(
            c.hget(self.keys.token(TokenKind::AuthorizationCode, hash), "rec")
                .await?,
        )
    }

    async fn code_claim(&self, hash: &str, family: &str) -> Result<CodeClaim, StoreError> {
        let mut c = self.conn.clone();
        let out: String = self
            .code_claim
            .key(self.keys.token(TokenKind::AuthorizationCode, hash))
            .arg(family)
            .invoke_async(&mut c)
            .await?;
        Ok(match out.as_str() {
            "won" => CodeClaim::Won,
            "gone" => CodeClaim::Gone,
            other => CodeClaim::Replayed(other.trim_start_matches("used:").to_string()),
        })
    }

    async fn family_put(
        &self,
        id: &str,
        record: &str,
        live_refresh: Option<&str>,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let key = self.keys.family(id);
        let mut p = redis::pipe();
        p.atomic().hset(&key, "rec", record).ignore();
        if let Some(h) = live_refresh {
            p.hset(&key, "cur", h).ignore();
        }
        p.expire(&key, ttl_secs.max(1) as i64).ignore();
        let _: () = p.query_async(&mut c).await?;
        Ok(())
    }

    async fn family_get(&self, id: &str) -> Result<Option<FamilyState>, StoreError> {
        let mut c = self.conn.clone();
        let (rec, cur, revoked): (Option<String>, Option<String>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.keys.family(id))
                .arg(&["rec", "cur", "revoked"])
                .query_async(&mut c)
                .await?;
        Ok(rec.map(|record| FamilyState {
            record,
            live_refresh: cur,
            revoked: revoked.is_some(),
        }))
    }

    async fn family_rotate(&self, id: &str, r: &RotateRequest<'_>) -> Result<Rotation, StoreError> {
        let mut c = self.conn.clone();
        let out: Vec<String> = self
            .refresh_rotate
            .key(self.keys.family(id))
            .key(self.keys.family_grace(id))
            .arg(r.presented)
            .arg(r.next)
            .arg(self.keys.revocation_channel())
            .arg(Revocation::Family(id.to_string()).encode())
            .arg(r.client_id)
            .arg(r.grace_ms)
            .arg(r.sealed)
            .invoke_async(&mut c)
            .await?;
        let mut out = out.into_iter();
        Ok(match (out.next().as_deref(), out.next(), out.next()) {
            (Some("ok"), rec, _) => Rotation::Rotated(rec.unwrap_or_default()),
            (Some("replay"), Some(record), Some(sealed)) => Rotation::Replayed { record, sealed },
            (Some("reused"), _, _) => Rotation::Reused,
            (Some("revoked"), _, _) => Rotation::Revoked,
            _ => Rotation::Gone,
        })
    }

    async fn family_revoke(&self, id: &str) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let _: i64 = self
            .family_revoke
            .key(self.keys.family(id))
            .arg(TOMBSTONE_SECS)
            .arg(self.keys.revocation_channel())
            .arg(Revocation::Family(id.to_string()).encode())
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    async fn user_family_add(
        &self,
        app_id: &str,
        sub: &str,
        family: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.conn.clone();
        let key = self.keys.user_families(app_id, sub);
        let _: () = redis::pipe()
            .atomic()
            .sadd(&key, family)
            .ignore()
            .expire(&key, ttl_secs.max(1) as i64)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn user_families(&self, app_id: &str, sub: &str) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.clone();
        Ok(c.smembers(self.keys.user_families(app_id, sub)).await?)
    }

    async fn mark_used(&self, hash: &str, ttl_secs: u64) -> Result<bool, StoreError> {
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.keys.used(hash))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    async fn analytics_append(&self, events: &[String], max_len: usize) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let key = self.keys.analytics();
        let mut p = redis::pipe();
        for e in events {
            // `*`: Redis stamps the entry with its own clock (ms), increasing within the stream.
            p.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(max_len.max(1))
                .arg("*")
                .arg("e")
                .arg(e)
                .ignore();
        }
        p.query_async::<()>(&mut c).await.map_err(|e| {
            // In a pipeline the server's error codes are inside the pipeline error.
            let oom = e.code() == Some("OOM")
                || e.clone()
                    .into_server_errors()
                    .is_some_and(|errs| errs.iter().any(|(_, s)| s.code() == "OOM"));
            match oom {
                true => StoreError::Unavailable(format!("{OUT_OF_MEMORY}: {e}")),
                false => e.into(),
            }
        })
    }

    async fn memory(&self) -> Result<Option<Memory>, StoreError> {
        let mut c = self.conn.clone();
        let info: String = redis::cmd("INFO").arg("memory").query_async(&mut c).await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Ok(match (field("used_memory"), field("maxmemory")) {
            (Some(used), Some(max)) => Some(Memory { used, max }),
            _ => None,
        })
    }

    async fn analytics_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        if limit == 0 || to_ms < 0 || from_ms > to_ms {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        let key = self.keys.analytics();
        let mut out = Vec::new();
        // A bare ms time as XRANGE bound means `<ms>-0` as start and `<ms>-<max>` as end: both
        // ends inclusive, whole milliseconds. Read in pages, each its own command: one huge
        // XRANGE would stall Redis for everyone and outlast the response timeout.
        let mut start = from_ms.max(0).to_string();
        while out.len() < limit {
            let want = (limit - out.len()).min(ANALYTICS_PAGE);
            let page: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
                .arg(&key)
                .arg(&start)
                .arg(to_ms)
                .arg("COUNT")
                .arg(want)
                .query_async(&mut c)
                .await?;
            let (n, next) = (page.len(), page.last().and_then(|(id, _)| next_id(id)));
            out.extend(page.into_iter().filter_map(|(_, fields)| field_e(fields)));
            match next {
                Some(id) if n == want => start = id,
                _ => break,
            }
        }
        Ok(out)
    }
}

/// The stream id just after `id` (`<ms>-<seq>`), where the next page starts.
fn next_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-')?;
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    Some(match seq.checked_add(1) {
        Some(seq) => format!("{ms}-{seq}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}

/// The value of field `e` of a stream entry (`[field, value, ...]`).
fn field_e(fields: Vec<String>) -> Option<String> {
    let mut kv = fields.into_iter();
    while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
        if k == "e" {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::next_id;

    #[test]
    fn pages_continue_just_after_the_last_id() {
        assert_eq!(
            next_id("1700000000000-4").as_deref(),
            Some("1700000000000-5")
        );
        assert_eq!(next_id(&format!("7-{}", u64::MAX)).as_deref(), Some("8-0"));
        assert_eq!(next_id("garbage"), None);
    }
}

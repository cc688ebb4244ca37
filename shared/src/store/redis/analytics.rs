//! The analytics stream in Redis: one capped stream (`XADD MAXLEN ~`, pipelined), read by
//! `XRANGE` pages; and `INFO memory` (of every master, on a cluster).

use async_trait::async_trait;

use super::{RedisStore, ANALYTICS_PAGE};
use crate::error::{StoreError, OUT_OF_MEMORY};
use crate::store::{AnalyticsStore, Memory};

#[async_trait]
impl AnalyticsStore for RedisStore {
    async fn memory(&self) -> Result<Option<Memory>, StoreError> {
        let mut c = self.conn.clone();
        let infos = c.info_of_masters("memory").await?;
        // On a cluster, the fullest master is the one that refuses writes first.
        Ok(infos
            .iter()
            .filter_map(|info| memory_of(info))
            .max_by(|a, b| fullness(a).total_cmp(&fullness(b))))
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

/// `used_memory` and `maxmemory` of an `INFO memory` answer.
fn memory_of(info: &str) -> Option<Memory> {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(Memory {
        used: field("used_memory")?,
        max: field("maxmemory")?,
    })
}

/// How full a node is; one without a limit (`maxmemory 0`) never is.
fn fullness(m: &Memory) -> f64 {
    match m.max {
        0 => 0.0,
        max => m.used as f64 / max as f64,
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

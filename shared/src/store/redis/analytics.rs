//! The analytics streams in Redis: [`ANALYTICS_STREAMS_MAX`] shards, each its own key in its
//! own slot, capped (`XADD MAXLEN ~`); one entry holds a whole batch (fields `n`, its number of
//! events, and `b`, its events one JSON a line), so a batch costs one `XADD`. Read by `XRANGE`
//! pages of every shard (and of the stream written before sharding, one event an entry),
//! merged by stream id. And `INFO memory` (of every master, on a cluster).

use async_trait::async_trait;

use super::{RedisStore, ANALYTICS_PAGE};
use crate::analytics::Packed;
use crate::error::{StoreError, OUT_OF_MEMORY};
use crate::store::{AnalyticsStore, Memory, ANALYTICS_STREAMS_MAX};

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

    async fn analytics_append_packed(
        &self,
        shard: usize,
        events: &Packed,
        max_entries: usize,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        // `*`: Redis stamps the entry with its own clock (ms), increasing within the stream.
        redis::cmd("XADD")
            .arg(self.keys.analytics_shard(shard % ANALYTICS_STREAMS_MAX))
            .arg("MAXLEN")
            .arg("~")
            .arg(max_entries.max(1))
            .arg("*")
            .arg("n")
            .arg(events.len())
            .arg("b")
            .arg(events.as_str())
            .query_async::<()>(&mut c)
            .await
            .map_err(|e| match e.code() == Some("OOM") {
                true => StoreError::Unavailable(format!("{OUT_OF_MEMORY}: {e}")),
                false => e.into(),
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
        let keys = std::iter::once(self.keys.analytics())
            .chain((0..ANALYTICS_STREAMS_MAX).map(|i| self.keys.analytics_shard(i)));
        // Each shard's first `limit` events hold every one of the first `limit` of all shards,
        // so reading each shard up to `limit` and merging by stream id loses nothing.
        let mut entries = Vec::new();
        for (i, key) in keys.enumerate() {
            for (id, events) in read_shard(&mut c, &key, from_ms.max(0), to_ms, limit).await? {
                entries.push((id, i, events));
            }
        }
        entries.sort_by_key(|(id, i, _)| (*id, *i));
        Ok(entries
            .into_iter()
            .flat_map(|(_, _, events)| events)
            .take(limit)
            .collect())
    }
}

/// Entries of a shard's first page, before the events an entry holds are known.
const FIRST_PAGE: usize = 16;

/// One entry of a shard: its id (`<ms>-<seq>`, as numbers) and the events it holds.
type Entry = ((u64, u64), Vec<String>);

/// The entries of `key` written within [from_ms, to_ms], oldest first, until they hold at least
/// `limit` events. A bare ms time as XRANGE bound means `<ms>-0` as start and `<ms>-<max>` as
/// end: both ends inclusive, whole milliseconds. Read in pages, each its own command: one huge
/// XRANGE would stall Redis for everyone and outlast the response timeout.
async fn read_shard(
    c: &mut super::conn::Conn,
    key: &str,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    let (mut out, mut events) = (Vec::new(), 0usize);
    let mut start = from_ms.to_string();
    while events < limit {
        // Pages of about ANALYTICS_PAGE events, whatever an entry holds (one event in the
        // stream written before packing, a whole batch since): a first small page tells.
        let want = match out.len() {
            0 => FIRST_PAGE,
            n => ANALYTICS_PAGE / events.div_ceil(n).max(1),
        };
        let want = want.min(limit - events).clamp(1, ANALYTICS_PAGE);
        let page: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(key)
            .arg(&start)
            .arg(to_ms)
            .arg("COUNT")
            .arg(want)
            .query_async(c)
            .await?;
        let n = page.len();
        let mut next = None;
        for (id, fields) in page {
            let Some(parsed) = parse_id(&id) else {
                continue;
            };
            next = next_id(parsed);
            let unpacked = unpack(fields);
            events += unpacked.len();
            out.push((parsed, unpacked));
        }
        match next {
            Some(id) if n == want => start = id,
            _ => break,
        }
    }
    Ok(out)
}

/// The events of a stream entry (`[field, value, ...]`): the lines of field `b` (a packed
/// batch), or field `e` (one event, in the stream written before packing).
fn unpack(fields: Vec<String>) -> Vec<String> {
    let mut kv = fields.into_iter();
    while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
        match k.as_str() {
            "b" => return v.split('\n').map(str::to_string).collect(),
            "e" => return vec![v],
            _ => {}
        }
    }
    Vec::new()
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

/// `<ms>-<seq>` as numbers.
fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The stream id just after `(ms, seq)`, where the next page starts.
fn next_id((ms, seq): (u64, u64)) -> Option<String> {
    Some(match seq.checked_add(1) {
        Some(seq) => format!("{ms}-{seq}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}

#[cfg(test)]
mod tests {
    use super::{next_id, parse_id, unpack, Packed};

    #[test]
    fn pages_continue_just_after_the_last_id() {
        let next = |id: &str| parse_id(id).and_then(next_id);
        assert_eq!(next("1700000000000-4").as_deref(), Some("1700000000000-5"));
        assert_eq!(next(&format!("7-{}", u64::MAX)).as_deref(), Some("8-0"));
        assert_eq!(next("garbage"), None);
    }

    #[test]
    fn batches_unpack_to_their_events() {
        let events: Vec<String> = vec![r#"{"a":"x\ny"}"#.into(), "{}".into()];
        let packed = Packed::of_lines(&events).unwrap().as_str().to_string();
        assert_eq!(
            unpack(vec!["n".into(), "2".into(), "b".into(), packed]),
            events
        );
        assert_eq!(
            unpack(vec!["e".into(), "{}".into()]),
            vec!["{}".to_string()]
        );
        assert!(unpack(vec!["x".into()]).is_empty());
        assert!(
            Packed::of_lines(&["a\nb".to_string()]).is_err(),
            "a line break would split an event"
        );
    }
}

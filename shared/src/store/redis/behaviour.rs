//! The Redis store's behaviour signals: one `abuse_signals.lua` call per subject and flush
//! (state, HyperLogLog and marker share the subject's slot), one `abuse_mark.lua` call when a
//! rule trips, plus the marker index the operator lists (its own key: a `ZADD` after the
//! mark, trimmed of expired entries on every mark, so it stays as small as the live markers).

use async_trait::async_trait;

use super::call::Call;
use super::RedisStore;
use crate::error::StoreError;
use std::collections::HashMap;

use crate::store::behaviour::{BehaviourStore, Mark, Marker, MarkerEntry, Merged, SignalDelta};

/// What `abuse_signals.lua` returns.
type MergeReply = (u64, u64, u64, u64, String, String, u64);

#[async_trait]
impl BehaviourStore for RedisStore {
    async fn behaviour_merge(
        &self,
        subject: &str,
        d: &SignalDelta<'_>,
    ) -> Result<Merged, StoreError> {
        let [state, tokens, mark] = self.keys.behaviour(subject);
        let mut call = Call::new(&self.abuse_signals)
            .key(state)
            .key(tokens)
            .key(mark)
            .arg(d.window)
            .arg(d.keep_secs.max(1))
            .arg(d.window_secs.max(1))
            .arg(d.alpha_permille.min(1000))
            .arg(d.calls)
            .arg(d.errors);
        for t in d.tokens {
            call = call.arg(t.as_str());
        }
        let (calls, errors, base, distinct, rule, action, left_ms): MergeReply =
            self.run(call, false).await?;
        Ok(Merged {
            calls,
            errors,
            baseline: base as f64 / 1000.0,
            distinct,
            marker: (!rule.is_empty() && left_ms > 0).then_some(Marker {
                rule,
                action,
                left_ms,
            }),
        })
    }

    async fn behaviour_mark(&self, subject: &str, m: &Mark<'_>) -> Result<(), StoreError> {
        self.mark(subject, m, false).await.map(|_| ())
    }

    async fn behaviour_mark_once(&self, subject: &str, m: &Mark<'_>) -> Result<bool, StoreError> {
        self.mark(subject, m, true).await
    }

    async fn behaviour_markers(
        &self,
        now_ms: i64,
        max: usize,
    ) -> Result<Vec<MarkerEntry>, StoreError> {
        let mut c = self.conn.clone();
        let subjects: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.behaviour_index())
            .arg(format!("({now_ms}"))
            .arg("+inf")
            .arg("LIMIT")
            .arg(0)
            .arg(max)
            .query_async(&mut c)
            .await?;
        let mut out = Vec::with_capacity(subjects.len());
        // One key per subject, each on its own slot: one HGETALL each.
        for subject in subjects {
            let [_, _, mark] = self.keys.behaviour(&subject);
            let f: HashMap<String, String> =
                redis::cmd("HGETALL").arg(mark).query_async(&mut c).await?;
            let num = |k: &str| f.get(k).and_then(|v| v.parse::<f64>().ok());
            let (Some(rule), Some(action)) = (f.get("rule"), f.get("action")) else {
                continue; // lifted or ended since the index was read
            };
            out.push(MarkerEntry {
                rule: rule.clone(),
                action: action.clone(),
                value: num("value").unwrap_or(0.0),
                since_ms: num("since").unwrap_or(0.0) as i64,
                until_ms: num("until").unwrap_or(0.0) as i64,
                subject,
            });
        }
        Ok(out)
    }

    async fn behaviour_lift(&self, subject: &str) -> Result<bool, StoreError> {
        let [_, _, mark] = self.keys.behaviour(subject);
        let mut c = self.conn.clone();
        let gone: u64 = redis::cmd("DEL").arg(mark).query_async(&mut c).await?;
        let _: u64 = redis::cmd("ZREM")
            .arg(self.keys.behaviour_index())
            .arg(subject)
            .query_async(&mut c)
            .await?;
        Ok(gone == 1)
    }
}

impl RedisStore {
    /// Sets `subject`'s marker (`abuse_mark.lua`), a block `once` or renewing one; whether set.
    async fn mark(&self, subject: &str, m: &Mark<'_>, once: bool) -> Result<bool, StoreError> {
        let [state, tokens, mark] = self.keys.behaviour(subject);
        let call = Call::new(&self.abuse_mark)
            .key(mark)
            .key(state)
            .key(tokens)
            .arg(m.rule)
            .arg(m.action)
            .arg(m.value)
            .arg(m.ttl_secs.max(1))
            .arg(m.now_ms)
            .arg(if once { "1" } else { "0" });
        let set: u8 = self.run(call, false).await?;
        if set == 1 {
            let until = m.now_ms + (m.ttl_secs.max(1) * 1000) as i64;
            // Two single commands (the proxy's ACL has no MULTI): trim, then add.
            let index = self.keys.behaviour_index();
            let mut trim = redis::pipe();
            trim.zrembyscore(&index, "-inf", m.now_ms);
            self.write(&trim, false).await?;
            let mut add = redis::pipe();
            add.zadd(&index, subject, until);
            self.write(&add, false).await?;
        }
        Ok(set == 1)
    }
}

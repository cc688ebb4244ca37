//! The flush: every `signals.flush_ms`, the interval's tally is swapped out and each subject's
//! counts are merged into Redis (`abuse_signals.lua`, at most [`CONCURRENCY`] in flight on
//! the multiplexed connection). The answer is every proxy's totals for the window: the rules
//! decide on them ([`super::rules`]), a trip sets the subject's marker (`abuse_mark.lua`) and
//! counts in `tessera_proxy_abuse_trips_total`, and the subject's flag or block — its own or
//! another proxy's — is learnt into the local cache (blocks refuse calls, both mark the calls'
//! analytics events), or dropped when the store holds none (expired or lifted by an operator).
//!
//! An address that stayed quiet in the interval (no `401`, at most one credential: nothing an
//! address rule can trip on) is merged with nothing to add, which writes no key for a subject
//! without state and only reads its marker (finding F4: a flood of one-shot addresses would
//! otherwise write a key set per address per interval) — so a block another proxy set still
//! reaches this one. Its one call and credential are not shared: an address's calls count in
//! the rules only from an interval where it showed a signal.
//!
//! A store that cannot be reached loses that interval's counts (the rules fail open, as the
//! per-IP rule does); the blocks already learnt stay until they end.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use tessera_shared::store::behaviour::{Mark, Marker, SignalDelta};

use super::config::Action;
use super::rules::{Kind, CLIENT_ERRORS, CLIENT_RATE, IP_TOKENS, IP_UNAUTHORIZED};
use super::tally::Tally;
use super::{address_subject, client_subject, Behaviour, Block};

/// Merges in flight at once.
const CONCURRENCY: usize = 32;

/// Whom a merge is about: the key of the local cache, with the counts to merge.
enum Subject {
    Client(Box<str>),
    Address(IpAddr),
}

struct Job {
    subject: Subject,
    calls: u64,
    errors: u64,
    tokens: Vec<String>,
}

pub(super) fn spawn(b: Arc<Behaviour>) {
    let every = Duration::from_millis(b.rules.signals.flush_ms.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            b.flush().await;
        }
    });
}

impl Behaviour {
    async fn flush(&self) {
        let tally = match self.tally.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => return,
        };
        let window_secs = self.rules.signals.window_secs.max(1);
        let window = (chrono::Utc::now().timestamp().max(0) as u64) / window_secs;
        stream::iter(jobs(tally))
            .for_each_concurrent(CONCURRENCY, |job| self.merge(window, job))
            .await;
    }

    async fn merge(&self, window: u64, job: Job) {
        let (kind, subject) = match &job.subject {
            Subject::Client(id) => (Kind::Client, client_subject(id)),
            Subject::Address(ip) => (Kind::Address, address_subject(*ip)),
        };
        let s = &self.rules.signals;
        let delta = SignalDelta {
            window,
            window_secs: s.window_secs,
            keep_secs: s
                .window_secs
                .saturating_mul(s.baseline_windows.saturating_add(2)),
            alpha_permille: 1000 / s.baseline_windows.max(1),
            calls: job.calls,
            errors: job.errors,
            tokens: &job.tokens,
        };
        let merged = match self.store.behaviour_merge(&subject, &delta).await {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, "abuse signals not merged");
                return;
            }
        };
        let mut marker = merged.marker.clone();
        if let Some(trip) = self.rules.trip(kind, &merged) {
            let held = marker
                .as_ref()
                .is_some_and(|m| is_block(&m.action) || trip.action == Action::Flag);
            if !held {
                let mark = Mark {
                    rule: trip.rule,
                    action: trip.action.label(),
                    value: trip.value,
                    ttl_secs: trip.ttl_secs,
                    now_ms: chrono::Utc::now().timestamp_millis(),
                };
                match self.store.behaviour_mark_once(&subject, &mark).await {
                    Ok(set) => {
                        // Not set: another proxy's block came first (its merge and mark fell
                        // between ours); it counts the trip, and this one holds the subject
                        // all the same until its next merge reads that block.
                        if set {
                            self.trips
                                .with_label_values(&[trip.rule, trip.action.label()])
                                .inc();
                        }
                        marker = Some(Marker {
                            rule: trip.rule.into(),
                            action: mark.action.into(),
                            left_ms: trip.ttl_secs.saturating_mul(1000),
                        });
                    }
                    Err(e) => tracing::debug!(error = %e, "abuse marker not set"),
                }
            }
        }
        self.learn(job.subject, marker.as_ref());
    }

    /// Keeps the subject's flag or block in the local cache, or drops it when the store has
    /// none.
    fn learn(&self, subject: Subject, marker: Option<&Marker>) {
        let block = marker.map(|m| {
            let rule = rule_name(&m.rule);
            Block {
                until: Instant::now() + Duration::from_millis(m.left_ms),
                rule,
                status: self.rules.status(rule),
                refuse: is_block(&m.action),
            }
        });
        let Ok(mut blocks) = self.blocks.write() else {
            return;
        };
        match (subject, block) {
            (Subject::Client(id), Some(b)) => {
                blocks.clients.insert(id, b);
            }
            (Subject::Client(id), None) => {
                blocks.clients.remove(&id);
            }
            (Subject::Address(ip), Some(b)) => {
                blocks.addresses.insert(ip, b);
            }
            (Subject::Address(ip), None) => {
                blocks.addresses.remove(&ip);
            }
        }
        // Ended blocks of subjects no longer calling: dropped so the cache stays bounded.
        let now = Instant::now();
        if blocks.clients.len() + blocks.addresses.len() > self.rules.signals.max_subjects {
            blocks.clients.retain(|_, b| b.until > now);
            blocks.addresses.retain(|_, b| b.until > now);
        }
    }
}

fn jobs(tally: Tally) -> impl Iterator<Item = Job> {
    let clients = tally.clients.into_iter().map(|(id, c)| Job {
        subject: Subject::Client(id),
        calls: c.calls,
        errors: c.errors,
        tokens: Vec::new(),
    });
    let addresses = tally.addresses.into_iter().map(|(ip, a)| {
        let subject = Subject::Address(ip);
        if a.quiet() {
            // Nothing to count: the merge only reads the marker (module doc).
            return Job {
                subject,
                calls: 0,
                errors: 0,
                tokens: Vec::new(),
            };
        }
        Job {
            subject,
            calls: a.calls,
            errors: a.unauthorized,
            tokens: a.tokens.iter().map(|t| format!("{t:016x}")).collect(),
        }
    });
    clients.chain(addresses)
}

fn is_block(action: &str) -> bool {
    action == Action::Block.label()
}

/// A rule name read from the store, as one of the bounded set the metrics may carry.
fn rule_name(rule: &str) -> &'static str {
    [CLIENT_RATE, CLIENT_ERRORS, IP_UNAUTHORIZED, IP_TOKENS]
        .into_iter()
        .find(|r| *r == rule)
        .unwrap_or("other")
}

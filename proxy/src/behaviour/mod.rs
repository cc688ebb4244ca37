//! Abuse detection's behaviour rules (Apigee's bot detection, issue 14 point 5): signals
//! computed from the call stream — a client's calls against its moving baseline
//! (`client_rate`), its share of backend errors (`client_errors`), an address's share of `401`
//! (`ip_unauthorized`) and the distinct credentials it presents (`ip_tokens`) — and rules with
//! thresholds that flag or block the subject for a TTL, for every proxy on the same Redis.
//!
//! The client rules count a call carrying an end user (`sub`) against that user of the client,
//! not the whole client ([`client_key`]): one user of a multi-user app (a SPA, a mobile app)
//! sending errors or a burst with their own token gets only themselves blocked (finding F3).
//! Client-credentials tokens and API keys (no user) count against the client.
//!
//! # Cost
//! With every rule off (the default) nothing exists: the pipeline's one `Option` check is all.
//! With rules on, a call costs a lock and a map update in process ([`tally`]) and a lookup in
//! the local block cache — no store round trip. Every `signals.flush_ms` each proxy merges what
//! it counted into Redis, one script per subject seen ([`flush`]; `abuse_signals.lua`), and
//! learns each subject's marker from the answer; a rule that trips costs one more script
//! (`abuse_mark.lua`). So a block set by one proxy reaches another within one flush interval of
//! that proxy seeing the subject.
//!
//! # Layout
//! [`config`] the rules' keys; [`tally`] the in-process counts; [`rules`] the decisions;
//! [`flush`] the merge into Redis and the block cache; [`check`] the steps that refuse blocked
//! subjects (addresses before authentication, clients right after it).

pub mod check;
pub mod config;
mod flush;
pub mod rules;
mod tally;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use prometheus::IntCounterVec;
use sha2::{Digest, Sha256};
use tessera_shared::client_ip::{per_host as fold, per_host_name};
use tessera_shared::store::Store;

use self::config::{Action, Rules};
use self::tally::Tally;

/// A flag or block learnt from the store, until it ends.
#[derive(Debug, Clone, Copy)]
struct Block {
    until: Instant,
    rule: &'static str,
    status: u16,
    /// A block (refused); else a flag (recorded in analytics only).
    refuse: bool,
}

#[derive(Debug, Default)]
struct Blocks {
    clients: HashMap<Box<str>, Block>,
    addresses: HashMap<IpAddr, Block>,
}

/// A refusal owed to a blocked subject.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub rule: &'static str,
    /// 429 or 403.
    pub status: u16,
    pub left: Duration,
}

/// What the pipeline tells about a finished call.
#[derive(Debug)]
pub struct Seen<'a> {
    pub ip: Option<IpAddr>,
    pub client: Option<&'a str>,
    /// The caller's end user (`Caller.sub`), if any.
    pub sub: Option<&'a str>,
    pub status: u16,
    /// Answered by the backend (or by the proxy for a backend that failed).
    pub forwarded: bool,
    /// Refused by abuse detection: counts in no signal, only keeps the subject known.
    pub refused_by_abuse: bool,
    /// The `Authorization` header, when present.
    pub credential: Option<&'a [u8]>,
}

/// The rules, the counts of this interval, the blocks learnt, the metrics.
#[derive(Debug)]
pub struct Behaviour {
    rules: Rules,
    store: Arc<dyn Store>,
    tally: Mutex<Tally>,
    blocks: RwLock<Blocks>,
    /// `tessera_proxy_abuse_blocked_total{rule}`: calls refused.
    pub(crate) blocked: IntCounterVec,
    /// `tessera_proxy_abuse_trips_total{rule, action}`: flags and blocks this proxy set.
    trips: IntCounterVec,
}

impl Behaviour {
    /// `None` when every rule is off. The rules need the shared store: an error says so, or
    /// names the key out of range.
    pub fn new(
        rules: Rules,
        store: Option<&Arc<dyn Store>>,
        metrics: &crate::metrics::Metrics,
    ) -> Result<Option<Arc<Self>>, String> {
        if !rules.clients_on() && !rules.addresses_on() {
            return Ok(None);
        }
        rules.check()?;
        let Some(store) = store else {
            return Err(
                "abuse: the behaviour rules need store.url (Redis), where every \
                        proxy's signals meet"
                    .into(),
            );
        };
        // Registered only with the rules on (one Behaviour per proxy).
        let trips = IntCounterVec::new(
            prometheus::Opts::new(
                "abuse_trips_total",
                "Flags and blocks this proxy set when an abuse rule tripped, by rule and action",
            ),
            &["rule", "action"],
        )
        .and_then(|t| metrics.registry.register(Box::new(t.clone())).map(|()| t))
        .map_err(|e| format!("abuse: metrics: {e}"))?;
        Ok(Some(Arc::new(Behaviour {
            rules,
            store: store.clone(),
            tally: Mutex::default(),
            blocks: RwLock::default(),
            blocked: metrics.abuse_blocked.clone(),
            trips,
        })))
    }

    /// Starts the periodic flush (inside a tokio runtime); it runs as long as the runtime.
    pub fn start(self: &Arc<Self>) {
        flush::spawn(self.clone());
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Counts one finished call in this interval's tally.
    pub fn observe(&self, s: Seen<'_>) {
        let max = self.rules.signals.max_subjects;
        let calls = u64::from(!s.refused_by_abuse);
        let token = match (s.credential, self.rules.ip_tokens.action) {
            (Some(c), a) if a != Action::Off && !s.refused_by_abuse => Some(credential_hash(c)),
            _ => None,
        };
        let Ok(mut t) = self.tally.lock() else {
            return;
        };
        if let (Some(id), true) = (s.client, self.rules.clients_on()) {
            let error = s.forwarded && s.status >= 400;
            t.client(&client_key(id, s.sub), calls, error && calls == 1, max);
        }
        if let (Some(ip), true) = (s.ip, self.rules.addresses_on()) {
            let unauthorized = s.status == 401 && calls == 1;
            t.address(fold(ip), calls, unauthorized, token, max);
        }
    }

    /// The block holding `ip`'s address, if one does.
    pub fn address_refusal(&self, ip: IpAddr) -> Option<Refusal> {
        let blocks = self.blocks.read().ok()?;
        refusal(blocks.addresses.get(&fold(ip)))
    }

    /// The block holding the client (its user `sub`, for a user's call), if one does.
    pub fn client_refusal(&self, client_id: &str, sub: Option<&str>) -> Option<Refusal> {
        let key = client_key(client_id, sub);
        let blocks = self.blocks.read().ok()?;
        refusal(blocks.clients.get(key.as_ref()))
    }

    /// The rule that flagged (or blocked) the client (its user `sub`, for a user's call), else
    /// the address, for the call's analytics event.
    pub fn flagged(
        &self,
        ip: Option<IpAddr>,
        client: Option<(&str, Option<&str>)>,
    ) -> Option<&'static str> {
        let key = client.map(|(id, sub)| client_key(id, sub));
        let blocks = self.blocks.read().ok()?;
        let now = Instant::now();
        let live = |b: &Block| (b.until > now).then_some(b.rule);
        let by_client = key
            .and_then(|k| blocks.clients.get(k.as_ref()))
            .and_then(live);
        by_client.or_else(|| {
            ip.and_then(|ip| blocks.addresses.get(&fold(ip)))
                .and_then(live)
        })
    }
}

fn refusal(b: Option<&Block>) -> Option<Refusal> {
    let b = b.filter(|b| b.refuse)?;
    let left = b.until.checked_duration_since(Instant::now())?;
    (!left.is_zero()).then_some(Refusal {
        rule: b.rule,
        status: b.status,
        left,
    })
}

/// A credential as the distinct count sees it: the first 8 bytes of its SHA-256 (the
/// credential itself never leaves the process).
fn credential_hash(c: &[u8]) -> u64 {
    let d = Sha256::digest(c);
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// The in-process key the client rules count a call under: the client id, and its end user
/// after a NUL when the caller has one — a `sub` other than the client id itself (a
/// client-credentials JWT often names the client as its `sub`). Allocates only for a user.
pub fn client_key<'a>(client_id: &'a str, sub: Option<&str>) -> Cow<'a, str> {
    match sub.filter(|s| *s != client_id) {
        Some(sub) => Cow::Owned(format!("{client_id}\u{0}{sub}")),
        None => Cow::Borrowed(client_id),
    }
}

/// The store subject of a client's key ([`client_key`]): `c:` and the client id when the id
/// is plain (letters, digits, `._-:`, at most 128 bytes), else `c:#` and a hash of it — never
/// a `{` or `}` that would move the hash tag, never an unbounded key; for a user of the client,
/// that and `~` and a hash of the `sub` (the subject never in clear in Redis or the listing).
pub fn client_subject(key: &str) -> String {
    if let Some((id, sub)) = key.split_once('\0') {
        return format!("{}~{}", client_subject(id), short_hash(sub));
    }
    let plain = key.len() <= 128
        && !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
    if plain {
        format!("c:{key}")
    } else {
        format!("c:#{}", short_hash(key))
    }
}

/// The first 16 bytes of the SHA-256 of `s`, in hex.
fn short_hash(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The store subject of an address: `s:` and the address (its /64 for IPv6), as the per-IP
/// rule names it.
pub fn address_subject(ip: IpAddr) -> String {
    format!("s:{}", per_host_name(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_off_build_nothing_and_rules_on_need_the_store() {
        let m = crate::metrics::Metrics::new().unwrap();
        let new = |r: Rules| Behaviour::new(r, None, &m);
        assert!(new(Rules::default()).unwrap().is_none());
        let mut on = Rules::default();
        on.ip_tokens.action = Action::Flag;
        assert!(new(on).unwrap_err().contains("store.url"));
    }

    #[test]
    fn client_subjects_never_carry_braces_or_grow_unbounded() {
        assert_eq!(client_subject("app-1.x:y"), "c:app-1.x:y");
        let odd = client_subject("a}{b");
        assert!(odd.starts_with("c:#") && odd.len() == 3 + 32, "{odd}");
        assert_eq!(client_subject(&"a".repeat(5000)).len(), 35);
        // A user of a client: the client, then a hash of the user; bounded either way.
        let user = client_subject(&client_key("spa", Some("alice")));
        assert!(user.starts_with("c:spa~") && user.len() == 6 + 32, "{user}");
        assert!(!user.contains("alice"));
        assert_ne!(user, client_subject(&client_key("spa", Some("bob"))));
        let odd = client_subject(&client_key(&"a}".repeat(300), Some(&"b".repeat(5000))));
        assert_eq!(odd.len(), 35 + 1 + 32);
        // No user, or the client as its own `sub` (client credentials): the client.
        assert_eq!(client_key("svc", None), "svc");
        assert_eq!(client_key("svc", Some("svc")), "svc");
        assert_eq!(
            address_subject("::ffff:10.1.2.3".parse().unwrap()),
            "s:10.1.2.3"
        );
    }
}

//! The backend client's idle connections: one small pool per sending thread (each actix
//! worker), keyed by the backend's scheme and authority, most recently used first.
//!
//! A connection is lent for one exchange ([`Lease`]) and comes back when its response body has
//! been read to the end, if it is then ready for the next request: one whose response was
//! dropped half-read is not taken back (hyper closes it), nor one still sending its request —
//! answered before its body was sent in full, as nginx's upstream keep-alive does not keep
//! such a connection either: a backend that answered without reading the body may read the
//! rest of it as a request, and hand its answer to the next caller on the connection. At most `backend.pool_max_idle_per_host` idle connections per backend and
//! thread are kept; an idle one older than `backend.pool_idle_timeout_secs` is dropped when a
//! call meets it, and by a reaper task when no call does (one per sending thread, each sweeping
//! every thread's pool).
//!
//! The lock around a thread's pool is only ever taken by that thread, and by the reapers once
//! per period: it is not contended on the call's path.

use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use thread_local::ThreadLocal;

use super::connector::{Connector, Key};
use crate::body::Outbound;

/// A connection's half that sends requests.
pub(super) type Sender = SendRequest<Outbound>;

/// What every thread's pool is built from, and the pools built so far (dropped with the last
/// clone of the client, e.g. when a reload replaces the route table).
pub(super) struct Shared {
    pub connector: Connector,
    pub max_idle_per_host: usize,
    pub idle_timeout: Duration,
    per_thread: ThreadLocal<Pool>,
}

impl Shared {
    pub fn new(connector: Connector, max_idle_per_host: usize, idle_timeout: Duration) -> Shared {
        Shared {
            connector,
            max_idle_per_host,
            idle_timeout,
            per_thread: ThreadLocal::new(),
        }
    }

    /// This thread's pool.
    pub fn pool(&self) -> &Pool {
        self.per_thread.get_or(Pool::default)
    }

    /// Every thread's pool.
    fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.per_thread.iter()
    }
}

/// The idle connections to one backend, oldest first.
struct Group {
    key: Key,
    idle: Vec<(Sender, Instant)>,
}

/// One thread's idle connections, by backend (a short list: the backends of the routes that
/// share this client).
pub(super) struct Pool {
    groups: Mutex<Vec<Group>>,
    /// This thread's [`reaper`], started with its first connection: one per sending thread, so
    /// that a worker's runtime going away does not take the only reaper with it.
    pub reaper: Once,
}

impl Default for Pool {
    fn default() -> Pool {
        Pool {
            groups: Mutex::default(),
            reaper: Once::new(),
        }
    }
}

impl Pool {
    fn groups(&self) -> MutexGuard<'_, Vec<Group>> {
        // Nothing panics while holding it; a poisoned pool is still a list of connections.
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently returned connection to `key` that is ready for a request, not idle
    /// for longer than `timeout`. Expired and closed ones met on the way are dropped (only
    /// ready ones are kept, [`Lease::release`]).
    pub fn take(&self, key: &Key, timeout: Duration, now: Instant) -> Option<Sender> {
        let mut groups = self.groups();
        let group = groups.iter_mut().find(|g| g.key == *key)?;
        let expired = group
            .idle
            .iter()
            .take_while(|(_, since)| now.duration_since(*since) >= timeout)
            .count();
        group.idle.drain(..expired);
        let mut found = None;
        for i in (0..group.idle.len()).rev() {
            let tx = &group.idle[i].0;
            if tx.is_closed() {
                group.idle.remove(i);
            } else if tx.is_ready() {
                found = Some(group.idle.remove(i).0);
                break;
            }
        }
        found
    }

    /// Keeps `tx` for the next call to `key`, unless `max` are kept already.
    fn put(&self, key: Key, tx: Sender, max: usize) {
        let mut groups = self.groups();
        let now = Instant::now();
        match groups.iter_mut().find(|g| g.key == key) {
            Some(group) if group.idle.len() >= max => {}
            Some(group) => group.idle.push((tx, now)),
            None => groups.push(Group {
                key,
                idle: vec![(tx, now)],
            }),
        }
    }

    /// Drops the connections idle for `timeout` or more, or closed.
    fn reap(&self, timeout: Duration) {
        let now = Instant::now();
        for group in self.groups().iter_mut() {
            group
                .idle
                .retain(|(tx, since)| now.duration_since(*since) < timeout && !tx.is_closed());
        }
    }
}

/// A connection lent for one exchange; [`Lease::release`] gives it back once the response is
/// read to the end. Dropped instead, the connection is not reused.
pub struct Lease {
    tx: Sender,
    key: Key,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}

impl Lease {
    pub(super) fn new(tx: Sender, key: Key, shared: Arc<Shared>) -> Lease {
        Lease { tx, key, shared }
    }

    /// Back to the pool of the thread that reads the response (the thread that sent it), if
    /// ready for another request. Not when the answer came before the request was sent in
    /// full (module documentation; RFC 9112 §9.3): dropped, the connection sends the rest and
    /// closes, and no other caller's request follows it there.
    pub fn release(self) {
        let ready = self.tx.is_ready() && !self.tx.is_closed();
        if !ready || self.shared.max_idle_per_host == 0 {
            return;
        }
        let pool = self.shared.pool();
        pool.put(self.key, self.tx, self.shared.max_idle_per_host);
    }
}

/// Every `timeout` (at least a second), drops the expired idle connections of every thread's
/// pool, until the client is dropped (e.g. replaced by a reload).
pub(super) async fn reaper(shared: Weak<Shared>, timeout: Duration) {
    let period = timeout.max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(period).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        for pool in shared.pools() {
            pool.reap(timeout);
        }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;

//! [`Honesty`]: the two rules that keep a cache of looked-up tokens from serving a revoked one,
//! written once for the proxy's token cache and the broker's introspection cache.
//!
//! * The cache is used only while the revocation subscription is up ([`crate::store::follow`]
//!   calls [`Honesty::set_live`]); when the connection is lost — closed, silent to pings on
//!   itself, or Redis failing the heartbeat — its owner flushes everything and lookups go to the
//!   store until it is re-established (announcements made meanwhile are gone: Redis pub/sub has
//!   no replay).
//! * A lookup that raced an announcement does not insert: every announcement and every flush
//!   bumps an epoch ([`Honesty::bump`]), and a lookup inserts ([`Honesty::settle`]) only if the
//!   epoch it started under ([`Honesty::epoch`]) is still current — checked again after the
//!   insert, which is undone if an announcement landed in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::table::Table;

/// The subscription-up flag and the epoch of one cache.
#[derive(Debug)]
pub struct Honesty {
    enabled: bool,
    /// The revocation subscription is up: only then is the cache trusted.
    live: AtomicBool,
    epoch: AtomicU64,
}

impl Honesty {
    /// A cache that is off until the subscription is up (`enabled` false: off for good).
    pub fn new(enabled: bool) -> Self {
        Honesty {
            enabled,
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
        }
    }

    /// Lookups may be answered from the cache and their results kept: enabled, and the
    /// revocation channel up.
    pub fn usable(&self) -> bool {
        self.enabled && self.live.load(Ordering::Acquire)
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The epoch to pass back to [`Honesty::settle`] after a lookup.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// An announcement (or an eviction by this process): lookups in flight must not insert.
    pub fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The subscription came up or was lost; on loss the owner flushes its tables after this.
    pub fn set_live(&self, live: bool) {
        self.bump();
        self.live.store(live, Ordering::Release);
    }

    /// For a cache nothing can announce revocations to (a proxy without a store): trusted,
    /// its entries bounded by their deadlines alone.
    pub fn trust_without_channel(&self) {
        self.live.store(true, Ordering::Release);
    }

    /// Keeps `v` under `key` until `until` (ms) unless the cache is not usable or an
    /// announcement or a flush came since the lookup started under `epoch`.
    pub fn settle<V: Clone>(&self, table: &Table<V>, key: u128, v: V, until: i64, epoch: u64) {
        if self.usable() && self.epoch() == epoch {
            table.insert(key, v, until, crate::time::now_ms());
            // An announcement may have landed between the check and the insert: undo.
            if self.epoch() != epoch {
                table.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_only_while_live_and_unraced() {
        let h = Honesty::new(true);
        let t: Table<u8> = Table::new(64);
        let far = i64::MAX / 2;
        h.settle(&t, 1, 1, far, h.epoch());
        assert!(t.is_empty(), "not live: nothing kept");
        h.set_live(true);
        let e = h.epoch();
        h.bump();
        h.settle(&t, 1, 1, far, e);
        assert!(t.is_empty(), "raced an announcement: not kept");
        h.settle(&t, 1, 1, far, h.epoch());
        assert_eq!(t.get(1, 0), Some(1));
        let off = Honesty::new(false);
        off.set_live(true);
        assert!(!off.usable());
    }

    /// A lookup that read the store before the subscription was lost, and settles after it is
    /// back, may have read what an announcement it never heard revoked: not kept.
    #[test]
    fn a_lookup_across_a_lost_and_regained_subscription_does_not_settle() {
        let h = Honesty::new(true);
        let t: Table<u8> = Table::new(64);
        let far = i64::MAX / 2;
        h.set_live(true);
        let e = h.epoch();
        h.set_live(false);
        h.set_live(true);
        assert!(h.usable());
        h.settle(&t, 1, 1, far, e);
        assert!(t.is_empty());
        // Started while the subscription was down: not kept either once it is back.
        h.set_live(false);
        let down = h.epoch();
        h.set_live(true);
        h.settle(&t, 1, 1, far, down);
        assert!(t.is_empty());
    }
}

//! The compact table behind the token caches — the proxy's and the broker's introspection
//! cache (issue 11, P6, P4): 128-bit keys, a value and a deadline
//! in milliseconds, in a fixed number of `RwLock`ed hash maps (shards).
//!
//! Why not moka: a moka entry of the former cache cost about 400 bytes (a `String` key on the
//! heap, `Arc`ed key and value nodes, access-order and timer-wheel links, the frequency sketch);
//! here an entry is the 16-byte key, the value (an `Arc` for the positive cache, nothing for the
//! negative one) and an `i64` deadline, in a swiss table with one control byte per bucket.
//! Expiry is checked on read; expired entries are swept when a shard is full — at most once
//! every [`SWEEP_SHARE`]th of a shard's size in inserts, so that a flood of new keys into a
//! full shard costs a bounded share of a sweep each, not a scan of the whole shard (at
//! `max_entries` = 10 million, 156,250 entries under the shard's write lock: 333 µs per
//! insert) — and if it is still full an arbitrary entry gives way (the keys are keyed hashes, so "arbitrary" is not
//! something a client can steer). Keys come from [`key_of`]; the hasher only folds the key,
//! which is already uniformly random.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::crypto::MAC_BYTES;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The cache key of a token hash in its text form (`Keys::token_hash`, base64url of an
/// HMAC-SHA-256, as revocations announce it): [`key_of_mac`] of its bytes. Any other text
/// (API-key entries, a malformed announcement) is SHA-256'd first; such text never decodes as
/// 32 bytes of base64url, so the two kinds cannot meet by construction.
pub fn key_of(text: &str) -> u128 {
    let mut raw = [0u8; MAC_BYTES + 1];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut raw) {
        Ok(MAC_BYTES) => key_of_mac(&raw[..MAC_BYTES]),
        _ => key_of_mac(&Sha256::digest(text.as_bytes())),
    }
}

/// The cache key of a token's raw keyed hash (`Keys::token_mac`): its first 16 bytes. A
/// presented token is keyed this way, with no base64 round trip (issue 11, P1).
pub fn key_of_mac(mac: &[u8]) -> u128 {
    let mut k = [0u8; 16];
    k.copy_from_slice(&mac[..16]);
    u128::from_le_bytes(k)
}

/// Folds a `u128` key into its low 64 bits (the keys are uniformly random already).
#[derive(Debug, Default)]
pub struct Fold(u64);

impl Hasher for Fold {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type Shard<V> = HashMap<u128, (V, i64), BuildHasherDefault<Fold>>;

const SHARDS: usize = 64;

/// A full shard is swept once per `per_shard / SWEEP_SHARE` inserts of new keys (at least
/// every one): each such insert pays for at most `SWEEP_SHARE` entries of a sweep.
pub const SWEEP_SHARE: usize = 16;

pub struct Table<V> {
    shards: Box<[RwLock<Shard<V>>]>,
    /// Per shard: inserts of new keys into it while full since its last sweep (changed under
    /// the shard's write lock only).
    full_inserts: Box<[AtomicUsize]>,
    per_shard: usize,
}

impl<V> std::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("shards", &self.shards.len())
            .field("per_shard", &self.per_shard)
            .finish()
    }
}

impl<V: Clone> Table<V> {
    /// A table of at most about `max_entries` entries.
    pub fn new(max_entries: u64) -> Self {
        let per_shard = usize::try_from(max_entries.div_ceil(SHARDS as u64))
            .unwrap_or(usize::MAX)
            .max(1);
        Table {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            full_inserts: (0..SHARDS).map(|_| AtomicUsize::new(0)).collect(),
            per_shard,
        }
    }

    fn index(key: u128) -> usize {
        // The high bits pick the shard; the map hashes by the low ones.
        (key >> 122) as usize % SHARDS
    }

    fn shard(&self, key: u128) -> &RwLock<Shard<V>> {
        &self.shards[Self::index(key)]
    }

    /// The value under `key` if its deadline (ms) is after `now_ms`.
    pub fn get(&self, key: u128, now_ms: i64) -> Option<V> {
        let shard = self.shard(key).read().unwrap_or_else(|p| p.into_inner());
        match shard.get(&key) {
            Some((v, until)) if *until > now_ms => Some(v.clone()),
            _ => None,
        }
    }

    pub fn insert(&self, key: u128, value: V, until_ms: i64, now_ms: i64) {
        let i = Self::index(key);
        let mut shard = self.shards[i].write().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            let since = self.full_inserts[i].fetch_add(1, Ordering::Relaxed) + 1;
            if since >= (self.per_shard / SWEEP_SHARE).max(1) {
                self.full_inserts[i].store(0, Ordering::Relaxed);
                shard.retain(|_, (_, until)| *until > now_ms);
            }
            if shard.len() >= self.per_shard {
                if let Some(victim) = shard.keys().next().copied() {
                    shard.remove(&victim);
                }
            }
        }
        shard.insert(key, (value, until_ms));
    }

    pub fn remove(&self, key: u128) {
        let mut shard = self.shard(key).write().unwrap_or_else(|p| p.into_inner());
        shard.remove(&key);
    }

    /// Removes every entry whose value matches `pred`.
    pub fn remove_if(&self, pred: impl Fn(&V) -> bool) {
        for s in self.shards.iter() {
            let mut shard = s.write().unwrap_or_else(|p| p.into_inner());
            shard.retain(|_, (v, _)| !pred(v));
        }
    }

    /// Empties the table and gives its memory back.
    pub fn clear(&self) {
        for s in self.shards.iter() {
            *s.write().unwrap_or_else(|p| p.into_inner()) = Shard::default();
        }
    }

    /// Entries held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_and_other_text_get_distinct_stable_keys() {
        let keys =
            crate::crypto::Keys::from_pepper(&"a-pepper-of-enough-length-1234".to_string().into());
        let h = keys.token_hash("tsr_at_x");
        assert_eq!(key_of(&h), key_of(&h));
        assert_ne!(key_of(&h), key_of(&keys.token_hash("tsr_at_y")));
        assert_ne!(key_of("key:abc"), key_of("key:abd"));
        assert_ne!(key_of(&h), key_of(&format!("key:{h}")));
        // A presented token's raw hash keys the entry its announced text form evicts.
        assert_eq!(key_of_mac(keys.token_mac("tsr_at_x").bytes()), key_of(&h));
    }

    #[test]
    fn expired_entries_are_not_returned_and_a_full_shard_makes_room() {
        let t: Table<u8> = Table::new(SHARDS as u64); // one entry per shard
        t.insert(1, 7, 1_000, 0);
        assert_eq!(t.get(1, 999), Some(7));
        assert_eq!(t.get(1, 1_000), None);
        // Same shard (high bits equal): the second insert evicts the first.
        t.insert(2, 8, 5_000, 0);
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(2, 0), Some(8));
        t.remove_if(|v| *v == 8);
        assert_eq!(t.len(), 0);
        t.insert(3, 9, 5_000, 0);
        t.clear();
        assert_eq!(t.get(3, 0), None);
    }

    #[test]
    fn a_full_shard_is_swept_once_per_share_of_its_size_not_at_every_insert() {
        let per_shard = 2 * SWEEP_SHARE; // swept every 2nd insert of a new key while full
        let t: Table<u8> = Table::new((SHARDS * per_shard) as u64);
        // Keys below 2^122 all fall in shard 0: fill it with entries expiring at 1 s.
        for k in 0..per_shard as u128 {
            t.insert(k, 0, 1_000, 0);
        }
        // Past their expiry: the first new key only makes room (one arbitrary entry goes)...
        t.insert(1_000, 1, 9_000, 2_000);
        assert_eq!(t.len(), per_shard);
        // ...the second sweeps the expired ones: only the two new keys are left.
        t.insert(1_001, 2, 9_000, 2_000);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t.get(1_000, 2_000), t.get(1_001, 2_000)),
            (Some(1), Some(2))
        );
    }
}

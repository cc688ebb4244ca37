//! The busiest refused addresses of one aggregate, in bounded memory: a Space-Saving table
//! (Metwally, Agrawal, El Abbadi, "Efficient computation of frequent and top-k elements in data
//! streams", 2005) of at most [`SLOTS`] addresses, however many distinct addresses a flood
//! brings.
//!
//! When the table is full, a new address takes the slot of the one with fewest calls and
//! inherits that count as its *error*. Any address with more than `calls / SLOTS` calls is
//! therefore always held (a heavy hitter is not lost among 100,000 one-shot addresses). What is
//! reported for an address is its calls *since it took its slot* (`count - error`): a lower
//! bound that is never an over-count, so the named calls never exceed the aggregate's calls and
//! the rest are reported as unnamed — the aggregate's total stays exact either way.

use std::collections::HashMap;

/// Addresses held per aggregate (several times the [`REFUSED_IPS_TOP`] that are named, so that
/// the named ones are the true busiest ones even when many addresses churn).
///
/// [`REFUSED_IPS_TOP`]: tessera_shared::analytics::REFUSED_IPS_TOP
pub(super) const SLOTS: usize = 64;

/// An address's calls as Space-Saving counts them.
#[derive(Debug, Clone, Copy)]
struct Slot {
    count: u64,
    /// Calls counted in `count` that belonged to the addresses this slot held before.
    error: u64,
}

/// The table: address → its slot.
#[derive(Debug, Default)]
pub(super) struct TopAddresses {
    slots: HashMap<String, Slot>,
}

impl TopAddresses {
    /// Counts `calls` from `ip`, without allocating when `ip` is held already (a new address
    /// allocates its key once, when it takes a slot).
    pub(super) fn add(&mut self, ip: &str, calls: u64) {
        if let Some(s) = self.slots.get_mut(ip) {
            s.count = s.count.saturating_add(calls);
            return;
        }
        let mut slot = Slot {
            count: calls,
            error: 0,
        };
        if self.slots.len() >= SLOTS {
            // Evict the address with fewest calls (ties: the smallest address, so the choice
            // does not depend on the map's order); the newcomer inherits its count.
            let least = self
                .slots
                .iter()
                .min_by(|a, b| a.1.count.cmp(&b.1.count).then_with(|| a.0.cmp(b.0)))
                .map(|(ip, s)| (ip.clone(), s.count));
            if let Some((ip, count)) = least {
                self.slots.remove(&ip);
                slot = Slot {
                    count: count.saturating_add(calls),
                    error: count,
                };
            }
        }
        self.slots.insert(ip.to_string(), slot);
    }

    /// The `n` addresses with most calls counted since they took their slot, busiest first
    /// (ties by address), with those calls.
    pub(super) fn top(self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .slots
            .into_iter()
            .map(|(ip, s)| (ip, s.count - s.error))
            .filter(|(_, n)| *n > 0)
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn counts_are_exact_while_the_table_has_room() {
        let mut t = TopAddresses::default();
        for i in 0..300u64 {
            t.add(&format!("10.0.0.{}", i % 10), 1);
        }
        t.add("10.0.0.3", 5);
        let top = t.top(3);
        assert_eq!(top[0], ("10.0.0.3".to_string(), 35));
        assert_eq!(top[1], ("10.0.0.0".to_string(), 30));
        assert_eq!(top.len(), 3);
    }

    #[test]
    fn a_heavy_hitter_is_kept_among_100k_one_shot_addresses_and_never_over_counted() {
        let mut t = TopAddresses::default();
        let (mut total, mut loud) = (0u64, 0u64);
        for i in 0..100_000u32 {
            if i % 50 == 0 {
                t.add("203.0.113.66", 1);
                loud += 1;
            } else {
                t.add(&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255), 1);
            }
            total += 1;
        }
        assert_eq!(t.slots.len(), SLOTS, "memory stays bounded");
        let top = t.top(16);
        assert_eq!(top[0].0, "203.0.113.66");
        // Counted since it took its slot: at most its true calls, and nearly all of them.
        assert!(top[0].1 <= loud && top[0].1 + 10 >= loud, "{top:?}");
        let named: u64 = top.iter().map(|(_, n)| n).sum();
        assert!(named <= total);
        // The one-shot addresses are named at one call at most (never their inherited count).
        assert!(top[1..].iter().all(|(_, n)| *n <= 1), "{top:?}");
    }
}

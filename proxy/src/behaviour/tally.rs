//! What one proxy counts between two flushes: per client, its calls and the backend errors it
//! got; per address, its calls, its `401`s and the credentials it presented (as hashes). Plain
//! maps behind one lock, swapped out whole at each flush, so recording a call is a lock and a
//! map update — no store round trip. Bounded: at most `max_subjects` clients and as many
//! addresses per interval, and at most [`MAX_TOKENS`] credential hashes per address (more is
//! far past any sane threshold).
//!
//! When the addresses are full, a newcomer takes the place of the oldest *quiet* address (no
//! `401`, at most one credential: nothing an address rule can trip on), so a flood of one-shot
//! addresses cannot crowd out the one guessing tokens (finding F4); only when every address has
//! a signal does a newcomer wait for the next interval. Later clients wait likewise.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

/// Credential hashes kept per address and interval.
pub const MAX_TOKENS: usize = 256;

/// A client's counts in one interval.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientCounts {
    pub calls: u64,
    /// Forwarded calls the backend answered `4xx`/`5xx` (or could not answer).
    pub errors: u64,
}

/// An address's counts in one interval.
#[derive(Debug, Default)]
pub struct AddressCounts {
    pub calls: u64,
    pub unauthorized: u64,
    pub tokens: HashSet<u64>,
}

impl AddressCounts {
    /// Nothing an address rule can trip on: no `401` and at most one credential. Once an
    /// address has a signal it keeps it for the interval (the counts only grow).
    pub fn quiet(&self) -> bool {
        self.unauthorized == 0 && self.tokens.len() <= 1
    }
}

#[derive(Debug, Default)]
pub struct Tally {
    pub clients: HashMap<Box<str>, ClientCounts>,
    pub addresses: HashMap<IpAddr, AddressCounts>,
    /// The addresses in the order they came, the candidates for eviction: each one is in
    /// `addresses` (so at most as many), checked for quiet only when its turn comes.
    arrivals: VecDeque<IpAddr>,
}

impl Tally {
    /// Counts a client's call (`calls` 0 only touches it, so the flush asks about its marker).
    pub fn client(&mut self, id: &str, calls: u64, error: bool, max: usize) {
        let add = |c: &mut ClientCounts| {
            c.calls += calls;
            c.errors += u64::from(error);
        };
        if let Some(c) = self.clients.get_mut(id) {
            add(c);
        } else if self.clients.len() < max {
            add(self.clients.entry(id.into()).or_default());
        }
    }

    /// Counts an address's call, folded already (see `policy::abuse::fold`).
    pub fn address(
        &mut self,
        ip: IpAddr,
        calls: u64,
        unauthorized: bool,
        token: Option<u64>,
        max: usize,
    ) {
        if !self.addresses.contains_key(&ip) {
            if self.addresses.len() >= max && !self.evict_quiet() {
                return;
            }
            self.arrivals.push_back(ip);
        }
        let a = self.addresses.entry(ip).or_default();
        a.calls += calls;
        a.unauthorized += u64::from(unauthorized);
        if let Some(t) = token {
            if a.tokens.len() < MAX_TOKENS {
                a.tokens.insert(t);
            }
        }
    }

    /// Drops the oldest quiet address, if any. Addresses met on the way have a signal and
    /// keep it, so they leave the queue for good: each arrival is looked at most once.
    fn evict_quiet(&mut self) -> bool {
        while let Some(ip) = self.arrivals.pop_front() {
            if self.addresses.get(&ip).is_some_and(AddressCounts::quiet) {
                self.addresses.remove(&ip);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_tokens_are_bounded() {
        let mut t = Tally::default();
        t.client("a", 1, false, 2);
        t.client("b", 1, true, 2);
        t.client("c", 1, true, 2);
        t.client("a", 1, true, 2);
        assert_eq!(t.clients.len(), 2);
        assert_eq!((t.clients["a"].calls, t.clients["a"].errors), (2, 1));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..1000 {
            t.address(ip, 1, i % 2 == 0, Some(i), 1);
        }
        t.address("10.0.0.2".parse().unwrap(), 1, false, None, 1);
        assert_eq!(t.addresses.len(), 1, "only quiet addresses make room");
        let a = &t.addresses[&ip];
        assert_eq!(
            (a.calls, a.unauthorized, a.tokens.len()),
            (1000, 500, MAX_TOKENS)
        );
    }

    /// Finding F4: a flood of one-shot addresses fills the tally, yet an address guessing
    /// tokens is still counted; the flood's addresses take each other's places, and one with
    /// a signal is never evicted.
    #[test]
    fn a_full_tally_evicts_quiet_addresses_for_newcomers() {
        let mut t = Tally::default();
        let max = 100;
        let early: IpAddr = "10.9.0.1".parse().unwrap();
        t.address(early, 1, true, Some(1), max);
        for i in 0..10_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.address(ip, 1, false, Some(u64::from(i)), max);
        }
        assert_eq!(t.addresses.len(), max);
        assert!(t.arrivals.len() <= max);
        let guesser: IpAddr = "192.0.2.7".parse().unwrap();
        for i in 0..10 {
            t.address(guesser, 1, true, Some(1_000_000 + i), max);
        }
        let g = &t.addresses[&guesser];
        assert_eq!((g.calls, g.unauthorized, g.tokens.len()), (10, 10, 10));
        assert_eq!(t.addresses[&early].unauthorized, 1, "a signal was evicted");
        assert_eq!(t.addresses.len(), max);
        // Full of signals: a newcomer waits.
        let mut t = Tally::default();
        for i in 0..3u8 {
            t.address(IpAddr::from([10, 1, 1, i]), 1, true, None, 3);
        }
        t.address(IpAddr::from([10, 1, 1, 9]), 1, false, None, 3);
        assert_eq!(t.addresses.len(), 3);
        assert!(!t.addresses.contains_key(&IpAddr::from([10, 1, 1, 9])));
    }
}

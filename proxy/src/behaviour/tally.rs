//! What one proxy counts between two flushes: per client, its calls and the backend errors it
//! got; per address, its calls, its `401`s and the credentials it presented (as hashes). Plain
//! maps behind one lock, swapped out whole at each flush, so recording a call is a lock and a
//! map update — no store round trip. Bounded: at most `max_subjects` clients and as many
//! addresses per interval (later ones wait for the next interval), and at most
//! [`MAX_TOKENS`] credential hashes per address (more is far past any sane threshold).

use std::collections::{HashMap, HashSet};
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

#[derive(Debug, Default)]
pub struct Tally {
    pub clients: HashMap<Box<str>, ClientCounts>,
    pub addresses: HashMap<IpAddr, AddressCounts>,
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
        let len = self.addresses.len();
        let a = match self.addresses.get_mut(&ip) {
            Some(a) => a,
            None if len < max => self.addresses.entry(ip).or_default(),
            None => return,
        };
        a.calls += calls;
        a.unauthorized += u64::from(unauthorized);
        if let Some(t) = token {
            if a.tokens.len() < MAX_TOKENS {
                a.tokens.insert(t);
            }
        }
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
        assert_eq!(t.addresses.len(), 1);
        let a = &t.addresses[&ip];
        assert_eq!(
            (a.calls, a.unauthorized, a.tokens.len()),
            (1000, 500, MAX_TOKENS)
        );
    }
}

//! The rules' decisions, from a subject's merged signals (what every proxy counted in the
//! current window, [`Merged`]): which rule trips, with what action and signal value. Pure, so
//! each threshold is tested here to the unit; the flush (`flush.rs`) acts on the answer.

use tessera_shared::store::behaviour::Merged;

use super::config::{Action, Rules};

/// The kind of a subject: a client (by `client_id`) or a client address (by its /64 for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Client,
    Address,
}

/// The rules' names: the `rule` label of the metrics and the marker's `rule`.
pub const CLIENT_RATE: &str = "client_rate";
pub const CLIENT_ERRORS: &str = "client_errors";
pub const IP_UNAUTHORIZED: &str = "ip_unauthorized";
pub const IP_TOKENS: &str = "ip_tokens";

/// One rule tripped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    pub rule: &'static str,
    pub action: Action,
    /// The signal when it tripped: calls (rate), a share (errors, 401), a count (tokens).
    pub value: f64,
    pub ttl_secs: u64,
}

impl Rules {
    /// The rule that trips for a subject of `kind` with signals `m`, a block before a flag.
    pub fn trip(&self, kind: Kind, m: &Merged) -> Option<Trip> {
        let trips = match kind {
            Kind::Client => [self.client_rate_trip(m), self.ratio_trip(kind, m)],
            Kind::Address => [self.ratio_trip(kind, m), self.tokens_trip(m)],
        };
        let mut trips = trips.into_iter().flatten();
        let first = trips.next()?;
        Some(match trips.next() {
            Some(t) if t.action == Action::Block && first.action != Action::Block => t,
            _ => first,
        })
    }

    /// The HTTP status a block by `rule` answers (429 unless the rule says 403).
    pub fn status(&self, rule: &str) -> u16 {
        match rule {
            CLIENT_RATE => self.client_rate.status,
            CLIENT_ERRORS => self.client_errors.status,
            IP_UNAUTHORIZED => self.ip_unauthorized.status,
            IP_TOKENS => self.ip_tokens.status,
            _ => 429,
        }
    }

    /// Above `factor` × the baseline and above the floor.
    fn client_rate_trip(&self, m: &Merged) -> Option<Trip> {
        let r = &self.client_rate;
        let calls = m.calls as f64;
        (r.action != Action::Off && m.calls > r.floor && calls > r.factor * m.baseline).then_some(
            Trip {
                rule: CLIENT_RATE,
                action: r.action,
                value: calls,
                ttl_secs: r.ttl_secs,
            },
        )
    }

    /// The share of errors (client) or `401` (address), once the window has `min_calls`.
    fn ratio_trip(&self, kind: Kind, m: &Merged) -> Option<Trip> {
        let (rule, r) = match kind {
            Kind::Client => (CLIENT_ERRORS, &self.client_errors),
            Kind::Address => (IP_UNAUTHORIZED, &self.ip_unauthorized),
        };
        if r.action == Action::Off || m.calls < r.min_calls {
            return None;
        }
        let share = m.errors as f64 / m.calls as f64;
        (share > r.max_ratio).then_some(Trip {
            rule,
            action: r.action,
            value: share,
            ttl_secs: r.ttl_secs,
        })
    }

    fn tokens_trip(&self, m: &Merged) -> Option<Trip> {
        let r = &self.ip_tokens;
        (r.action != Action::Off && m.distinct > r.max_distinct).then_some(Trip {
            rule: IP_TOKENS,
            action: r.action,
            value: m.distinct as f64,
            ttl_secs: r.ttl_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(calls: u64, errors: u64, baseline: f64, distinct: u64) -> Merged {
        Merged {
            calls,
            errors,
            baseline,
            distinct,
            marker: None,
        }
    }

    fn rules() -> Rules {
        let mut r = Rules::default();
        r.client_rate.action = Action::Block;
        r.client_rate.factor = 3.0;
        r.client_rate.floor = 10;
        r.client_errors.action = Action::Flag;
        r.client_errors.min_calls = 10;
        r.client_errors.max_ratio = 0.5;
        r.ip_tokens.action = Action::Block;
        r.ip_tokens.max_distinct = 5;
        r
    }

    #[test]
    fn the_rate_trips_above_factor_times_baseline_and_above_the_floor_only() {
        let r = rules();
        // A quiet client's first burst: no baseline, but not above the floor.
        assert_eq!(r.trip(Kind::Client, &merged(10, 0, 0.0, 0)), None);
        let t = r.trip(Kind::Client, &merged(11, 0, 0.0, 0)).unwrap();
        assert_eq!(
            (t.rule, t.action, t.value),
            (CLIENT_RATE, Action::Block, 11.0)
        );
        // With a baseline of 10: 30 is 3× — not above; 31 is.
        assert_eq!(r.trip(Kind::Client, &merged(30, 0, 10.0, 0)), None);
        assert!(r.trip(Kind::Client, &merged(31, 0, 10.0, 0)).is_some());
    }

    #[test]
    fn a_ratio_needs_its_minimum_of_calls_and_a_block_wins_over_a_flag() {
        let r = rules();
        assert_eq!(r.trip(Kind::Client, &merged(9, 9, 100.0, 0)), None);
        assert_eq!(r.trip(Kind::Client, &merged(10, 5, 100.0, 0)), None);
        let t = r.trip(Kind::Client, &merged(10, 6, 100.0, 0)).unwrap();
        assert_eq!(
            (t.rule, t.action, t.value),
            (CLIENT_ERRORS, Action::Flag, 0.6)
        );
        // Errors flag and rate blocks at once: the block.
        let t = r.trip(Kind::Client, &merged(40, 30, 1.0, 0)).unwrap();
        assert_eq!((t.rule, t.action), (CLIENT_RATE, Action::Block));
    }

    #[test]
    fn distinct_tokens_trip_above_the_maximum_and_rules_off_never_trip() {
        let r = rules();
        assert_eq!(r.trip(Kind::Address, &merged(100, 100, 0.0, 5)), None);
        let t = r.trip(Kind::Address, &merged(1, 0, 0.0, 6)).unwrap();
        assert_eq!((t.rule, t.value), (IP_TOKENS, 6.0));
        let off = Rules::default();
        assert_eq!(
            off.trip(Kind::Client, &merged(1 << 40, 1 << 40, 0.0, 1 << 40)),
            None
        );
        assert_eq!(
            off.trip(Kind::Address, &merged(1 << 40, 1 << 40, 0.0, 1 << 40)),
            None
        );
    }
}

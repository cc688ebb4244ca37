//! The revocation channel: what the broker announces when a token, a login (token family) or an
//! app stops being valid, so that every proxy drops its cached copy at once (DESIGN.md, "Data").
//!
//! The stores publish these themselves, inside the write that revokes (Redis: in the same Lua
//! script or pipeline), so no code path can revoke without announcing it. A subscriber's stream
//! ends when its connection is lost; whoever caches must then flush, because announcements made
//! meanwhile are gone (Redis pub/sub has no replay).
//!
//! The same channel carries the brokers' back-off notices ([`BackoffNotice`]): a failure
//! back-off came into force. Brokers learn from them which subjects their client
//! authentication must check in the store; proxies ignore them ([`super::follow`] hands them
//! only to the followers that ask).

use std::pin::Pin;

use futures_util::Stream;

/// One announcement. On the wire: `t:<token hash>`, `f:<family id>`, `a:<app id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Revocation {
    /// An access token (by its keyed hash) was revoked.
    Token(String),
    /// A login's token family was revoked: every access token carrying it is dead.
    Family(String),
    /// An app changed (revoked, re-approved, credentials changed, deleted, rate plan edited):
    /// every cached token of the app must be looked up again.
    App(String),
}

impl Revocation {
    pub fn encode(&self) -> String {
        match self {
            Revocation::Token(h) => format!("t:{h}"),
            Revocation::Family(f) => format!("f:{f}"),
            Revocation::App(a) => format!("a:{a}"),
        }
    }

    pub fn decode(s: &str) -> Option<Revocation> {
        let (class, id) = s.split_once(':')?;
        let id = id.to_string();
        match class {
            "t" => Some(Revocation::Token(id)),
            "f" => Some(Revocation::Family(id)),
            "a" => Some(Revocation::App(id)),
            _ => None,
        }
    }
}

/// A failure back-off came into force or was extended (`redis/scripts/backoff.lua`, in the
/// same script call that recorded the failure). On the wire: `b:<wait_ms>:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackoffNotice {
    /// `<limiter>:<subject>`, the subject as the limit counts it (an address, a keyed hash).
    pub id: String,
    /// How long the subject waits, from the moment of the announcement.
    pub wait_ms: u64,
}

/// What the revocation channel carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Announcement {
    Revoked(Revocation),
    Backoff(BackoffNotice),
}

impl BackoffNotice {
    pub fn encode(&self) -> String {
        format!("b:{}:{}", self.wait_ms, self.id)
    }
}

impl Announcement {
    pub fn decode(s: &str) -> Option<Announcement> {
        match s.strip_prefix("b:") {
            Some(rest) => {
                let (wait, id) = rest.split_once(':')?;
                Some(Announcement::Backoff(BackoffNotice {
                    id: id.to_string(),
                    wait_ms: wait.parse().ok()?,
                }))
            }
            None => Revocation::decode(s).map(Announcement::Revoked),
        }
    }
}

/// Announcements as they are made; `None` (the end) means the subscription was lost.
pub type RevocationStream = Pin<Box<dyn Stream<Item = Announcement> + Send>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for r in [
            Revocation::Token("abc".into()),
            Revocation::Family("f-1".into()),
            Revocation::App("6f1c".into()),
        ] {
            assert_eq!(Revocation::decode(&r.encode()), Some(r));
        }
        assert_eq!(Revocation::decode("x:1"), None);
        assert_eq!(Revocation::decode("nocolon"), None);
    }

    #[test]
    fn backoff_notices_round_trip_and_revocations_still_decode() {
        let n = BackoffNotice {
            id: "auth_failures_ip:2001:db8:1:2::/64".into(),
            wait_ms: 1500,
        };
        assert_eq!(
            Announcement::decode(&n.encode()),
            Some(Announcement::Backoff(n))
        );
        assert_eq!(
            Announcement::decode("t:abc"),
            Some(Announcement::Revoked(Revocation::Token("abc".into())))
        );
        assert_eq!(Announcement::decode("b:soon:auth_failures_ip:1"), None);
        assert_eq!(Announcement::decode("b:12"), None);
    }
}

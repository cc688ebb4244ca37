//! The revocation channel: what the broker announces when a token, a login (token family) or an
//! app stops being valid, so that every proxy drops its cached copy at once (DESIGN.md, "Data").
//!
//! The stores publish these themselves, inside the write that revokes (Redis: in the same Lua
//! script or pipeline), so no code path can revoke without announcing it. A subscriber's stream
//! ends when its connection is lost; whoever caches must then flush, because announcements made
//! meanwhile are gone (Redis pub/sub has no replay).

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

/// Revocations as they are announced; `None` (the end) means the subscription was lost.
pub type RevocationStream = Pin<Box<dyn Stream<Item = Revocation> + Send>>;

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
}

//! Redis key names, built here and nowhere else.
//!
//! Every key starts with the configured prefix. Every key carries a hash tag, chosen so that
//! whatever one command or script touches sits in one Redis Cluster slot, and everything else
//! spreads over the cluster: registry hashes share `{catalog}` (`catalog_commit.lua`,
//! `app_for_client.lua`); a login family and its grace record share the family id
//! (`refresh_rotate.lua`); a token, a quota counter, a limiter's or back-off's subject, a
//! user's families, an upstream session's or subject's logins each have their own.
//! `redis/slot_tests.rs` checks every script's keys.

use super::Table;
use crate::token::TokenKind;

#[derive(Debug, Clone)]
pub struct KeySpace {
    prefix: String,
}

/// A token's class in its key.
fn token_class(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::AccessToken => "at",
        TokenKind::RefreshToken => "rt",
        TokenKind::AuthorizationCode => "ac",
        TokenKind::ClientSecret => "cs",
        TokenKind::RegistrationToken => "rat",
        TokenKind::DeviceCode => "dc",
    }
}

impl KeySpace {
    pub fn new(prefix: &str) -> Self {
        KeySpace {
            prefix: prefix.to_string(),
        }
    }

    pub fn table(&self, table: Table) -> String {
        format!("{}{{catalog}}:{}", self.prefix, table.name())
    }

    pub fn token(&self, kind: TokenKind, hash: &str) -> String {
        // Written into a string of its final size: `format!` grew it twice per token written
        // or looked up (issue 11, P3). Same bytes: `{prefix}{class}:{{hash}}`.
        let class = token_class(kind);
        let mut key = String::with_capacity(self.prefix.len() + class.len() + hash.len() + 3);
        for part in [&self.prefix, class, ":{", hash, "}"] {
            key.push_str(part);
        }
        key
    }

    /// The most bytes [`Self::token`] takes for `hash`.
    pub fn token_len(&self, hash: &str) -> usize {
        self.prefix.len() + "rat:{}".len() + hash.len()
    }

    /// [`Self::token`] written straight into `cmd` as its next argument: no `String` of its own
    /// per token written or looked up (issue 11, P3).
    pub fn token_arg(&self, kind: TokenKind, hash: &str, cmd: &mut redis::Cmd) {
        use redis::RedisWrite;
        use std::io::Write;
        let mut arg = cmd.writer_for_next_arg();
        for part in [&self.prefix, token_class(kind), ":{", hash, "}"] {
            // Writing into the command's buffer (a `Vec`) cannot fail.
            let _ = arg.write_all(part.as_bytes());
        }
    }

    pub fn login(&self, state: &str) -> String {
        format!("{}login:{{{state}}}", self.prefix)
    }

    pub fn family(&self, id: &str) -> String {
        format!("{}fam:{{{}}}", self.prefix, tag(id))
    }

    /// The grace-period record of a family's last rotation (`redis/scripts/refresh_rotate.lua`):
    /// tagged as [`Self::family`], so the rotation touches one slot; it expires with the grace
    /// period.
    pub fn family_grace(&self, id: &str) -> String {
        format!("{}fgr:{{{}}}", self.prefix, tag(id))
    }

    /// A marker that a value (a token exchange `subject_token`, by its keyed hash) was used
    /// once ([`super::LoginStore::mark_used`]).
    pub fn used(&self, hash: &str) -> String {
        format!("{}used:{{{hash}}}", self.prefix)
    }

    /// A DPoP proof seen once ([`super::ProofStore`]), by the hash of its `jti` and key.
    pub fn dpop_proof(&self, hash: &str) -> String {
        format!("{}dpop:{{{hash}}}", self.prefix)
    }

    /// An RFC 8628 device authorization, by the keyed hash of its device code: one hash, so
    /// every step of it (`redis/scripts/device_*.lua`) touches one slot.
    pub fn device(&self, hash: &str) -> String {
        format!("{}dev:{{{hash}}}", self.prefix)
    }

    /// The user code of a device authorization (by its keyed hash) → the device code's hash.
    /// A key of its own slot: it is written and read on its own, never in a script with
    /// [`Self::device`].
    pub fn device_user_code(&self, hash: &str) -> String {
        format!("{}duc:{{{hash}}}", self.prefix)
    }

    /// A developer portal session, by the keyed hash of its cookie (the hash is the tag).
    pub fn portal_session(&self, hash: &str) -> String {
        format!("{}psess:{{{hash}}}", self.prefix)
    }

    /// A developer portal sign-in in progress, by its upstream `state` (the tag).
    pub fn portal_signin(&self, state: &str) -> String {
        format!("{}psign:{{{state}}}", self.prefix)
    }

    /// The pub/sub channel of [`super::Revocation`] announcements.
    pub fn revocation_channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// A quota counter: `subject` (an app or client) in the window starting at `window_start`
    /// (Unix seconds) of a `period`. The subject is the hash tag, so a subject's counters
    /// share a cluster slot.
    pub fn quota(&self, subject: &str, period: &str, window_start: i64) -> String {
        format!("{}quota:{{{subject}}}:{period}:{window_start}", self.prefix)
    }

    /// The abuse rule's refusal counter and block marker of one subject (an IP address;
    /// `redis/scripts/abuse.lua`). `s:` and the subject are the hash tag (never empty, so
    /// both keys share a slot whatever the subject holds).
    pub fn abuse(&self, subject: &str) -> (String, String) {
        let base = format!("{}abuse:{{s:{subject}}}", self.prefix);
        (format!("{base}:n"), format!("{base}:block"))
    }

    /// Abuse detection's behaviour keys of one subject (`c:CLIENT` or `s:ADDRESS`, the hash
    /// tag, so the IP rule's keys of an address share the slot): its state (window totals and
    /// baseline), its distinct-credential HyperLogLog, its marker (flag or block).
    pub fn behaviour(&self, subject: &str) -> [String; 3] {
        let base = format!("{}abuse:{{{subject}}}", self.prefix);
        [
            format!("{base}:state"),
            format!("{base}:tokens"),
            format!("{base}:mark"),
        ]
    }

    /// The index of behaviour markers (subject → until, Unix ms), for the operator's listing.
    pub fn behaviour_index(&self) -> String {
        format!("{}abuse:markers", self.prefix)
    }

    /// A GCRA limiter's state for one subject (`redis/scripts/gcra.lua`). Limiter and subject
    /// form the hash tag, so each limit check touches one slot.
    pub fn rate(&self, limiter: &str, subject: &str) -> String {
        format!("{}rl:{{{limiter}:{subject}}}", self.prefix)
    }

    /// A back-off's state for one subject (`redis/scripts/backoff.lua`), tagged as [`Self::rate`].
    pub fn backoff(&self, limiter: &str, subject: &str) -> String {
        format!("{}bo:{{{limiter}:{subject}}}", self.prefix)
    }

    /// The set of a user's families in one app. `sub` is the upstream's string, which may hold
    /// braces, so it is encoded before it becomes part of a key.
    pub fn user_families(&self, app_id: &str, sub: &str) -> String {
        use base64::Engine;
        let sub = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sub);
        format!("{}ufam:{{{app_id}:{sub}}}", self.prefix)
    }

    /// The logins of one upstream session or subject ([`super::UpstreamLoginStore`],
    /// `redis/scripts/upstream_login_add.lua`). The key is a digest of what it indexes: fixed
    /// length whatever the upstream sent, and its own tag.
    pub fn upstream_logins(&self, key: &super::UpstreamKey<'_>) -> String {
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.canonical().as_bytes());
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        format!("{}ulog:{{{tag}}}", self.prefix)
    }

    /// The analytics stream written before the streams were sharded (one key, one slot, one
    /// event an entry): still read, so that an upgrade loses no history; no longer written.
    pub fn analytics(&self) -> String {
        format!("{}analytics", self.prefix)
    }

    /// Analytics shard `shard` (of [`super::ANALYTICS_STREAMS_MAX`]): each shard has its own
    /// hash tag, so on Redis Cluster the shards spread over the slots (and masters) instead of
    /// one hot key taking every proxy's writes.
    pub fn analytics_shard(&self, shard: usize) -> String {
        format!("{}analytics:{{an{shard}}}", self.prefix)
    }
}

/// `id` as a hash tag: unchanged when it is one (non-empty, no braces: every id Tessera makes),
/// else encoded, so that keys sharing a tag always share a slot (`{}` is no tag at all, and a
/// `}` would end it early).
fn tag(id: &str) -> std::borrow::Cow<'_, str> {
    use base64::Engine;
    match id.is_empty() || id.contains(['{', '}']) {
        false => id.into(),
        true => format!(
            "~{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
        )
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_prefix_and_hash_tags() {
        let k = KeySpace::new("tessera:");
        assert_eq!(k.table(Table::Apps), "tessera:{catalog}:apps");
        assert_eq!(k.token(TokenKind::AccessToken, "abc"), "tessera:at:{abc}");
        assert_eq!(k.rate("token", "app:1"), "tessera:rl:{token:app:1}");
        assert_eq!(
            k.backoff("auth_ip", "10.0.0.1"),
            "tessera:bo:{auth_ip:10.0.0.1}"
        );
    }

    #[test]
    fn token_keys_are_the_formatted_names_of_every_kind() {
        let k = KeySpace::new("tessera:");
        for (kind, class) in [
            (TokenKind::AccessToken, "at"),
            (TokenKind::RefreshToken, "rt"),
            (TokenKind::AuthorizationCode, "ac"),
            (TokenKind::ClientSecret, "cs"),
            (TokenKind::RegistrationToken, "rat"),
            (TokenKind::DeviceCode, "dc"),
        ] {
            let key = k.token(kind, "h4sh");
            assert_eq!(key, format!("tessera:{class}:{{h4sh}}"));
            assert_eq!(
                key.len(),
                key.capacity(),
                "{key}: written at its final size"
            );
            assert!(key.len() <= k.token_len("h4sh"), "{key}");
            let mut written = redis::cmd("GET");
            k.token_arg(kind, "h4sh", &mut written);
            assert_eq!(
                written.get_packed_command(),
                redis::cmd("GET").arg(&key).get_packed_command()
            );
        }
    }

    #[test]
    fn upstream_login_keys_have_one_tag_whatever_the_upstream_sent() {
        use crate::store::UpstreamKey;
        let k = KeySpace::new("t:");
        let hostile = UpstreamKey::Session {
            issuer: "https://okta",
            sid: "}{x}",
        };
        let key = k.upstream_logins(&hostile);
        let tag = key.trim_start_matches("t:ulog:{").trim_end_matches('}');
        assert!(key.starts_with("t:ulog:{") && key.ends_with('}'), "{key}");
        assert!(!tag.contains(['{', '}']) && tag.len() == 43, "{key}");
        let same_value_other_kind = UpstreamKey::Subject {
            issuer: "https://okta",
            sub: "}{x}",
        };
        assert_ne!(key, k.upstream_logins(&same_value_other_kind));
    }
}

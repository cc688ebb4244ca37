//! The upstream's sessions and subjects, indexed: which logins (token families) an upstream
//! session (`sid`) or an upstream user (`sub`, per issuer) started, so that an upstream logout
//! (OpenID Connect Back-Channel Logout 1.0) reaches every one of them at once.
//!
//! An index entry is a set of family ids under one key (one Redis Cluster slot), living at
//! least as long as the longest login added to it: adding never shortens its expiry. An entry
//! can also be marked *ended* (a session that ended upstream): adding a login to it then says
//! so, in the same atomic step (`redis/scripts/upstream_login_add.lua`).

use async_trait::async_trait;

use crate::error::StoreError;

/// The member that marks an entry ended (never a family id: those are base64url).
pub const ENDED: &str = "~ended";

/// What an index entry is about: one upstream session, or every session of one upstream user.
/// Both are scoped to the upstream's issuer (a `sid` or `sub` is unique only within it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamKey<'a> {
    /// OpenID Connect Front-/Back-Channel Logout `sid`.
    Session { issuer: &'a str, sid: &'a str },
    /// The upstream `sub`.
    Subject { issuer: &'a str, sub: &'a str },
}

impl UpstreamKey<'_> {
    /// An unambiguous string for the entry: kind, issuer and value, separated by NUL.
    pub fn canonical(&self) -> String {
        match self {
            UpstreamKey::Session { issuer, sid } => format!("sid\u{0}{issuer}\u{0}{sid}"),
            UpstreamKey::Subject { issuer, sub } => format!("sub\u{0}{issuer}\u{0}{sub}"),
        }
    }
}

/// The index of logins by upstream session and subject.
#[async_trait]
pub trait UpstreamLoginStore: Send + Sync {
    /// Adds `family` under `key`; the entry then lives at least `ttl_secs` more. Returns
    /// whether the entry is marked ended ([`UpstreamLoginStore::upstream_logins_end`]).
    async fn upstream_login_add(
        &self,
        key: UpstreamKey<'_>,
        family: &str,
        ttl_secs: u64,
    ) -> Result<bool, StoreError>;
    /// Marks `key` ended, for at least `ttl_secs`: logins added to it afterwards learn so.
    async fn upstream_logins_end(
        &self,
        key: UpstreamKey<'_>,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
    /// The families under `key` (none when it is unknown or expired; never the marker).
    async fn upstream_logins(&self, key: UpstreamKey<'_>) -> Result<Vec<String>, StoreError>;
    /// Removes `families` from `key` (after they were revoked); others added meanwhile stay.
    async fn upstream_logins_forget(
        &self,
        key: UpstreamKey<'_>,
        families: &[String],
    ) -> Result<(), StoreError>;
}

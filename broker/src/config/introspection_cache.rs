//! `[introspection_cache]`: the broker's introspection answered from active tokens kept in
//! process (issue 11, P4; `crate::tokens::cache`).

use serde::Deserialize;
use tessera_shared::config::{in_range, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntrospectionCacheConfig {
    /// Keep introspected active tokens in process (used only while the revocation channel is
    /// up, and only with the apps kept in process).
    pub enabled: bool,
    pub max_entries: u64,
    /// Longest an entry is kept, whatever the token's expiry.
    pub max_ttl_secs: u64,
}

impl Default for IntrospectionCacheConfig {
    fn default() -> Self {
        IntrospectionCacheConfig {
            enabled: true,
            max_entries: 200_000,
            max_ttl_secs: 300,
        }
    }
}

impl IntrospectionCacheConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "introspection_cache.max_entries",
            self.max_entries,
            1,
            10_000_000,
        )?;
        in_range(
            "introspection_cache.max_ttl_secs",
            self.max_ttl_secs,
            1,
            86_400,
        )
    }
}

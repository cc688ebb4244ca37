//! Settings of the tokens the broker signs and the subject tokens it accepts: `[id_token]`
//! (the broker's own OpenID Connect id_tokens and their signing keys) and `[token_exchange]`
//! (RFC 8693 subject token freshness).

use std::path::PathBuf;

use serde::Deserialize;

use super::{in_range, ConfigError};

/// `[id_token]`: apps receive id_tokens signed by the broker (OIDC Core §2), with its own keys
/// published at `{issuer}/jwks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdTokenConfig {
    /// PEM file of the current signing key: RSA (RS256, at least 2048 bits; PKCS#8 or PKCS#1)
    /// or EC P-256 (ES256; PKCS#8 or SEC1). Required when user login (`[upstream]`) is on,
    /// unless `generate_key`.
    pub signing_key_file: Option<PathBuf>,
    /// PEM files of keys published at `jwks_uri` but never used to sign (public or private
    /// keys): the previous key after a rotation, or the next one before it.
    pub previous_key_files: Vec<PathBuf>,
    /// Development only: generate an ES256 key in memory at start-up (a restart changes it, and
    /// several broker instances would each have their own). `tessera dev` sets it.
    pub generate_key: bool,
    /// Lifetime of the id_tokens the broker mints, in seconds.
    pub ttl_secs: u64,
    /// Oldest `id_token_hint` `/end_session` accepts, by its `iat`, in seconds: an expired
    /// hint still names its login, but an old one kept anywhere must not become a logout link.
    pub end_session_hint_max_age_secs: u64,
}

impl Default for IdTokenConfig {
    fn default() -> Self {
        IdTokenConfig {
            signing_key_file: None,
            previous_key_files: Vec::new(),
            generate_key: false,
            ttl_secs: 3600,
            end_session_hint_max_age_secs: 86_400,
        }
    }
}

impl IdTokenConfig {
    /// `users`: whether user login is configured (then a key is required).
    pub fn validate(&self, users: bool) -> Result<(), ConfigError> {
        if self.signing_key_file.is_some() && self.generate_key {
            return Err(ConfigError::invalid(
                "id_token.generate_key",
                "cannot be combined with id_token.signing_key_file",
            ));
        }
        if users && self.signing_key_file.is_none() && !self.generate_key {
            return Err(ConfigError::invalid(
                "id_token.signing_key_file",
                "is required with [upstream] (a PEM RSA or P-256 private key; \
                 id_token.generate_key = true only for development)",
            ));
        }
        if self.previous_key_files.len() > 8 {
            return Err(ConfigError::invalid(
                "id_token.previous_key_files",
                "at most 8 files",
            ));
        }
        in_range("id_token.ttl_secs", self.ttl_secs, 60, 86_400)?;
        in_range(
            "id_token.end_session_hint_max_age_secs",
            self.end_session_hint_max_age_secs,
            60,
            2_592_000,
        )
    }
}

/// `[token_exchange]`: RFC 8693 subject tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenExchangeConfig {
    /// Oldest accepted subject token, by its `iat`, in seconds.
    pub max_subject_age_secs: u64,
}

impl Default for TokenExchangeConfig {
    fn default() -> Self {
        TokenExchangeConfig {
            max_subject_age_secs: 300,
        }
    }
}

impl TokenExchangeConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "token_exchange.max_subject_age_secs",
            self.max_subject_age_secs,
            10,
            86_400,
        )
    }
}

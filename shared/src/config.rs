//! Configuration: a TOML file (`--config FILE` or `TESSERA_CONFIG`) overridden by environment
//! variables `TESSERA_<SECTION>__<KEY>` (e.g. `TESSERA_STORE__URL`), then validated. A wrong value
//! is refused at start-up with a message naming the key and its environment variable.
//!
//! This module holds the loader, the validation helpers and the sections both services read
//! (`[store]` in [`store`], `[security]`, `[log]`); each service owns its own configuration type and its
//! other sections (`tessera_broker::config`, `tessera_proxy::config`).

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use thiserror::Error;

mod store;
pub use store::{StoreConfig, StoreTarget};

pub const ENV_PREFIX: &str = "TESSERA_";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}` (environment variable {env}): {message}")]
    Invalid {
        key: String,
        env: String,
        message: String,
    },
}

impl ConfigError {
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            env: env_name(key),
            message: message.into(),
        }
    }
}

/// `store.url` → `TESSERA_STORE__URL`.
pub fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    )
}

/// Merges `defaults`, the file (which must exist when named) and the environment, keeping only
/// environment variables whose first segment is one of `sections` (so `TESSERA_CONFIG` and
/// unrelated variables are not mistaken for keys).
pub fn load<T: DeserializeOwned>(
    defaults: serde_json::Value,
    file: Option<&Path>,
    sections: &'static [&'static str],
) -> Result<T, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::Load(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        fig = fig.merge(Toml::file_exact(path));
    }
    let env = Env::prefixed(ENV_PREFIX).split("__").filter(move |k| {
        // Keys are still upper-case here: figment lowercases after filtering.
        let first = k.as_str().split('.').next().unwrap_or("");
        sections.iter().any(|s| s.eq_ignore_ascii_case(first))
    });
    fig.merge(env)
        .extract()
        .map_err(|e| ConfigError::Load(e.to_string()))
}

/// A secret of ours (admin token, pepper, initial access token): at least 32 characters, and
/// not a placeholder.
pub fn min_secret_len(key: &str, s: &SecretString) -> Result<(), ConfigError> {
    not_placeholder(key, s.expose_secret())?;
    if s.expose_secret().len() < 32 {
        return Err(ConfigError::invalid(
            key,
            "must be at least 32 characters (generate one: openssl rand -hex 32)",
        ));
    }
    Ok(())
}

/// Refuses a value still holding an example file's placeholder (`CHANGE_ME…`, any case): such
/// a value is public, so it protects nothing.
pub fn not_placeholder(key: &str, value: &str) -> Result<(), ConfigError> {
    let lower = value.to_ascii_lowercase();
    if lower.contains("change_me") || lower.contains("changeme") {
        return Err(ConfigError::invalid(
            key,
            "still holds a CHANGE_ME placeholder: set a real secret (generate one: openssl rand -hex 32)",
        ));
    }
    Ok(())
}

/// `v` within `lo..=hi`, or the error naming `key`.
pub fn in_range(key: &str, v: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!("{v} is outside {lo}..={hi}"),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// Server-side key for hashing tokens and client secrets; never stored in Redis. Changing it
    /// invalidates every stored secret and token.
    pub pepper: SecretString,
    /// During an upgrade from a version without token tags: also look up well-formed access and
    /// refresh tokens that carry no valid keyed tag ([`crate::crypto::Keys::accepting_untagged`]).
    /// Off: such tokens are refused without a lookup.
    #[serde(default)]
    pub accept_untagged_tokens: bool,
}

impl SecurityConfig {
    /// The keys of this pepper, accepting untagged tokens as configured (logged as a warning:
    /// made-up tokens cost a lookup again until it is turned off).
    pub fn keys(&self) -> crate::crypto::Keys {
        if self.accept_untagged_tokens {
            tracing::warn!(
                "security.accept_untagged_tokens is on: tokens without a keyed tag are looked up (upgrade mode; turn it off once they have expired)"
            );
        }
        crate::crypto::Keys::from_pepper(&self.pepper)
            .accepting_untagged(self.accept_untagged_tokens)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter directive, e.g. `info` or `tessera_broker=debug,info`.
    pub level: String,
    /// `pretty` (human) or `json` (one object per line).
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "pretty".into(),
        }
    }
}

impl LogConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map_err(|e| ConfigError::invalid("log.level", e.to_string()))?;
        if !matches!(self.format.as_str(), "pretty" | "json") {
            return Err(ConfigError::invalid(
                "log.format",
                "must be \"pretty\" or \"json\"",
            ));
        }
        Ok(())
    }
}

/// The asymmetric JWS algorithms Tessera accepts from an upstream (RFC 8725 §3.1: no `none`,
/// no HMAC with keys that are not ours).
pub const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

//! Errors of the storage layer and of the domain operations built on it.
//!
//! Each error carries what a client may be told (`Display`) separately from the internal cause,
//! which is logged once where the error is mapped to a response.

use thiserror::Error;

/// A failure of the backing store. Every variant means "we could not decide", never "no":
/// callers map it to 503 `temporarily_unavailable`, never to `invalid_client` or `active:false`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store could not be reached, timed out, or refused the command.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be decoded (written by an incompatible version, or tampered).
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// How [`StoreError::Unavailable`] starts when the store refused a write for lack of memory
/// (Redis's `OOM` reply under `maxmemory`).
pub const OUT_OF_MEMORY: &str = "out of memory";

impl StoreError {
    /// The store refused a write because it is out of memory.
    pub fn is_out_of_memory(&self) -> bool {
        matches!(self, StoreError::Unavailable(m) if m.starts_with(OUT_OF_MEMORY))
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The outcome of a registry operation that did not succeed.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The named entity does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken: the field names what clashed.
    #[error("{field} already in use")]
    Conflict { field: &'static str },
    /// The entity is still referred to (a product some app is subscribed to), so it stays.
    #[error("{0} still in use")]
    InUse(&'static str),
    /// The change does not apply to the entity as it stands (approving a revoked-for-good
    /// subscription from the portal, subscribing twice).
    #[error("{0}")]
    Refused(&'static str),
    /// A field has an unacceptable value.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// The record changed under us too many times in a row.
    #[error("concurrent modification, retry")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CatalogError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CatalogError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

//! Scope rules shared by the authorization and token endpoints.

use tessera_shared::oauth::{ErrorCode, OAuthError};
use tessera_shared::scope::ScopeSet;

/// `invalid_scope` for a scope that is not RFC 6749 §3.3 syntax (the value is not repeated).
pub fn malformed() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidScope,
        "the scope is not a space-separated list of valid scope tokens",
    )
}

/// RFC 6749 §3.3: the requested scope must be a subset of what the client may have; nothing
/// requested means all of it (`allowed` itself, taken rather than copied).
pub fn granted_scope(requested: Option<&str>, allowed: ScopeSet) -> Result<ScopeSet, OAuthError> {
    match requested {
        None => Ok(allowed),
        Some(s) => {
            let asked = ScopeSet::parse(s).map_err(|_| malformed())?;
            if asked.is_subset(&allowed) {
                Ok(asked)
            } else {
                Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the requested scope exceeds what this client may have",
                ))
            }
        }
    }
}

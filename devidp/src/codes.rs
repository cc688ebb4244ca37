//! Authorization codes (RFC 6749 §4.1.2): random, single use, valid 60 seconds, kept in memory
//! and bound to the client, redirect URI, scope, nonce, PKCE challenge and user of the login.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// RFC 6749 §4.1.2 recommends a maximum lifetime of 10 minutes; Okta uses 60 seconds.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);

/// What a code stands for.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub username: String,
    /// When the user typed their password (seconds since the epoch): the `auth_time` claim.
    pub auth_time: i64,
    /// The session the sign-in started: the `sid` claim.
    pub sid: Option<String>,
}

#[derive(Debug)]
struct Pending {
    grant: Grant,
    expires: Instant,
}

/// The outstanding codes (std mutex: never held across an await). `Debug` shows only how many.
#[derive(Default)]
pub(crate) struct Codes(Mutex<HashMap<String, Pending>>);

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "Codes({n} outstanding)")
    }
}

impl Codes {
    /// Stores `grant` under a new code and returns the code.
    pub fn issue(&self, grant: Grant) -> String {
        let code = tessera_shared::crypto::random_string::<32>();
        let now = Instant::now();
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, p| p.expires > now);
        codes.insert(
            code.clone(),
            Pending {
                grant,
                expires: now + CODE_TTL,
            },
        );
        code
    }

    /// Takes a code out, whatever happens next: a code is presented once (RFC 6749 §4.1.2, "MUST
    /// NOT be used more than once"), so a failed redemption burns it too. Expired codes are
    /// `None`.
    pub fn take(&self, code: &str) -> Option<Grant> {
        let mut codes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        codes
            .remove(code)
            .filter(|p| p.expires > Instant::now())
            .map(|p| p.grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            scope: vec!["openid".into()],
            nonce: None,
            code_challenge: None,
            username: "alice".into(),
            auth_time: 0,
            sid: None,
        }
    }

    #[test]
    fn codes_are_single_use() {
        let codes = Codes::default();
        let code = codes.issue(grant());
        assert_eq!(codes.take(&code).map(|g| g.username), Some("alice".into()));
        assert!(codes.take(&code).is_none());
        assert!(codes.take("never-issued").is_none());
    }
}

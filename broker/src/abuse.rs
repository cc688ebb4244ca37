//! Abuse detection's flags and blocks as the operator sees them (`GET /admin/abuse`) and lifts
//! them (`DELETE /admin/abuse?subject=…`). The proxies set them (`tessera_proxy::behaviour`);
//! the broker only reads the markers' index and deletes a marker, through the store. A lifted
//! block stops being enforced by each proxy at its next flush that sees the subject (the merge
//! answers "no marker"); a lifted flag comes back if the signal is still above its threshold.

use std::sync::Arc;

use serde::Serialize;
use tessera_shared::error::StoreError;
use tessera_shared::store::Store;

/// The most markers one listing returns (soonest to end first).
pub const MAX_LISTED: usize = 1000;

/// One flag or block, as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkerView {
    /// `c:CLIENT_ID` (a client; `c:#HASH` for an id that is not plain) or `s:ADDRESS` (an
    /// address; an IPv6 /64 as `s:PREFIX::/64`) from the proxies; `p:ADDRESS` or
    /// `u:HMAC(username)` from the password grant.
    pub subject: String,
    pub rule: String,
    /// `flag` or `block`.
    pub action: String,
    /// The signal when the rule tripped: calls, a share, or a count.
    pub value: f64,
    /// Unix ms.
    pub since: i64,
    pub until: i64,
}

#[derive(Debug, Clone)]
pub struct AbuseMarkers {
    store: Arc<dyn Store>,
}

impl AbuseMarkers {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AbuseMarkers { store }
    }

    /// The live flags and blocks.
    pub async fn list(&self) -> Result<Vec<MarkerView>, StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        let entries = self.store.behaviour_markers(now, MAX_LISTED).await?;
        Ok(entries
            .into_iter()
            .map(|e| MarkerView {
                subject: e.subject,
                rule: e.rule,
                action: e.action,
                value: e.value,
                since: e.since_ms,
                until: e.until_ms,
            })
            .collect())
    }

    /// Lifts `subject`'s flag or block: `None` for a subject that cannot be one (the admin
    /// error names the field), else whether there was a marker.
    pub async fn lift(&self, subject: &str) -> Option<Result<bool, StoreError>> {
        if !well_formed(subject) {
            return None;
        }
        Some(self.store.behaviour_lift(subject).await)
    }
}

/// `c:`, `s:` (the proxies' subjects), `p:` or `u:` (the password grant's) and up to 200
/// visible ASCII characters without braces (which would move the key's hash tag).
fn well_formed(subject: &str) -> bool {
    ["c:", "s:", "p:", "u:"]
        .iter()
        .any(|p| subject.starts_with(p))
        && subject.len() > 2
        && subject.len() <= 202
        && subject
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subjects_the_proxies_write_are_accepted() {
        for ok in ["c:app-1", "s:10.0.0.1", "s:2001:db8::/64", "c:#00ff"] {
            assert!(well_formed(ok), "{ok}");
        }
        assert!(well_formed("u:abc") && well_formed("p:10.0.0.1"));
        for bad in [
            "",
            "c:",
            "x:1",
            "c:a}b",
            "s:a b",
            &format!("c:{}", "a".repeat(201)),
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}

//! The property behind the canonical path: for any request path the proxy would forward, the
//! backend's fully normalised path — escapes decoded until nothing changes, `\` read as `/`,
//! `;params` dropped, dot-segments resolved — stays under the route's upstream path.
//!
//! The normalisation is the end-to-end tests' oracle (`tests/api/gateway/normalise.rs`), written
//! independently of [`super::backend_view`], so that the property does not grade the proxy's
//! own reading.
//! Paths are built from pieces attackers use, so most cases exercise a refusal rule.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::path::canonicalise;
#[path = "../../../tests/api/gateway/normalise.rs"]
mod normalise;
use crate::forward::target::tests::fwd;
use crate::forward::Forwarding;
use normalise::{fully_normalised, is_under};

const PIECES: &[&str] = &[
    "a",
    "b",
    "/",
    "//",
    ".",
    "..",
    "...",
    "\\",
    ";",
    ";x=1",
    "%",
    "%4",
    "%41",
    "%2e",
    "%2E",
    ".%2e",
    "%2e%2e",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%3b",
    "%00",
    "%0a",
    "%25",
    "%252e",
    "%252f",
    "%25%32%65",
    "%c0%ae",
    "%e0%80%ae",
    "%ef%bc%8e",
    "%ef%bc%8f",
    "%e2%80%a5",
    "%u002e",
    "%20",
    "%3F",
    "%23",
    "%c3%a9",
    "~",
    "@",
    ":",
    "+",
];

/// The route `/api` (prefix stripped) to `http://backend:9000/base`.
fn forwarded(tail: &str, allow_encoded_slashes: bool) -> Option<String> {
    let raw = format!("/api{tail}");
    let path = canonicalise(&raw).ok()?;
    let p = path.as_str();
    if !(p == "/api" || p.starts_with("/api/")) {
        return None;
    }
    if path.has_encoded_slash() && !allow_encoded_slashes {
        return None;
    }
    let mut fwd: Forwarding = fwd("http://backend:9000/base", Some("/api"), "/api");
    fwd.allow_encoded_slashes = allow_encoded_slashes;
    fwd.backend_uri(&path, "")
        .ok()
        .map(|u| u.path().to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn forwarded_paths_stay_under_the_upstream_path(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..12),
        slashes in any::<bool>(),
    ) {
        let tail: String = pieces.concat();
        if let Some(sent) = forwarded(&tail, slashes) {
            let seen = fully_normalised(&sent);
            prop_assert!(is_under(&seen, "/base"), "/api{tail} -> {sent} -> {seen}");
            prop_assert!(sent.starts_with("/base"), "{sent}");
        }
    }

    #[test]
    fn canonical_paths_are_fixed_points(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..12),
    ) {
        let raw = format!("/{}", pieces.concat());
        if let Ok(once) = canonicalise(&raw) {
            let twice = canonicalise(once.as_str()).unwrap();
            prop_assert_eq!(once.as_str(), twice.as_str());
        }
    }
}

#[test]
fn the_property_is_not_vacuous() {
    // Enough generated paths are forwarded for the property to mean something.
    assert_eq!(forwarded("/a%2Fb", true).as_deref(), Some("/base/a%2Fb"));
    assert_eq!(forwarded("/%41~@", false).as_deref(), Some("/base/A~@"));
    assert_eq!(forwarded("/a/../..", false), None);
    assert_eq!(fully_normalised("/base/%252e%252e/x"), "/x");
    assert_eq!(fully_normalised("/base/..%5c..%5cetc"), "/etc");
}

//! What a lookup reads of a stored token record before it knows the token is active (issue 11,
//! P2): the fields its checks need, borrowed from the stored text, everything else skipped
//! unread — no `String`, no `Value`, no map. The stored form is the broker's JSON
//! ([`TokenRecord`]), unchanged: tokens stored before this reader existed read the same.

use std::borrow::Cow;

use serde::de::{IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use crate::model::TokenRecord;

/// What the checks of [`super::TokenLookup`] read of a record, whichever form it was read into.
pub(super) struct Checks<'r> {
    pub client_id: &'r str,
    pub app_id: Uuid,
    pub app_generation: u64,
    pub exp: i64,
    pub family: Option<&'r str>,
}

/// A record read for its checks only. `grant` and `iat` must be there, as a full read asks.
#[derive(Deserialize)]
pub(super) struct RecordView<'a> {
    #[serde(borrow)]
    client_id: Text<'a>,
    app_id: Uuid,
    app_generation: u64,
    exp: i64,
    #[serde(default, borrow)]
    family: Option<Text<'a>>,
    #[allow(dead_code)]
    grant: IgnoredAny,
    #[allow(dead_code)]
    iat: IgnoredAny,
}

/// A record's checked fields.
pub(super) trait Checked {
    fn checks(&self) -> Checks<'_>;
}

impl Checked for RecordView<'_> {
    fn checks(&self) -> Checks<'_> {
        Checks {
            client_id: &self.client_id.0,
            app_id: self.app_id,
            app_generation: self.app_generation,
            exp: self.exp,
            family: self.family.as_ref().map(|f| &*f.0),
        }
    }
}

impl Checked for TokenRecord {
    fn checks(&self) -> Checks<'_> {
        Checks {
            client_id: &self.client_id,
            app_id: self.app_id,
            app_generation: self.app_generation,
            exp: self.exp,
            family: self.family.as_deref(),
        }
    }
}

/// A JSON string, borrowed from the stored text when it has no escapes (what the broker
/// writes for ids), else unescaped into its own `String`.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_reads_what_a_full_read_reads_and_borrows_it() {
        let stored = r#"{"client_id":"c1","app_id":"6f1c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","developer_id":"0b4c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","app_generation":3,"grant":"client_credentials","scope":["read","write"],"iat":10,"exp":20,"attributes":{"tier":"gold","n":[1,{"x":null}]},"family":"f1"}"#;
        let full: TokenRecord = serde_json::from_str(stored).unwrap();
        let view: RecordView = serde_json::from_str(stored).unwrap();
        let (a, b) = (full.checks(), view.checks());
        assert_eq!(
            (a.client_id, a.app_id, a.app_generation, a.exp, a.family),
            (b.client_id, b.app_id, b.app_generation, b.exp, b.family)
        );
        assert!(matches!(view.client_id.0, Cow::Borrowed(_)));
        // An escaped string is read unescaped, as a full read does.
        let escaped = stored.replace(r#""c1""#, r#""c\u0031""#);
        let view: RecordView = serde_json::from_str(&escaped).unwrap();
        assert_eq!(view.checks().client_id, "c1");
    }

    #[test]
    fn a_view_refuses_what_a_full_read_refuses_for_its_fields() {
        for broken in [
            r#"{"client_id":"c","app_id":"not a uuid","app_generation":1,"grant":"x","iat":1,"exp":2}"#,
            r#"{"client_id":"c","app_id":"6f1c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","app_generation":1,"iat":1,"exp":2}"#,
            r#"{"client_id":7,"app_id":"6f1c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","app_generation":1,"grant":"x","iat":1,"exp":2}"#,
            r#"{"client_id":"c","app_id":"6f1c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","app_generation":1,"grant":"x","iat":1,"exp":2"#,
            "",
        ] {
            assert!(
                serde_json::from_str::<RecordView>(broken).is_err(),
                "{broken}"
            );
        }
    }
}

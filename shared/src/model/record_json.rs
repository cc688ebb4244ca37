//! The token record's stored JSON, written by hand: the bytes `serde_json` writes for a
//! [`TokenRecord`] (the same members in the same order, the same escaping and numbers), for a
//! fraction of the work. Issue 11, P3: through serde, every issuance escaped twelve member names,
//! formatted two UUIDs through `Display` and grew its `String` twice (about 4.2k instructions
//! under callgrind); here the names are literals, the UUIDs are encoded on the stack and the
//! buffer is sized once. Strings (client id, scopes, subject, family, thumbprint) are written by
//! [`crate::json_string`] (copied when nothing in them needs escaping, else by serde), the
//! attributes' values by `serde_json`. Records are read back with
//! serde (`crate::tokens::read_record`); the tests below pin this writer to serde's output.

use uuid::Uuid;

use crate::json_string::write as string;

use super::TokenRecord;

/// Room for a record without attributes and with a few short scopes; more grows the buffer.
const TYPICAL_BYTES: usize = 384;

impl TokenRecord {
    /// The stored JSON of this record: exactly `serde_json::to_string(self)`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = Vec::with_capacity(TYPICAL_BYTES + self.client_id.len());
        out.extend_from_slice(b"{\"client_id\":");
        string(&mut out, &self.client_id)?;
        out.extend_from_slice(b",\"app_id\":");
        uuid(&mut out, &self.app_id);
        out.extend_from_slice(b",\"developer_id\":");
        uuid(&mut out, &self.developer_id);
        out.extend_from_slice(b",\"app_generation\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.app_generation).as_bytes());
        out.extend_from_slice(b",\"grant\":");
        string(&mut out, self.grant.as_str())?;
        out.extend_from_slice(b",\"scope\":[");
        for (i, scope) in self.scope.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(&mut out, scope)?;
        }
        out.push(b']');
        if let Some(sub) = &self.sub {
            out.extend_from_slice(b",\"sub\":");
            string(&mut out, sub)?;
        }
        out.extend_from_slice(b",\"iat\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.iat).as_bytes());
        out.extend_from_slice(b",\"exp\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.exp).as_bytes());
        out.extend_from_slice(b",\"attributes\":");
        serde_json::to_writer(&mut out, &self.attributes)?;
        if let Some(family) = &self.family {
            out.extend_from_slice(b",\"family\":");
            string(&mut out, family)?;
        }
        if let Some(jkt) = &self.jkt {
            out.extend_from_slice(b",\"jkt\":");
            string(&mut out, jkt)?;
        }
        out.push(b'}');
        // Only whole UTF-8 strings and ASCII were written: this cannot fail, and is not unwrapped.
        String::from_utf8(out).map_err(|e| serde_json::Error::io(std::io::Error::other(e)))
    }
}

/// A UUID as serde writes it to JSON: hyphenated, lower case, quoted.
fn uuid(out: &mut Vec<u8>, id: &Uuid) {
    let mut buf = Uuid::encode_buffer();
    let text = id.hyphenated().encode_lower(&mut buf);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::model::GrantType;
    use crate::scope::ScopeSet;

    fn record(
        strings: (String, Option<String>, Option<String>, Option<String>),
        numbers: (u128, u128, u64, i64, i64),
        grant: usize,
        scopes: Vec<String>,
        attributes: BTreeMap<String, String>,
    ) -> TokenRecord {
        let (client_id, sub, family, jkt) = strings;
        let (app, developer, app_generation, iat, exp) = numbers;
        TokenRecord {
            client_id,
            app_id: Uuid::from_u128(app),
            developer_id: Uuid::from_u128(developer),
            app_generation,
            grant: GrantType::ALL[grant % GrantType::ALL.len()],
            scope: ScopeSet::try_from(scopes).unwrap(),
            sub,
            iat,
            exp,
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
            family,
            jkt,
        }
    }

    /// Any JSON value an attribute may hold: strings of any characters (NUL, quotes,
    /// backslashes, U+2028, non-ASCII), numbers at their limits and finite floats, nested
    /// arrays and objects (whose member names are as hostile as the strings).
    fn any_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop_oneof![
                any::<f64>().prop_filter("finite", |f| f.is_finite()),
                Just(f64::MAX),
                Just(f64::MIN_POSITIVE),
                Just(-0.0),
                Just(5e-324),
            ]
            .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            Just(Value::String("\u{0}\u{2028}\u{2029}\"\\</script>".into())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Pinned (an attacker's review of the fourth session's speed work): a record whose
        /// attributes hold any JSON value — IdP claims and custom attributes are not only
        /// strings — is written byte for byte as serde writes it, is one object whose members
        /// are the record's own (none added or shadowed: a reader of it sees the same fields),
        /// and reads back equal.
        #[test]
        fn any_attribute_value_is_written_as_serde_writes_it(
            client_id in any::<String>(),
            sub in proptest::option::of(any::<String>()),
            attributes in proptest::collection::btree_map(any::<String>(), any_value(), 0..5),
        ) {
            let mut r = record(
                (client_id, sub, Some("fam\"ily".into()), Some("jkt\u{2028}".into())),
                (7, 8, 9, i64::MIN, i64::MAX),
                3,
                vec!["a".into()],
                BTreeMap::new(),
            );
            r.attributes = attributes.into_iter().collect();
            let ours = r.to_json().unwrap();
            prop_assert_eq!(&ours, &serde_json::to_string(&r).unwrap());
            let members: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&ours).unwrap();
            let names: Vec<&str> = members.keys().map(String::as_str).collect();
            prop_assert_eq!(
                names,
                ["app_id", "app_generation", "attributes", "client_id", "developer_id", "exp",
                 "family", "grant", "iat", "jkt", "scope"]
                    .into_iter()
                    .chain(r.sub.as_ref().map(|_| "sub"))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
            );
            prop_assert_eq!(serde_json::from_str::<TokenRecord>(&ours).unwrap(), r);
        }
    }

    proptest! {
        /// Any record, hostile strings included (quotes, backslashes, control characters,
        /// non-ASCII), is written byte for byte as serde writes it, and reads back equal.
        #[test]
        fn writes_what_serde_writes(
            strings in (
                any::<String>(),
                proptest::option::of(any::<String>()),
                proptest::option::of(any::<String>()),
                proptest::option::of(any::<String>()),
            ),
            numbers in (any::<u128>(), any::<u128>(), any::<u64>(), any::<i64>(), any::<i64>()),
            grant in 0usize..16,
            scopes in proptest::collection::vec("[!#-\\[\\]-~]{1,12}", 0..6),
            attributes in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        ) {
            let r = record(strings, numbers, grant, scopes, attributes);
            let ours = r.to_json().unwrap();
            prop_assert_eq!(&ours, &serde_json::to_string(&r).unwrap());
            prop_assert_eq!(serde_json::from_str::<TokenRecord>(&ours).unwrap(), r);
        }
    }

    #[test]
    fn a_typical_record_is_written_as_serde_writes_it() {
        let mut r = record(
            ("cid_\"x\\\u{1}é".into(), None, None, None),
            (1, u128::MAX, 7, 1_700_000_000, -1),
            2,
            vec!["read".into(), "write".into()],
            BTreeMap::from([("tier".into(), "gold".into())]),
        );
        r.attributes
            .insert("n".into(), serde_json::json!({"a": [1, 2.5, null, true]}));
        assert_eq!(r.to_json().unwrap(), serde_json::to_string(&r).unwrap());
        r.scope = ScopeSet::default();
        r.attributes.clear();
        assert_eq!(r.to_json().unwrap(), serde_json::to_string(&r).unwrap());
    }
}

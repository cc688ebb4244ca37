//! The token record's stored JSON, written by hand: the bytes `serde_json` writes for a
//! [`TokenRecord`] (the same members in the same order, the same escaping and numbers), for a
//! fraction of the work. Issue 11, P3: through serde, every issuance escaped twelve member names,
//! formatted two UUIDs through `Display` and grew its `String` twice (about 4.2k instructions
//! under callgrind); here the names are literals, the UUIDs are encoded on the stack and the
//! buffer is sized once. Strings (client id, scopes, subject, family, thumbprint) and the
//! attributes' values still go through `serde_json`'s own escaping. Records are read back with
//! serde (`crate::tokens::read_record`); the tests below pin this writer to serde's output.

use uuid::Uuid;

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

/// `s` as a JSON string, escaped as `serde_json` escapes it.
fn string(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    serde_json::to_writer(&mut *out, s)
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

//! Scope values (RFC 6749 §3.3): a space-delimited set of scope tokens.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A set of valid scope tokens, kept sorted so equal sets print equally. Stored and sent as a
/// JSON array of its tokens, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct ScopeSet(BTreeSet<String>);

/// Written straight from the set: serde's `into = "Vec<String>"` cloned the whole set into a
/// `Vec` on every token record written (issue 11, P3).
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl ScopeSet {
    /// Parses the space-delimited wire form. Empty input is the empty set; any token outside the
    /// RFC 6749 §3.3 alphabet, or doubled spaces, is an error naming the offending token.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(ScopeSet::default());
        }
        s.split(' ')
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .try_into()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes in both sets: what a token may still use of its grant once its app's scopes
    /// have changed.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes in either set: an app's own scopes and those its approved API products grant.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Keeps only the scopes in `other` (the intersection, in place: nothing is copied).
    pub fn retain_in(&mut self, other: &ScopeSet) {
        self.0.retain(|s| other.0.contains(s));
    }
}

/// The scopes themselves, moved out in order.
impl IntoIterator for ScopeSet {
    type Item = String;
    type IntoIter = std::collections::btree_set::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl TryFrom<Vec<String>> for ScopeSet {
    type Error = String;
    fn try_from(v: Vec<String>) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for s in v {
            if !is_scope_token(&s) {
                return Err(format!(
                    "'{}' is not a valid scope token",
                    s.escape_default()
                ));
            }
            set.insert(s);
        }
        Ok(ScopeSet(set))
    }
}

impl From<ScopeSet> for Vec<String> {
    fn from(s: ScopeSet) -> Self {
        s.0.into_iter().collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_sorted() {
        let s = ScopeSet::parse("write read").unwrap();
        assert_eq!(s.to_string(), "read write");
        assert!(ScopeSet::parse("read").unwrap().is_subset(&s));
        assert!(ScopeSet::parse("").unwrap().is_empty());
        let app = ScopeSet::parse("read admin").unwrap();
        assert_eq!(s.intersection(&app).to_string(), "read");
    }

    #[test]
    fn is_stored_as_the_array_of_its_tokens_in_order_and_read_back() {
        let s = ScopeSet::parse("write read orders:read").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["orders:read","read","write"]"#);
        assert_eq!(json, serde_json::to_string(&Vec::from(s.clone())).unwrap());
        assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), s);
        assert_eq!(serde_json::to_string(&ScopeSet::default()).unwrap(), "[]");
        assert!(serde_json::from_str::<ScopeSet>(r#"["a b"]"#).is_err());
    }

    #[test]
    fn refuses_bad_tokens() {
        assert!(ScopeSet::parse("a  b").is_err());
        assert!(ScopeSet::parse("a\"b").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
        assert!(ScopeSet::parse("é").is_err());
    }
}

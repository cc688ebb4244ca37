//! What a lookup's checks read of a token record ([`Checks`]), whichever form the record is in:
//! read in full ([`TokenRecord`]), or known by its [`Facts`] — kept, owned, by a reader that
//! saw the same record text before, so that checking it again costs no read of the text at
//! all (issue 11, P2). The stored form is the broker's JSON, unchanged.

use uuid::Uuid;

use crate::model::TokenRecord;

/// The fields of a record that [`super::TokenLookup::standing`] checks.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'r> {
    pub client_id: &'r str,
    pub app_id: Uuid,
    pub app_generation: u64,
    /// Seconds since the epoch.
    pub exp: i64,
    pub family: Option<&'r str>,
}

/// A record's checked fields.
pub trait Checked {
    fn checks(&self) -> Checks<'_>;
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

/// The checked fields of a record, owned: what a reader keeps beside the record's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    client_id: String,
    app_id: Uuid,
    app_generation: u64,
    exp: i64,
    family: Option<String>,
}

impl Facts {
    pub fn of(record: &TokenRecord) -> Facts {
        Facts {
            client_id: record.client_id.clone(),
            app_id: record.app_id,
            app_generation: record.app_generation,
            exp: record.exp,
            family: record.family.clone(),
        }
    }

    /// The record's expiry, in seconds.
    pub fn exp(&self) -> i64 {
        self.exp
    }
}

impl Checked for Facts {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_check_what_the_record_they_come_from_checks() {
        let text = r#"{"client_id":"c1","app_id":"6f1c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","developer_id":"0b4c2f6e-58a4-4a55-9a0e-4f3e2d1c0b9a","app_generation":3,"grant":"client_credentials","scope":["read"],"iat":10,"exp":20,"attributes":{"tier":"gold"},"family":"f1"}"#;
        let record: TokenRecord = serde_json::from_str(text).unwrap();
        let facts = Facts::of(&record);
        let (a, b) = (record.checks(), facts.checks());
        assert_eq!(
            (a.client_id, a.app_id, a.app_generation, a.exp, a.family),
            (b.client_id, b.app_id, b.app_generation, b.exp, b.family)
        );
        assert_eq!((facts.exp(), b.family), (20, Some("f1")));
    }
}

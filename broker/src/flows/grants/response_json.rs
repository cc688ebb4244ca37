//! The token answer's JSON, written by hand: the bytes `serde_json` writes for a
//! [`TokenResponse`] (the same members in the same order, the same escaping and numbers, the
//! optional members left out alike), for a fraction of the work. Issue 11, P3: through serde,
//! every issuance printed the scope into a `String` of its own and serialised the answer member
//! by member (about 2k instructions under callgrind); here the names are literals, the scope is
//! written straight from its set and the buffer is sized once. Tokens are written by
//! [`tessera_shared::json_string`] (serde's escaping where they need any); the tests below pin
//! this writer to serde's output.

use tessera_shared::scope::is_scope_token;

use tessera_shared::json_string::write as string;

use super::response::TokenResponse;

/// Room for the members' names, the token type and the number.
const FIXED_BYTES: usize = 128;

impl TokenResponse {
    /// The answer's JSON: exactly `serde_json::to_vec(self)`.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let tokens = [&self.refresh_token, &self.id_token]
            .into_iter()
            .flatten()
            .map(|t| t.expose().len())
            .sum::<usize>();
        let scopes = self.scope.iter().map(|s| s.len() + 1).sum::<usize>();
        let mut out =
            Vec::with_capacity(FIXED_BYTES + self.access_token.expose().len() + tokens + scopes);
        out.extend_from_slice(b"{\"access_token\":");
        string(&mut out, self.access_token.expose())?;
        out.extend_from_slice(b",\"token_type\":");
        string(&mut out, self.token_type)?;
        out.extend_from_slice(b",\"expires_in\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.expires_in).as_bytes());
        if !self.scope.is_empty() {
            out.extend_from_slice(b",\"scope\":");
            self.scope_string(&mut out)?;
        }
        if let Some(t) = &self.refresh_token {
            out.extend_from_slice(b",\"refresh_token\":");
            string(&mut out, t.expose())?;
        }
        if let Some(t) = &self.id_token {
            out.extend_from_slice(b",\"id_token\":");
            string(&mut out, t.expose())?;
        }
        if let Some(t) = self.issued_token_type {
            out.extend_from_slice(b",\"issued_token_type\":");
            string(&mut out, t)?;
        }
        out.push(b'}');
        Ok(out)
    }

    /// The scope as one JSON string, its tokens joined by spaces. Scope tokens (RFC 6749 §3.3)
    /// hold no quote, backslash or control character, so nothing in them needs escaping; a set
    /// that held another token anyway is written through serde.
    fn scope_string(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        if !self.scope.iter().all(is_scope_token) {
            return string(out, &self.scope.to_string());
        }
        out.push(b'"');
        for (i, scope) in self.scope.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(scope.as_bytes());
        }
        out.push(b'"');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tessera_shared::model::Sensitive;
    use tessera_shared::scope::ScopeSet;

    use super::*;

    fn response(
        tokens: (String, Option<String>, Option<String>),
        token_type: &'static str,
        expires_in: u64,
        scopes: Vec<String>,
        issued_token_type: Option<&'static str>,
    ) -> TokenResponse {
        let (access, refresh, id) = tokens;
        TokenResponse {
            access_token: Sensitive(access),
            token_type,
            expires_in,
            scope: ScopeSet::try_from(scopes).unwrap(),
            refresh_token: refresh.map(Sensitive),
            id_token: id.map(Sensitive),
            issued_token_type,
        }
    }

    proptest! {
        /// Any answer — tokens of any characters (quotes, backslashes, control characters,
        /// U+2028, non-ASCII), scopes of every character §3.3 allows, any number, each optional
        /// member present or absent — is written byte for byte as serde writes it.
        #[test]
        fn writes_what_serde_writes(
            tokens in (
                any::<String>(),
                proptest::option::of(any::<String>()),
                proptest::option::of(any::<String>()),
            ),
            dpop in any::<bool>(),
            expires_in in any::<u64>(),
            scopes in proptest::collection::vec("[!#-\\[\\]-~]{1,12}", 0..6),
            exchanged in any::<bool>(),
        ) {
            let r = response(
                tokens,
                if dpop { "DPoP" } else { "Bearer" },
                expires_in,
                scopes,
                exchanged.then_some("urn:ietf:params:oauth:token-type:access_token"),
            );
            prop_assert_eq!(r.to_json().unwrap(), serde_json::to_vec(&r).unwrap());
        }
    }

    #[test]
    fn the_usual_answers_are_serdes() {
        let every = (0x21u8..=0x7e)
            .filter(|b| *b != b'"' && *b != b'\\')
            .map(char::from)
            .collect::<String>();
        for (scopes, refresh) in [
            (vec![], None),
            (vec!["read".to_string(), "orders:write".to_string()], None),
            (vec![every], Some("tsr_rt_\"\\\u{2028}".to_string())),
        ] {
            let r = response(
                ("tsr_at_AAA".into(), refresh, None),
                "Bearer",
                3600,
                scopes,
                None,
            );
            let ours = r.to_json().unwrap();
            assert_eq!(ours, serde_json::to_vec(&r).unwrap());
            assert!(ours.starts_with(br#"{"access_token":"tsr_at_AAA","token_type":"Bearer""#));
        }
    }
}

//! Required claims (Azure API Management's `<required-claims>`): which claims a validated token
//! must carry, and with which values.
//!
//! A claim is required to be present; when values are listed, `match = "all"` (the default)
//! wants every listed value among the claim's values, `match = "any"` at least one. The claim's
//! values are read the way APIM reads them:
//!
//! * a string is a one-element list — except `scope` and `scp`, whose string form is the
//!   space-separated list of RFC 8693 §4.2 / RFC 9068 §2.2.3 (Okta, Azure AD);
//! * an array contributes each of its elements;
//! * numbers and booleans compare by their JSON text (`42`, `true`);
//! * `null` counts as absent, and objects (or nested arrays) have no comparable value.
//!
//! Comparison is exact and case-sensitive. Error messages name the claim but never echo the
//! token's values (they are attacker-chosen and end up in logs).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};

/// How the listed values of a [`RequiredClaim`] must be matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// Every listed value must be among the claim's values.
    #[default]
    All,
    /// At least one listed value must be among the claim's values.
    Any,
}

/// One `[[routes.auth.required_claims]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredClaim {
    pub name: String,
    #[serde(rename = "match", default)]
    pub match_: Match,
    /// Empty: the claim only has to be present.
    #[serde(default)]
    pub values: Vec<String>,
}

/// Claims whose string form is a space-separated list.
const SPACE_SEPARATED: &[&str] = &["scope", "scp"];

/// The comparable values of claim `name`, or `None` when it is absent or `null`.
pub(crate) fn values_of<'a>(name: &str, claim: Option<&'a Value>) -> Option<Vec<Cow<'a, str>>> {
    let claim = claim.filter(|v| !v.is_null())?;
    let split = SPACE_SEPARATED.contains(&name);
    let mut out = Vec::new();
    let mut push = |v: &'a Value| match v {
        Value::String(s) if split => {
            out.extend(s.split(' ').filter(|t| !t.is_empty()).map(Cow::from))
        }
        Value::String(s) => out.push(Cow::from(s.as_str())),
        Value::Number(n) => out.push(Cow::from(n.to_string())),
        Value::Bool(b) => out.push(Cow::from(if *b { "true" } else { "false" })),
        Value::Null | Value::Array(_) | Value::Object(_) => {}
    };
    match claim {
        Value::Array(items) => items.iter().for_each(&mut push),
        other => push(other),
    }
    Some(out)
}

/// Checks every required claim against `claims`; the error says which one failed and why.
pub(crate) fn check(required: &[RequiredClaim], claims: &Map<String, Value>) -> Result<(), String> {
    check_with(required, |name| claims.get(name))
}

/// [`check`] over any claim source (the route-level claim checks read a [`crate::caller::Caller`]'s
/// claims).
pub(crate) fn check_with<'a>(
    required: &[RequiredClaim],
    claim: impl Fn(&str) -> Option<&'a Value>,
) -> Result<(), String> {
    for rc in required {
        let Some(have) = values_of(&rc.name, claim(&rc.name)) else {
            return Err(format!("required claim {} is missing", rc.name));
        };
        if rc.values.is_empty() {
            continue;
        }
        let has = |want: &String| have.iter().any(|h| h == want.as_str());
        let ok = match rc.match_ {
            Match::All => rc.values.iter().all(has),
            Match::Any => rc.values.iter().any(has),
        };
        if !ok {
            let how = match rc.match_ {
                Match::All => "all",
                Match::Any => "any",
            };
            return Err(format!(
                "required claim {} does not have {how} of the required values",
                rc.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rc(name: &str, match_: Match, values: &[&str]) -> RequiredClaim {
        RequiredClaim {
            name: name.into(),
            match_,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    const CITIES: &[&str] = &["Los Angeles", "San Francisco"];

    #[test]
    fn any_accepts_one_listed_value_as_a_string_claim() {
        let c = claims(json!({"DealershipLocation": "Los Angeles"}));
        assert!(check(&[rc("DealershipLocation", Match::Any, CITIES)], &c).is_ok());
        let c = claims(json!({"DealershipLocation": "Seattle"}));
        let err = check(&[rc("DealershipLocation", Match::Any, CITIES)], &c).unwrap_err();
        assert!(
            err.contains("DealershipLocation") && !err.contains("Seattle"),
            "{err}"
        );
    }

    #[test]
    fn all_wants_every_listed_value() {
        let one = claims(json!({"DealershipLocation": "Los Angeles"}));
        assert!(check(&[rc("DealershipLocation", Match::All, CITIES)], &one).is_err());
        let both = claims(json!({"DealershipLocation": ["San Francisco", "Los Angeles", "X"]}));
        assert!(check(&[rc("DealershipLocation", Match::All, CITIES)], &both).is_ok());
    }

    #[test]
    fn a_string_claim_is_one_value_even_with_spaces() {
        let c = claims(json!({"DealershipLocation": "Los Angeles San Francisco"}));
        assert!(check(&[rc("DealershipLocation", Match::Any, CITIES)], &c).is_err());
    }

    #[test]
    fn scope_and_scp_strings_split_on_spaces() {
        let c = claims(json!({"scope": "openid  api:read api:write", "scp": "a b"}));
        assert!(check(&[rc("scope", Match::All, &["api:read", "api:write"])], &c).is_ok());
        assert!(check(&[rc("scope", Match::All, &["api:read", "admin"])], &c).is_err());
        assert!(check(&[rc("scp", Match::Any, &["b"])], &c).is_ok());
        let okta = claims(json!({"scp": ["api:read", "openid"]}));
        assert!(check(&[rc("scp", Match::All, &["openid", "api:read"])], &okta).is_ok());
    }

    #[test]
    fn presence_only_when_no_values_are_listed() {
        let c = claims(json!({"aud": [], "flag": false, "nothing": null}));
        assert!(check(&[rc("aud", Match::Any, &[])], &c).is_ok());
        assert!(check(&[rc("flag", Match::All, &[])], &c).is_ok());
        let err = check(&[rc("nothing", Match::All, &[])], &c).unwrap_err();
        assert!(err.contains("missing"), "{err}");
        assert!(check(&[rc("absent", Match::All, &[])], &c).is_err());
    }

    #[test]
    fn numbers_and_booleans_compare_by_json_text() {
        let c = claims(json!({"level": 3, "ratio": 1.5, "admin": true, "ids": [7, "8"]}));
        assert!(check(&[rc("level", Match::All, &["3"])], &c).is_ok());
        assert!(check(&[rc("ratio", Match::All, &["1.5"])], &c).is_ok());
        assert!(check(&[rc("admin", Match::Any, &["true"])], &c).is_ok());
        assert!(check(&[rc("admin", Match::Any, &["True"])], &c).is_err());
        assert!(check(&[rc("ids", Match::All, &["7", "8"])], &c).is_ok());
    }

    #[test]
    fn objects_and_nested_arrays_have_no_comparable_value() {
        let c = claims(json!({"o": {"a": "x"}, "n": [["x"]]}));
        assert!(check(&[rc("o", Match::All, &[])], &c).is_ok());
        assert!(check(&[rc("o", Match::Any, &["x"])], &c).is_err());
        assert!(check(&[rc("n", Match::Any, &["x"])], &c).is_err());
    }

    #[test]
    fn every_required_claim_must_pass() {
        let c = claims(json!({"a": "1", "b": "2"}));
        let req = [rc("a", Match::All, &["1"]), rc("b", Match::All, &["3"])];
        let err = check(&req, &c).unwrap_err();
        assert!(err.contains("claim b"), "{err}");
        assert!(check(&[], &c).is_ok());
    }

    #[test]
    fn match_defaults_to_all_and_is_lowercase() {
        let r: RequiredClaim =
            serde_json::from_value(json!({"name": "x", "values": ["a"]})).unwrap();
        assert_eq!(r.match_, Match::All);
        let r: RequiredClaim =
            serde_json::from_value(json!({"name": "x", "match": "any"})).unwrap();
        assert_eq!(r.match_, Match::Any);
        assert!(
            serde_json::from_value::<RequiredClaim>(json!({"name": "x", "match": "Any"})).is_err()
        );
        assert!(
            serde_json::from_value::<RequiredClaim>(json!({"name": "x", "value": []})).is_err()
        );
    }
}

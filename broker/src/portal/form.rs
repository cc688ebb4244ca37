//! The portal's forms: `application/x-www-form-urlencoded` bodies of at most
//! `server.max_body_bytes`, read into name/value pairs (a checkbox list repeats its name).

use actix_web::{web, HttpRequest};
use tessera_shared::oauth::form::{has_media_type, read_body};

use super::error::PortalError;

/// Most fields one form may carry.
const MAX_FIELDS: usize = 200;

#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        limit: usize,
    ) -> Result<Form, PortalError> {
        if !has_media_type(req, "application/x-www-form-urlencoded") {
            return Err(invalid("form", "must be sent as a form"));
        }
        let body = read_body(payload, limit)
            .await
            .map_err(|_| invalid("form", "too large or unreadable"))?;
        Form::parse(&body)
    }

    pub fn parse(body: &[u8]) -> Result<Form, PortalError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        if pairs.len() > MAX_FIELDS {
            return Err(invalid("form", "too many fields"));
        }
        Ok(Form(pairs))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_string()
    }

    /// The non-empty lines of a text area.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

pub fn invalid(field: &str, message: &str) -> PortalError {
    PortalError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn repeated_names_and_lines() {
        let f = Form::parse(b"product=a&product=b&uris=x%0D%0A%0D%0A+y+&csrf=t").unwrap();
        assert_eq!(f.all("product").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.lines("uris"), ["x", "y"]);
        assert_eq!(f.get("csrf"), Some("t"));
        assert_eq!(f.text("none"), "");
        let many = "a=1&".repeat(201);
        assert!(Form::parse(many.as_bytes()).is_err());
    }
}

//! [`PortalError`]: what can go wrong on a portal page, answered as an HTML page of its own
//! (or, for a visitor who is not signed in, a redirect to the landing page). Texts are fixed or
//! come from the field rules, which never repeat the input; internal causes go to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use tessera_shared::error::{CatalogError, StoreError};

use super::view::{html, Nav};
use crate::admin::error::AdminError;
use crate::ratelimit::Refusal;

#[derive(Debug)]
pub enum PortalError {
    /// Not signed in (or the session ended): back to the landing page.
    SignIn,
    /// Signed in, but this is not for them (operators only, a suspended developer).
    Forbidden(&'static str),
    NotFound(&'static str),
    /// A form field broke its rule.
    Invalid {
        field: String,
        message: String,
    },
    /// The change does not apply as things stand.
    Conflict(String),
    /// The form did not carry this session's CSRF token.
    Csrf,
    /// The sign-in did not succeed (a fixed, safe text).
    SignInFailed(&'static str),
    TooMany(Refusal),
    Unavailable,
    Internal,
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<StoreError> for PortalError {
    fn from(e: StoreError) -> Self {
        AdminError::from(e).into()
    }
}

impl From<CatalogError> for PortalError {
    fn from(e: CatalogError) -> Self {
        AdminError::from(e).into()
    }
}

/// The admin API's answers, as the portal says them: the portal runs the same code.
impl From<AdminError> for PortalError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unauthorized => PortalError::SignIn,
            AdminError::Invalid { field, message } => PortalError::Invalid { field, message },
            AdminError::NotFound(what) => PortalError::NotFound(what),
            AdminError::Conflict(field) => PortalError::Conflict(format!("{field} already in use")),
            AdminError::State(why) => PortalError::Conflict(why.to_string()),
            AdminError::PayloadTooLarge => PortalError::Invalid {
                field: "form".into(),
                message: "too large".into(),
            },
            AdminError::Unavailable => PortalError::Unavailable,
            AdminError::Internal => PortalError::Internal,
        }
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    nav: Nav,
    title: &'a str,
    detail: String,
}

impl PortalError {
    fn text(&self) -> (&'static str, String) {
        match self {
            PortalError::SignIn => ("Sign in", "Please sign in.".into()),
            PortalError::Forbidden(why) => ("Not allowed", (*why).into()),
            PortalError::NotFound(what) => ("Not found", format!("No such {what}.")),
            PortalError::Invalid { field, message } => {
                ("Please check the form", format!("{field}: {message}"))
            }
            PortalError::Conflict(why) => ("That did not work", why.clone()),
            PortalError::Csrf => (
                "Form expired",
                "The form was not sent from this session's page. Go back, reload and retry.".into(),
            ),
            PortalError::SignInFailed(why) => ("Sign-in failed", (*why).into()),
            PortalError::TooMany(_) => ("Slow down", "Too many requests; retry shortly.".into()),
            PortalError::Unavailable => (
                "Temporarily unavailable",
                "Please retry in a moment.".into(),
            ),
            PortalError::Internal => ("Something went wrong", "Please retry later.".into()),
        }
    }
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignIn => StatusCode::SEE_OTHER,
            PortalError::Forbidden(_) | PortalError::Csrf => StatusCode::FORBIDDEN,
            PortalError::NotFound(_) => StatusCode::NOT_FOUND,
            PortalError::Invalid { .. } | PortalError::SignInFailed(_) => StatusCode::BAD_REQUEST,
            PortalError::Conflict(_) => StatusCode::CONFLICT,
            PortalError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            PortalError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PortalError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PortalError::SignIn = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/portal"))
                .finish();
        }
        let (title, detail) = self.text();
        let page = ErrorPage {
            nav: Nav::anonymous(),
            title,
            detail,
        };
        let mut res = html(self.status_code(), &page);
        if let PortalError::TooMany(r) = self {
            if let Ok(v) = header::HeaderValue::from_str(&r.retry_after_secs().to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

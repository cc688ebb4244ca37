//! [`AdminError`]: the admin API's errors and their HTTP shape, a small JSON object
//! (`{"error", "message", "field"?}`). Client-facing text never includes internal error text.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use tessera_shared::error::{CatalogError, StoreError};

/// Admin API errors: `{"error": code, "message": text, "field": name?}`.
#[derive(Debug)]
pub enum AdminError {
    Unauthorized,
    Invalid {
        field: String,
        message: String,
    },
    NotFound(&'static str),
    Conflict(&'static str),
    /// The change does not apply to the record as it stands (409, saying why).
    State(&'static str),
    PayloadTooLarge,
    Unavailable,
    Internal,
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<CatalogError> for AdminError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(what) => AdminError::NotFound(what),
            CatalogError::Conflict { field } => AdminError::Conflict(field),
            CatalogError::InUse("product") => {
                AdminError::State("apps hold pending or approved subscriptions to the product")
            }
            CatalogError::InUse(_) => AdminError::State("still in use"),
            CatalogError::Refused(why) => AdminError::State(why),
            CatalogError::Invalid { field, message } => AdminError::Invalid { field, message },
            CatalogError::Contended => AdminError::Unavailable,
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                AdminError::Unavailable
            }
            StoreError::Corrupt(cause) => {
                tracing::error!(%cause, "corrupt record in store");
                AdminError::Internal
            }
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) | AdminError::State(_) => StatusCode::CONFLICT,
            AdminError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            AdminError::Unauthorized => serde_json::json!({
                "error": "unauthorized", "message": "a valid admin bearer token is required"}),
            AdminError::Invalid { field, message } => serde_json::json!({
                "error": "invalid_request", "field": field, "message": message}),
            AdminError::NotFound(what) => serde_json::json!({
                "error": "not_found", "message": format!("{what} not found")}),
            AdminError::Conflict(field) => serde_json::json!({
                "error": "conflict", "field": field, "message": format!("{field} already in use")}),
            AdminError::State(why) => serde_json::json!({
                "error": "conflict", "message": why}),
            AdminError::PayloadTooLarge => serde_json::json!({
                "error": "payload_too_large", "message": "request body too large"}),
            AdminError::Unavailable => serde_json::json!({
                "error": "temporarily_unavailable", "message": "retry shortly"}),
            AdminError::Internal => serde_json::json!({
                "error": "internal", "message": "internal error"}),
        };
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, AdminError::Unauthorized) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"tessera-admin\""));
        }
        res.json(body)
    }
}

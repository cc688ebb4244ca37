//! `GET /admin/abuse` — the live flags and blocks of abuse detection's behaviour rules;
//! `DELETE /admin/abuse?subject=…` — lifts one (an operator's action). See
//! [`crate::abuse`].

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::AdminError;
use super::validate::invalid;
use super::Admin;
use crate::state::AppState;

/// `?subject=`: the subject as listed (`c:CLIENT_ID`, `c:CLIENT_ID~HASH` for a user of the
/// client, or `s:ADDRESS`).
#[derive(Debug, Deserialize)]
pub struct Lift {
    pub subject: String,
}

#[utoipa::path(get, path = "/admin/abuse", tag = "abuse",
    responses((status = 200, description = "`{\"markers\": [...]}`, soonest to end first (at most 1000)", body = Object)))]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, AdminError> {
    let markers = state.abuse.list().await?;
    Ok(HttpResponse::Ok().json(json!({ "markers": markers })))
}

#[utoipa::path(delete, path = "/admin/abuse", tag = "abuse",
    params(("subject" = String, Query, description = "The subject as listed: `c:CLIENT_ID` or `s:ADDRESS`")),
    responses((status = 204, description = "Lifted"), (status = 404, description = "No flag or block on this subject")))]
pub async fn lift(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let q = web::Query::<Lift>::from_query(req.query_string())
        .map_err(|_| invalid("subject", "required: c:CLIENT_ID or s:ADDRESS as listed"))?;
    match state.abuse.lift(&q.subject).await {
        None => Err(invalid(
            "subject",
            "must be c:CLIENT_ID or s:ADDRESS as listed",
        )),
        Some(Ok(true)) => Ok(HttpResponse::NoContent().finish()),
        Some(Ok(false)) => Err(AdminError::NotFound("abuse marker")),
        Some(Err(e)) => Err(e.into()),
    }
}

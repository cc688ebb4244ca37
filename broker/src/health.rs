//! `/healthz` (the process answers) and `/readyz` (the store answers too), on the public listener
//! where probes expect them; the status listener ([`configure_status`]) serves them as well, with
//! `/metrics`, which stays off the public listener.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;
use tessera_shared::method::get_or_head;

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", get_or_head().to(healthz))
        .route("/readyz", get_or_head().to(readyz));
}

/// The status listener's routes.
pub fn configure_status(cfg: &mut web::ServiceConfig) {
    configure(cfg);
    cfg.route("/metrics", get_or_head().to(metrics));
}

/// The Prometheus text exposition format.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let wait = Duration::from_millis(state.config.store.command_timeout_ms);
    match tokio::time::timeout(wait, state.catalog.store().ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(cause = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "store unavailable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "store timed out" })),
    }
}

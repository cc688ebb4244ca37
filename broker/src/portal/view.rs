//! Rendering: every portal page is an askama template (`broker/templates/portal/`, escaped by
//! default) sent with the portal's Content-Security-Policy — scripts, styles and images only
//! from the portal itself (`/portal/static/…`), no inline script or style, forms posting only
//! back to the broker, no framing — and `Cache-Control: no-store` (pages show secrets once and
//! per-user data).

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;

/// The portal's policy: nothing inline, nothing from elsewhere.
pub const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The navigation bar's view of the visitor.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// Signed in as (empty: a visitor).
    pub email: String,
    pub operator: bool,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: String,
    /// Which section is open (`catalogue`, `apps`, `console`, …).
    pub section: &'static str,
}

impl Nav {
    pub fn anonymous() -> Self {
        Nav::default()
    }

    pub fn signed_in(&self) -> bool {
        !self.email.is_empty()
    }
}

/// The page `t`, with `status`.
pub fn html<T: Template>(status: StatusCode, t: &T) -> HttpResponse {
    match t.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, PORTAL_CSP))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(cause = %e, "a portal page did not render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}

/// The page `t` (200).
pub fn ok<T: Template>(t: &T) -> HttpResponse {
    html(StatusCode::OK, t)
}

/// A 303 to `to` (after a form, so that reloading does not repeat it).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// Unix seconds as `2026-11-29 10:05 UTC`.
pub fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A rate plan in words (`10ps spike arrest, 1000 a day`), or `—` when empty.
pub fn plan(p: &tessera_shared::rate::RatePlan) -> String {
    let mut parts = Vec::new();
    if let Some(r) = p.spike_arrest {
        parts.push(format!("spike arrest {}", String::from(r)));
    }
    if let Some(q) = p.quota {
        parts.push(format!("quota {} a {}", q.limit, q.period.as_str()));
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

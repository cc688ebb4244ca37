//! Threat protection as a step of a route, the adapter between the pipeline and this plain
//! library code: the request head (header size, patterns on the path, query and headers) is
//! checked before forwarding ([`HeadCheck`]); the body is checked as it streams in on its way
//! to the backend ([`crate::body`]), against the same compiled [`ThreatPolicy`]. Either way a
//! [`Violation`] becomes the refusal of its kind ([`blocked`]).

use std::sync::Arc;

use actix_web::http::StatusCode;

use super::{ThreatConfig, ThreatPolicy, Violation};
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Check, Exchange, Policy};

/// The route's threat policy, `None` when it sets no limit and no pattern.
pub fn compile(cfg: &ThreatConfig) -> Result<Option<Arc<ThreatPolicy>>, String> {
    let none = cfg.json.is_none()
        && cfg.patterns.is_empty()
        && cfg.max_body_bytes.is_none()
        && cfg.max_header_bytes.is_none();
    if none {
        return Ok(None);
    }
    Ok(Some(Arc::new(ThreatPolicy::compile(cfg)?)))
}

/// A violation, refused with the status of its kind (400, 413, 415 or 431).
pub fn blocked(v: Violation) -> Blocked {
    let status = StatusCode::from_u16(v.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let denial = Denial::Threat {
        status,
        message: v.message,
    };
    Blocked::by(Policy::Threat, denial)
}

/// The threat step: the request head.
#[derive(Debug)]
pub struct HeadCheck(Arc<ThreatPolicy>);

impl HeadCheck {
    pub fn new(policy: Arc<ThreatPolicy>) -> Self {
        HeadCheck(policy)
    }
}

impl Check for HeadCheck {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let req = x.req();
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()));
        (self.0)
            .check_head(x.path(), req.query_string(), headers)
            .map_err(blocked)
    }
}

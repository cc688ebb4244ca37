//! What a route may look like, checked when the table is compiled: a name fit for metrics
//! labels, a canonical path (what [`crate::canonical::path`] would leave unchanged, so that
//! requests can match it), a host without port, an upstream path without escapes or
//! parameters, and methods spelled exactly as clients must send them.

use actix_web::http::Method;

use super::RouteConfig;
use crate::bounded::MAX_ROUTE_NAME;
use crate::canonical::host::is_valid_route_host;
use crate::canonical::method::parse_configured;
use crate::canonical::path::is_canonical_route_path;

/// Checks the route's matching keys; returns its methods.
pub(super) fn check(cfg: &RouteConfig) -> Result<Vec<Method>, String> {
    if cfg.name.is_empty()
        || cfg.name.len() > MAX_ROUTE_NAME
        || cfg.name.chars().any(char::is_control)
    {
        return Err(format!(
            "name: 1 to {MAX_ROUTE_NAME} bytes, without control characters"
        ));
    }
    if !is_canonical_route_path(&cfg.path) {
        return Err(
            "path: must start with '/' and hold only letters, digits and \
                    -._~!$&'()*+,=:@ in segments that are neither empty nor '.' or '..'"
                .into(),
        );
    }
    if cfg.host.as_deref().is_some_and(|h| !is_valid_route_host(h)) {
        return Err("host: must be a host name or address, without a port".into());
    }
    if cfg.upstream.path().contains(['%', ';']) {
        return Err("upstream: its path must hold no '%' or ';'".into());
    }
    for m in cfg.scopes.methods.keys() {
        parse_configured(&format!("scopes.methods.{m}"), m)?;
    }
    cfg.methods
        .iter()
        .map(|m| parse_configured("methods", m))
        .collect()
}

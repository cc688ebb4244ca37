//! Step 0, before any policy: the request read once — head limits, method, host, canonical
//! path ([`crate::canonical`]) — its route chosen (a CORS preflight by the method it asks
//! about, when that route has a CORS policy), and the backend URI built from the same
//! canonical bytes the route matched. Whatever is refused here is refused before any lookup.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::HttpRequest;

use super::Call;
use crate::analytics::RouteLabel;
use crate::canonical::path::{canonicalise, CanonicalPath};
use crate::canonical::{host, method, Refusal};
use crate::denial::Denial;
use crate::policy::cors;
use crate::routes::{Match, Route};
use crate::state::Runtime;

/// The request's route, its canonical path, and the URI it is forwarded to if its policies
/// let it through.
pub(super) struct Routed<'a> {
    pub route: Arc<Route>,
    pub path: CanonicalPath<'a>,
    pub uri: http::Uri,
}

pub(super) fn route<'a>(
    req: &'a HttpRequest,
    rt: &Runtime,
    call: &mut Call,
) -> Result<Routed<'a>, Denial> {
    let refused = Denial::Refused;
    rt.config
        .server
        .head_limits()
        .check(req.uri(), req.headers())
        .map_err(refused)?;
    method::check(req.method()).map_err(refused)?;
    if req.method() == actix_web::http::Method::CONNECT {
        // RFC 9110 §9.3.6: CONNECT names an authority, never a path; the proxy tunnels nothing.
        return Err(refused(Refusal::TARGET_FORM));
    }
    let host = host::request_host(req.uri(), req.headers()).map_err(refused)?;
    let path = canonicalise(req.uri().path()).map_err(refused)?;
    let standard = method::standard(req.method()).is_some();
    let table = rt.table.load();
    let host = host.as_deref();
    // A CORS preflight goes to the route of the method it asks about, if that route has a
    // CORS policy to answer it; otherwise it is routed as any OPTIONS request.
    let asked = cors::preflight_method(req).and_then(|m| {
        let standard = method::standard(&m).is_some();
        match table.find(host, path.as_str(), &m, standard) {
            Match::Route(r) if r.cors => Some(r.clone()),
            _ => None,
        }
    });
    let route = match asked {
        Some(r) => r,
        None => match table.find(host, path.as_str(), req.method(), standard) {
            Match::Route(r) => r.clone(),
            Match::MethodNotAllowed { allow } => return Err(Denial::MethodNotAllowed { allow }),
            Match::NotImplemented => return Err(refused(Refusal::NOT_IMPLEMENTED)),
            Match::None => return Err(Denial::NoRoute),
        },
    };
    call.route = RouteLabel::Route(route.clone());
    if !standard {
        // An extension method the route lists: bounded by the configuration.
        call.method = Cow::Owned(req.method().as_str().to_string());
    }
    if path.has_encoded_slash() && !route.forward.allow_encoded_slashes {
        return Err(refused(Refusal::ENCODED_SLASH));
    }
    let uri = route
        .forward
        .backend_uri(&path, req.query_string())
        .map_err(refused)?;
    Ok(Routed { route, path, uri })
}

//! The last stage, once every step has let the call through: the request to the backend — the
//! headers it may see ([`crate::forward`]), the body under the size limit and the route's
//! threat policy ([`crate::body`]) — and the backend's answer back, or `502` / `504`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::request::{forwarded_chain, is_trusted, proto, Client};
use super::route::Routed;
use super::Call;
use crate::body;
use crate::body::Outbound;
use crate::denial::Denial;
use crate::forward::{Forwarding, Origin};
use crate::policy::exchange::{Blocked, Policy};
use crate::state::Runtime;

/// A deadline beyond any route's timeout: tokio's own for a timeout past the clock's range.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

pub(super) async fn send(
    req: &HttpRequest,
    payload: web::Payload,
    rt: &Runtime,
    routed: Routed<'_>,
    client: Client,
    call: &mut Call,
) -> Result<HttpResponse, Blocked> {
    let Routed { route, uri, .. } = routed;
    let fwd = &route.forward;
    let counter;
    // The request is built inside this block, so that none of its pieces (the head, the
    // headers, the body) stays in this future's state beside the exchange's, and the exchange
    // is pinned where it is built rather than moved into an awaited slot: every byte of this
    // future's state is moved on each call (issue 11, P1; `pipeline::sizes`).
    let exchange = std::pin::pin!({
        let headers = headers(req, rt, fwd, client, call);
        let max_body = rt.config.server.max_body_bytes;
        let body = body::request_body(req, payload, route.threat.as_deref(), max_body).await?;
        let (request, c) = request(req, fwd, uri, headers, body)?;
        counter = c;
        // The timeout covers the wait for the response head; a long streamed body is not cut
        // off. One clock reading starts it and dates the pool's idle check.
        let now = tokio::time::Instant::now();
        // As `tokio::time::timeout` does, a deadline past the clock's range is far away.
        let deadline = (now.checked_add(fwd.timeout)).unwrap_or_else(|| now + FAR_FUTURE);
        let sending = fwd.client.send(&fwd.endpoint, request, now.into_std());
        tokio::time::timeout_at(deadline, sending)
    });
    let sent = match exchange.await {
        Ok(sent) => sent,
        Err(_) => return Err(Blocked::by(Policy::Backend, Denial::GatewayTimeout)),
    };
    call.bytes_in = counter.bytes();
    match sent {
        // The proxy never asks to switch protocols (`Upgrade` is hop-by-hop, never forwarded),
        // so a `101` is an invalid answer (RFC 9110 §7.8: a server MUST NOT switch to a
        // protocol the request did not offer) — relayed, it would tell the client (or a proxy
        // in front) that the connection is now a tunnel while it goes on as HTTP. hyper has
        // closed the backend connection; the caller gets `502` (RFC 9110 §15.6.3).
        Ok((res, _)) if res.status() == http::StatusCode::SWITCHING_PROTOCOLS => {
            tracing::debug!(route = %route.name, "backend answered 101 to a request without Upgrade");
            Err(Blocked::by(Policy::Backend, Denial::BadGateway))
        }
        Ok((res, lease)) => Ok(crate::forward::response(res, lease)),
        Err(_) if counter.too_large() => Err(body::too_large()),
        Err(e) => {
            // Not reached, or the exchange broke ([`crate::forward::client`]). The error names
            // no URL (its query may carry what the client sent).
            let cause = std::error::Error::source(&e).map(|c| c.to_string());
            tracing::debug!(route = %route.name, error = %e, cause = ?cause, "backend exchange failed");
            Err(Blocked::by(Policy::Backend, Denial::BadGateway))
        }
    }
}

/// The headers the backend is sent, before the body is read ([`crate::forward`]).
fn headers(
    req: &HttpRequest,
    rt: &Runtime,
    fwd: &Forwarding,
    client: Client,
    call: &Call,
) -> http::HeaderMap {
    let Client { peer, ip } = client;
    let trusted = &rt.config.server.trusted_proxies;
    let origin = Origin {
        client_ip: ip,
        trusted_forwarded_for: forwarded_chain(req.headers(), peer, trusted),
        peer,
        trusted_peer: is_trusted(peer, trusted),
        proto: proto(req, rt, peer),
        host: req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok()),
    };
    let caller = call.outcome.caller.as_deref();
    fwd.request_headers(req.headers(), &origin, caller)
}

/// The request toward the backend, once its body is known: the headers of a decoded body
/// dropped, signed if the route signs, `Host` the backend's; and the counter of the bytes sent.
fn request(
    req: &HttpRequest,
    fwd: &Forwarding,
    uri: http::Uri,
    mut headers: http::HeaderMap,
    body: body::RequestBody,
) -> Result<(http::Request<Outbound>, body::Counter), Blocked> {
    if body.is_decoded() {
        for name in body::ENCODED_BODY_HEADERS {
            headers.remove(name);
        }
    }
    let method = http::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| Blocked::request(Denial::BadRequest("unsupported method".into())))?;
    if let Some(signing) = &fwd.signing {
        signing.sign(method.as_str(), &uri, &mut headers);
    }
    headers.insert(http::header::HOST, fwd.endpoint.host.clone());
    let (body, counter) = body.into_outbound();
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok((request, counter))
}

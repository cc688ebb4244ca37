//! The request pipeline: match a route, then run its policies in order — IP lists, spike
//! arrest, authentication, scopes, quota, threat protection — and forward. Every call, refused
//! or not, ends in one analytics event and the request metrics.
//!
//! Per-client spike arrest needs to know the client, so it runs as soon as authentication has
//! identified it (before scopes and quota); per-IP spike arrest runs before authentication, so
//! floods are stopped before any token lookup.
//!
//! [`route`] reads the request once and chooses its route (before any policy);
//! [`authenticate`] dispatches to the route's authentication policy; [`request`] reads what the
//! request says about its client (address, scheme, forwarding chain).

mod authenticate;
mod request;
mod route;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_shared::analytics::{AuthOutcome, CallEvent};

use crate::body::{self, Metered};
use crate::bounded::{truncate, MAX_CLIENT_ID};
use crate::caller::Caller;
use crate::canonical::method;
use crate::denial::Denial;
use crate::forward::Origin;
use crate::policy::ip::client_ip;
use crate::policy::quota::{self, Verdict};
use crate::policy::spike::SpikeKey;
use crate::routes::Route;
use crate::state::Runtime;
use authenticate::authenticate;
use request::{forwarded_chain, is_trusted, proto};

/// The route label of a call refused before a route was chosen.
const REJECTED: &str = "(rejected)";
/// The route label of a call no route matched.
const NO_ROUTE: &str = "(none)";

/// What the pipeline learnt about a call, for its analytics event.
pub(crate) struct Call {
    started: Instant,
    ts_ms: i64,
    route: String,
    /// From a fixed set: a standard method, one the route lists, or `OTHER`.
    method: Cow<'static, str>,
    caller: Option<Arc<Caller>>,
    auth: AuthOutcome,
    throttled: bool,
    bytes_in: u64,
}

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    rt: web::Data<Runtime>,
) -> HttpResponse {
    let mut call = Call {
        started: Instant::now(),
        ts_ms: chrono::Utc::now().timestamp_millis(),
        route: String::new(),
        method: Cow::Borrowed(method::standard(req.method()).unwrap_or(method::OTHER)),
        caller: None,
        auth: AuthOutcome::None,
        throttled: false,
        bytes_in: 0,
    };
    let mut quota_headers = None;
    let result = run(&req, payload, &rt, &mut call, &mut quota_headers).await;
    let mut response = match result {
        Ok(r) => r,
        Err(d) => {
            if let Denial::Refused(r) = &d {
                rt.metrics.rejected.with_label_values(&[r.reason]).inc();
            }
            if !call.route.is_empty() {
                rt.metrics
                    .refusals
                    .with_label_values(&[call.route.as_str(), policy_of(&d)])
                    .inc();
            } else if matches!(d, Denial::Refused(_)) {
                call.route = REJECTED.into();
            }
            d.response()
        }
    };
    if let Some(v) = quota_headers {
        for (name, value) in v {
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::HeaderName::from_static(name), value);
            }
        }
    }
    finish(&rt, call, response)
}

fn policy_of(d: &Denial) -> &'static str {
    match d {
        Denial::IpRefused => "ip",
        Denial::Throttled { reason, .. } => reason,
        Denial::MissingCredentials { .. }
        | Denial::InvalidToken { .. }
        | Denial::JwtFailure { .. } => "auth",
        Denial::InsufficientScope { .. } | Denial::ClaimsMismatch { .. } => "scope",
        Denial::Threat { .. } => "threat",
        Denial::Unavailable(_) => "unavailable",
        Denial::BadGateway | Denial::GatewayTimeout => "backend",
        _ => "request",
    }
}

async fn run(
    req: &HttpRequest,
    payload: web::Payload,
    rt: &Runtime,
    call: &mut Call,
    quota_headers: &mut Option<[(&'static str, String); 4]>,
) -> Result<HttpResponse, Denial> {
    let route::Routed { route, path, url } = route::route(req, rt, call)?;

    // 1. IP allow/deny.
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let trusted = &rt.config.server.trusted_proxies;
    let forwarded_for = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    let ip = client_ip(peer, forwarded_for, trusted);
    if let Some(list) = &route.ip {
        if !list.permits(ip) {
            return Err(Denial::IpRefused);
        }
    }

    // 2. Spike arrest per IP, before any lookup.
    if let Some((rate, SpikeKey::Ip)) = route.spike {
        spike(rt, call, &route, rate, &format!("ip:{ip}"))?;
    }

    // 3. Authentication.
    let caller = authenticate(req, rt, &route, call).await?;
    call.caller = caller.clone();

    if let Some(c) = &caller {
        // What spike arrest and quota count against (built once: it allocates).
        let subject = c.throttle_key();
        // 2b. Spike arrest per client: the app's plan, else the route's.
        let rate = c.rate_plan.spike_arrest.or(match route.spike {
            Some((r, SpikeKey::Client)) => Some(r),
            _ => None,
        });
        if let Some(rate) = rate {
            spike(rt, call, &route, rate, &subject)?;
        }
        // 4. Scopes.
        route
            .scopes
            .check(c, req.method().as_str())
            .map_err(|scope| Denial::InsufficientScope {
                realm: route.realm.clone(),
                scope,
            })?;
        route.scopes.check_claims(c).map_err(|message| {
            call.auth = AuthOutcome::Forbidden;
            Denial::ClaimsMismatch { message }
        })?;
        // 5. Quota: the app's plan, else the route's.
        let plan = c
            .rate_plan
            .quota
            .or(route.quota.as_ref().map(|q| q.quota()));
        if let Some(q) = plan {
            let fallback_limit = route
                .quota
                .as_ref()
                .and_then(|r| r.fallback_limit)
                .unwrap_or(q.limit);
            let v: Verdict = match &rt.store {
                Some(store) => {
                    quota::take(
                        store.as_ref(),
                        &rt.quota_fallback,
                        &subject,
                        q,
                        fallback_limit,
                    )
                    .await
                }
                None => quota::take_local(&rt.quota_fallback, &subject, q, fallback_limit),
            };
            if v.fallback {
                rt.metrics.quota_fallback.inc();
            }
            *quota_headers = Some(v.headers(q.period));
            if !v.allowed {
                call.throttled = true;
                return Err(Denial::Throttled {
                    retry_after_secs: v.reset_secs,
                    reason: "quota",
                });
            }
        }
    }

    // 6. Threat protection on the request head; the body is checked as it streams in.
    if let Some(t) = &route.threat {
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()));
        t.check_head(path.as_str(), req.query_string(), headers)
            .map_err(body::threat_denial)?;
    }

    // 7. Forward.
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
    let fwd = &route.forward;
    let mut headers = fwd.request_headers(req.headers(), &origin, caller.as_deref());
    let body = body::request_body(req, payload, &route, rt.config.server.max_body_bytes).await?;
    if body.is_decoded() {
        for name in body::ENCODED_BODY_HEADERS {
            headers.remove(name);
        }
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| Denial::BadRequest("unsupported method".into()))?;
    let (body, counter) = body.into_reqwest();
    let send = fwd
        .client
        .request(method, url)
        .headers(headers)
        .body(body)
        .send();
    // The timeout covers the wait for the response head; a long streamed body is not cut off.
    let sent = match tokio::time::timeout(fwd.timeout, send).await {
        Ok(sent) => sent,
        Err(_) => return Err(Denial::GatewayTimeout),
    };
    call.bytes_in = counter.bytes();
    match sent {
        Ok(res) => Ok(crate::forward::response(res)),
        Err(e) => {
            if counter.too_large() {
                return Err(Denial::Threat {
                    status: actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    message: "the request body is too large".into(),
                });
            }
            let denial = crate::forward::failure(&e);
            // Without the URL: its query may carry what the client sent.
            tracing::debug!(route = %route.name, error = %e.without_url(), "backend exchange failed");
            Err(denial)
        }
    }
}

fn spike(
    rt: &Runtime,
    call: &mut Call,
    route: &Route,
    rate: tessera_shared::rate::Rate,
    key: &str,
) -> Result<(), Denial> {
    rt.spikes.check(&route.name, rate, key).map_err(|wait| {
        call.throttled = true;
        Denial::Throttled {
            retry_after_secs: wait.as_secs_f64().ceil() as u64,
            reason: "spike_arrest",
        }
    })
}

/// Records the call (metrics, analytics event) once its response body has been sent.
fn finish(rt: &web::Data<Runtime>, call: Call, response: HttpResponse) -> HttpResponse {
    let status = response.status().as_u16();
    let latency = call.started.elapsed();
    let route = if call.route.is_empty() {
        NO_ROUTE.to_string()
    } else {
        call.route
    };
    let client = call
        .caller
        .as_ref()
        .map(|c| truncate(&c.client_id, MAX_CLIENT_ID))
        .unwrap_or("");
    rt.metrics
        .requests
        .with_label_values(&[route.as_str(), &call.method, client, status_label(status)])
        .inc();
    rt.metrics
        .latency
        .with_label_values(&[route.as_str()])
        .observe(latency.as_secs_f64());
    let event = CallEvent {
        ts_ms: call.ts_ms,
        client_id: (!client.is_empty()).then(|| client.to_string()),
        app_id: call.caller.as_ref().and_then(|c| c.app_id),
        developer_id: call.caller.as_ref().and_then(|c| c.developer_id),
        route,
        method: call.method.into_owned(),
        status,
        latency_us: latency.as_micros() as u64,
        bytes_in: call.bytes_in,
        bytes_out: 0,
        auth: call.auth,
        throttled: call.throttled,
    };
    Metered::wrap(response, rt.emitter.clone(), event)
}

/// Status label without allocating for the common codes.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        414 => "414",
        413 => "413",
        429 => "429",
        431 => "431",
        500 => "500",
        502 => "502",
        503 => "503",
        501 => "501",
        504 => "504",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

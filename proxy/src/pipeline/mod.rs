//! The request pipeline: read the request once and choose its route ([`route`]), run the
//! route's policy steps in order ([`crate::policy`]: IP lists, spike arrest per IP, CORS,
//! authentication, spike arrest per client, scopes, quota, threat protection), then forward
//! ([`send`]). The first refusal answers. Every call, refused or not, ends in one analytics event
//! and the request metrics; a refusal on a matched route is counted by the policy it names.
//!
//! [`request`] reads what the request says about its client (address, scheme, forwarding
//! chain).

mod request;
mod route;
mod send;
#[cfg(test)]
mod sizes;

use std::borrow::Cow;
use std::time::Instant;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::analytics::{CallRecord, RouteLabel};
use crate::body::Metered;
use crate::canonical::method;
use crate::denial::Denial;
use crate::policy::cors;
use crate::policy::exchange::{Blocked, Exchange, Outcome};
use crate::state::Runtime;

/// The route label of a call refused before a route was chosen.
const REJECTED: &str = "(rejected)";
/// The route label of a call no route matched.
const NO_ROUTE: &str = "(none)";

/// What the pipeline learnt about a call, for its analytics event.
pub(crate) struct Call {
    started: Instant,
    ts_ms: i64,
    /// The matched route (its `Arc`: no copy of its name), or a fixed label.
    route: RouteLabel,
    /// From a fixed set: a standard method, one the route lists, or `OTHER`.
    method: Cow<'static, str>,
    /// What the policy steps learnt: the caller, the authentication outcome, throttling, the
    /// quota headers.
    outcome: Outcome,
    bytes_in: u64,
    /// The client address, once read (recorded in the event of a refused call only).
    client_ip: Option<std::net::IpAddr>,
    /// The policy that refused the call, if one did.
    refused_by: Option<&'static str>,
    /// The abuse detection rule that had flagged or blocked the caller, if one had.
    flagged_by: Option<&'static str>,
}

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    rt: web::Data<Runtime>,
) -> HttpResponse {
    let mut call = Call {
        started: Instant::now(),
        ts_ms: chrono::Utc::now().timestamp_millis(),
        route: RouteLabel::Fixed(NO_ROUTE),
        method: Cow::Borrowed(method::standard(req.method()).unwrap_or(method::OTHER)),
        outcome: Outcome::default(),
        bytes_in: 0,
        client_ip: None,
        refused_by: None,
        flagged_by: None,
    };
    let mut response = match run(&req, payload, &rt, &mut call).await {
        Ok(r) => r,
        Err(blocked) => {
            if call.client_ip.is_none() {
                call.client_ip = Some(request::Client::of(&req, &rt).ip);
            }
            refused(&rt, &mut call, blocked)
        }
    };
    if let Some(answer) = call.outcome.cors.take() {
        cors::apply(answer, response.headers_mut());
    }
    if let Some(v) = call.outcome.quota_headers.take() {
        for (name, value) in v {
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::HeaderName::from_static(name), value);
            }
        }
    }
    if let Some(b) = &rt.tools.behaviour {
        observe(b, &req, &call, response.status());
        let client = call.outcome.caller.as_ref();
        let client = client.map(|c| (c.client_id.as_str(), c.sub.as_deref()));
        call.flagged_by = b.flagged(call.client_ip, client);
    }
    finish(&rt, call, response)
}

/// Tells abuse detection's behaviour rules how the call ended.
fn observe(b: &crate::behaviour::Behaviour, req: &HttpRequest, call: &Call, status: StatusCode) {
    b.observe(crate::behaviour::Seen {
        ip: call.client_ip,
        client: call.outcome.caller.as_ref().map(|c| c.client_id.as_str()),
        sub: call.outcome.caller.as_ref().and_then(|c| c.sub.as_deref()),
        status: status.as_u16(),
        forwarded: matches!(call.refused_by, None | Some("backend")),
        refused_by_abuse: call.refused_by == Some("abuse"),
        credential: req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    });
}

async fn run(
    req: &HttpRequest,
    payload: web::Payload,
    rt: &Runtime,
    call: &mut Call,
) -> Result<HttpResponse, Blocked> {
    let routed = route::route(req, rt, call).map_err(Blocked::request)?;
    let client = request::Client::of(req, rt);
    call.client_ip = Some(client.ip);
    let path = routed.path.as_str();
    let mut x = Exchange::new(req, path, client.ip, call.ts_ms, &mut call.outcome);
    for step in &routed.route.steps {
        if let Err(blocked) = step.check(&mut x).await {
            // Abuse detection counts refusals for authentication per address.
            if let (Some(abuse), StatusCode::UNAUTHORIZED) =
                (&routed.route.abuse, blocked.denial.status())
            {
                abuse.strike(client.ip).await;
            }
            return Err(blocked);
        }
    }
    send::send(req, payload, rt, routed, client, call).await
}

/// The answer to a refusal, counted by the reason of a request refused as it came and, on a
/// matched route, by the policy that refused it.
fn refused(rt: &Runtime, call: &mut Call, blocked: Blocked) -> HttpResponse {
    let Blocked { by, denial } = blocked;
    call.refused_by = Some(by.label());
    if let Denial::Refused(r) = &denial {
        rt.metrics.rejected.with_label_values(&[r.reason]).inc();
    }
    // An answered CORS preflight is no refusal.
    let refusal = !matches!(denial, Denial::Preflight(_));
    if refusal && call.route.is_route() {
        rt.metrics
            .refusals
            .with_label_values(&[call.route.as_str(), by.label()])
            .inc();
    } else if matches!(denial, Denial::Refused(_)) {
        call.route = RouteLabel::Fixed(REJECTED);
    }
    denial.response()
}

/// Records the call (metrics, analytics event) once its response body has been sent.
fn finish(rt: &web::Data<Runtime>, mut call: Call, response: HttpResponse) -> HttpResponse {
    let status = response.status().as_u16();
    let latency = call.started.elapsed();
    let record = CallRecord {
        ts_ms: call.ts_ms,
        route: call.route,
        method: call.method,
        caller: call.outcome.caller.take(),
        status,
        latency_us: latency.as_micros() as u64,
        bytes_in: call.bytes_in,
        bytes_out: 0,
        auth: call.outcome.auth,
        throttled: call.outcome.throttled,
        refused_by: call.refused_by,
        client_ip: call.refused_by.and(call.client_ip),
        flagged_by: call.flagged_by,
    };
    let route = record.route.as_str();
    let client = record.client().unwrap_or("");
    rt.metrics
        .requests
        .with_label_values(&[route, &record.method, client, status_label(status)])
        .inc();
    let series = || rt.metrics.latency.with_label_values(&[route]);
    match &record.route {
        RouteLabel::Route(r) => r.latency.get_or_init(series).observe(latency.as_secs_f64()),
        RouteLabel::Fixed(_) => series().observe(latency.as_secs_f64()),
    }
    Metered::wrap(response, rt.emitter.clone(), record)
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

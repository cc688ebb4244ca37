//! Request and response bodies on their way through the proxy.
//!
//! Requests: without a body nothing is sent; with one, it is checked against the size limit
//! (upfront from `Content-Length`, and again as bytes arrive) and, on routes with threat
//! protection, read whole and checked ([`inspected`]); otherwise it streams to the backend as
//! it arrives ([`Outbound`]).
//!
//! Responses: [`Metered`] counts the bytes sent to the client and emits the call's analytics
//! event when the body is done (or the client went away).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::analytics::{CallRecord, Emitter};
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Policy};
use crate::policy::threat::ThreatPolicy;

mod inspected;
mod outbound;

pub use inspected::ENCODED_BODY_HEADERS;
use outbound::Chunk;
pub use outbound::Outbound;

/// Bodies up to this size are read whole before forwarding (cheaper than a stream).
const BUFFER_UP_TO: u64 = 64 * 1024;

/// A body over the size limit: `413`, a threat-protection refusal.
pub(crate) fn too_large() -> Blocked {
    let denial = Denial::Threat {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: "the request body is too large".into(),
    };
    Blocked::by(Policy::Threat, denial)
}

/// A body that could not be read from the client: `400`.
fn unreadable() -> Blocked {
    Blocked::request(Denial::BadRequest(
        "the request body could not be read".into(),
    ))
}

/// Bytes received from the client, and whether the limit was crossed mid-stream.
#[derive(Debug, Clone)]
pub enum Counter {
    /// A body read before forwarding (or none): its length, known already. No shared state,
    /// no allocation per call.
    Known(u64),
    /// A streamed body, counted by the task that pumps it.
    Streaming(Arc<(AtomicU64, AtomicBool)>),
}

impl Counter {
    pub fn bytes(&self) -> u64 {
        match self {
            Counter::Known(n) => *n,
            Counter::Streaming(c) => c.0.load(Ordering::Relaxed),
        }
    }
    pub fn too_large(&self) -> bool {
        match self {
            Counter::Known(_) => false,
            Counter::Streaming(c) => c.1.load(Ordering::Relaxed),
        }
    }
}

pub(crate) enum RequestBody {
    Empty,
    Whole(Bytes),
    /// Decoded from its content coding for inspection, and forwarded so.
    Decoded(Bytes),
    Streaming {
        payload: web::Payload,
        limit: u64,
    },
}

impl RequestBody {
    /// The body was decoded from its `Content-Encoding`.
    pub fn is_decoded(&self) -> bool {
        matches!(self, RequestBody::Decoded(_))
    }

    /// The body for the backend ([`Outbound`]). Streaming bodies are pumped by a local task
    /// (the actix payload is tied to its worker thread) through a small channel, so
    /// backpressure holds.
    pub fn into_outbound(self) -> (Outbound, Counter) {
        match self {
            RequestBody::Empty => (Outbound::Empty, Counter::Known(0)),
            RequestBody::Whole(b) | RequestBody::Decoded(b) => {
                let counter = Counter::Known(b.len() as u64);
                (Outbound::Whole(Some(b)), counter)
            }
            RequestBody::Streaming { mut payload, limit } => {
                let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(8);
                let shared = Arc::new((AtomicU64::new(0), AtomicBool::new(false)));
                let c = shared.clone();
                actix_web::rt::spawn(async move {
                    while let Some(chunk) = payload.next().await {
                        let item = match chunk {
                            Ok(b) => {
                                let total = c.0.fetch_add(b.len() as u64, Ordering::Relaxed)
                                    + b.len() as u64;
                                if total > limit {
                                    c.1.store(true, Ordering::Relaxed);
                                    Err(std::io::Error::other("request body too large"))
                                } else {
                                    Ok(b)
                                }
                            }
                            Err(e) => Err(std::io::Error::other(e.to_string())),
                        };
                        let stop = item.is_err();
                        if tx.send(item).await.is_err() || stop {
                            break;
                        }
                    }
                });
                (Outbound::Streaming(rx), Counter::Streaming(shared))
            }
        }
    }
}

fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Reads (or prepares to stream) the request body under the route's rules: its threat
/// policy, if any, and the size limit.
pub(crate) async fn request_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    threat: Option<&ThreatPolicy>,
    max_body: u64,
) -> Result<RequestBody, Blocked> {
    let declared = content_length(req);
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return Ok(RequestBody::Empty);
    }
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    if let Some(threat) = threat.filter(|t| t.inspects_body()) {
        // Boxed: only a route whose threat policy reads bodies runs it (issue 11, P1: the
        // futures of every call stay small).
        return Box::pin(inspected::read(req, payload, threat, max_body)).await;
    }
    if declared.is_some_and(|n| n <= BUFFER_UP_TO) {
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > max_body {
                return Err(too_large());
            }
        }
        return Ok(RequestBody::Whole(buf.freeze()));
    }
    Ok(RequestBody::Streaming {
        payload,
        limit: max_body,
    })
}

/// A response body that counts what it sends and emits the call's event when dropped.
pub(crate) struct Metered {
    inner: BoxBody,
    sent: u64,
    emit: Option<(Emitter, CallRecord)>,
}

impl Metered {
    pub fn wrap(
        response: HttpResponse,
        emitter: Option<Emitter>,
        record: CallRecord,
    ) -> HttpResponse {
        let Some(emitter) = emitter else {
            return response;
        };
        response.map_body(|_, inner| {
            BoxBody::new(Metered {
                inner,
                sent: 0,
                emit: Some((emitter, record)),
            })
        })
    }
}

impl MessageBody for Metered {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(b))) = &polled {
            this.sent += b.len() as u64;
        }
        polled
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if let Some((emitter, mut record)) = self.emit.take() {
            record.bytes_out = self.sent;
            emitter.record(record);
        }
    }
}

//! A request body the route's threat policy inspects: read whole before anything is forwarded,
//! decoded first when it has a content coding ([`crate::policy::threat::decode`]), and fed
//! chunk by chunk to the route's checker, which refuses at the first violation.
//!
//! What is forwarded is what was inspected: a decoded body goes to the backend decoded, and the
//! pipeline drops the headers that described the encoded one ([`ENCODED_BODY_HEADERS`]).

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;

use super::{content_length, too_large, unreadable, RequestBody};
use crate::policy::exchange::Blocked;
use crate::policy::threat::step::blocked;
use crate::policy::threat::{BodyChecker, BodyKind, ThreatPolicy};

/// Headers of an encoded body that do not describe its decoded form: removed when the backend
/// gets the decoded body (its length is set anew from the body).
pub const ENCODED_BODY_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-length",
    "content-md5",
    "content-digest",
];

/// What the `Content-Type` says the body is.
fn kind(req: &HttpRequest) -> BodyKind {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    BodyKind {
        json: media == "application/json" || media.ends_with("+json"),
        form: media == "application/x-www-form-urlencoded",
    }
}

/// Checks `bytes` and keeps them for forwarding, within `max_body`.
fn accept(
    checker: &mut BodyChecker,
    buf: &mut BytesMut,
    bytes: &[u8],
    max_body: u64,
) -> Result<(), Blocked> {
    checker.feed(bytes).map_err(blocked)?;
    if (buf.len() + bytes.len()) as u64 > max_body {
        return Err(too_large());
    }
    buf.extend_from_slice(bytes);
    Ok(())
}

/// Reads, decodes and checks the whole body.
pub(super) async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    threat: &ThreatPolicy,
    max_body: u64,
) -> Result<RequestBody, Blocked> {
    let codings = req
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .map(|v| v.as_bytes());
    let mut decoder = threat.decoder(codings, max_body).map_err(blocked)?;
    // A decoded body's size is not known upfront: only an unencoded one is checked early.
    let declared = content_length(req).filter(|_| decoder.is_none());
    let mut checker = threat
        .body_checker_for(kind(req), declared)
        .map_err(blocked)?;
    let mut buf = BytesMut::new();
    let mut received = 0u64;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        received = received.saturating_add(chunk.len() as u64);
        if received > max_body {
            return Err(too_large());
        }
        match &mut decoder {
            Some(d) => {
                let plain = d.feed(&chunk).map_err(blocked)?;
                accept(&mut checker, &mut buf, &plain, max_body)?;
            }
            None => accept(&mut checker, &mut buf, &chunk, max_body)?,
        }
    }
    if let Some(d) = &mut decoder {
        let plain = d.finish().map_err(blocked)?;
        accept(&mut checker, &mut buf, &plain, max_body)?;
    }
    checker.finish().map_err(blocked)?;
    Ok(match decoder {
        Some(_) => RequestBody::Decoded(buf.freeze()),
        None => RequestBody::Whole(buf.freeze()),
    })
}

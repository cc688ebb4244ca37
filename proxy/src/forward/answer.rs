//! The backend's answer on its way to the client: its status, its headers less the
//! hop-by-hop ones and those its `Connection` lists (RFC 9110 §7.6.1), and its body streamed
//! frame by frame as it arrives — from hyper's `http` 1 types to actix's `http` 0.2 ones. The
//! backend connection goes back to its pool once the body has been read to the end.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use bytes::Bytes;
use http_body::Body;
use hyper::body::Incoming;

use super::pool::Lease;

/// The backend's answer, headers filtered, body streamed; `lease` is the connection it came on.
pub fn response(res: http::Response<Incoming>, lease: Lease) -> HttpResponse {
    let (head, body) = res.into_parts();
    let status = StatusCode::from_u16(head.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    let listed: Vec<String> = head
        .headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in &head.headers {
        let n = name.as_str();
        if matches!(
            n,
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authenticate"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
        ) || listed.iter().any(|l| l == n)
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((n, v));
        }
    }
    // A known length is kept (no chunked encoding toward the client). An answer to a `HEAD`
    // (no body by its framing, RFC 9112 §6.3, though the backend declared a length) keeps the
    // declared length: a `Content-Length` there must be what a `GET` would get (RFC 9110
    // §8.6), never the `0` of the empty body; actix writes no body for a `HEAD`. (A `204` has
    // no length, a `304` keeps none: actix writes none for either.)
    let bodiless = matches!(head.status.as_u16(), 204 | 304);
    let size = match body.size_hint().exact() {
        Some(0) if body.is_end_stream() && !bodiless => {
            declared_length(&head.headers).map_or(BodySize::None, BodySize::Sized)
        }
        Some(len) => BodySize::Sized(len),
        None => BodySize::Stream,
    };
    let mut body = FromBackend {
        body,
        size,
        lease: Some(lease),
    };
    body.release_at_end();
    out.body(body)
}

/// The one `Content-Length` of `headers` (RFC 9110 §8.6: digits only), if there is one;
/// without, the answer to a `HEAD` goes back without a length too.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    match (values.next(), values.next()) {
        (Some(v), None) if !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit) => {
            v.to_str().ok()?.parse().ok()
        }
        _ => None,
    }
}

/// The backend's body, its data frames passed on as they come (trailers are not forwarded).
struct FromBackend {
    body: Incoming,
    size: BodySize,
    /// The connection, until the body has been read to the end.
    lease: Option<Lease>,
}

impl FromBackend {
    /// Gives the connection back once nothing more is to be read from it.
    fn release_at_end(&mut self) {
        if self.body.is_end_stream() {
            if let Some(lease) = self.lease.take() {
                lease.release();
            }
        }
    }
}

impl MessageBody for FromBackend {
    type Error = hyper::Error;

    fn size(&self) -> BodySize {
        self.size
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        loop {
            let frame = match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    if let Some(lease) = this.lease.take() {
                        lease.release();
                    }
                    return Poll::Ready(None);
                }
            };
            this.release_at_end();
            // An empty chunk would read as the end of a chunked body toward the client.
            match frame.into_data() {
                Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                _ => continue,
            }
        }
    }
}

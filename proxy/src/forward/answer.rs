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
    // A known length is kept (no chunked encoding toward the client).
    let size = match body.size_hint().exact() {
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

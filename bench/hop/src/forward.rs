//! The forwarding itself, the same behind both servers: the request toward the backend over a
//! kept-alive hyper HTTP/1.1 connection of this thread's pool, and the answer back.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::http::{header as ah, Method, StatusCode, Uri};
use bytes::Bytes;
use http_body::Body;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

pub type Sender = SendRequest<Full<Bytes>>;

/// Idle connections per worker thread kept for the next calls.
const MAX_IDLE: usize = 64;

thread_local! {
    /// This thread's idle connections to the backend, most recently returned last.
    static IDLE: RefCell<Vec<Sender>> = const { RefCell::new(Vec::new()) };
}

/// The one backend: its address and its `Host`.
pub struct Backend {
    addr: String,
    host: http::HeaderValue,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), and the framing the client side sets itself.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "host"
    )
}

/// The lowercase names a `Connection` header lists (its values are usually absent: no alloc).
fn listed<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
    values
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

/// Takes out of `headers` the hop-by-hop ones and those its `Connection` lists (RFC 9110
/// §7.6.1), and `Host` and the framing, which the next hop sets itself: `http` 1's maps, for the
/// hyper server, which forwards the request's own map.
pub fn drop_hop_by_hop(headers: &mut http::HeaderMap) {
    let listed = listed(
        headers
            .get_all(http::header::CONNECTION)
            .iter()
            .map(|v| v.as_bytes()),
    );
    // `Host` is overwritten by the caller (one `insert`); the rest go one name at a time,
    // without a list (a standard name's clone allocates nothing).
    let doomed = |n: &http::HeaderName| {
        let n = n.as_str();
        n != "host" && (hop_by_hop(n) || listed.iter().any(|l| l == n))
    };
    while let Some(name) = headers.keys().find(|n| doomed(n)).cloned() {
        headers.remove(name);
    }
}

/// A bodiless answer with `code`.
pub fn status(code: u16) -> actix_http::Response<BoxBody> {
    actix_http::Response::new(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY))
}

impl Backend {
    pub fn new(addr: &str) -> Result<Backend, String> {
        let host = http::HeaderValue::from_str(addr).map_err(|_| "HOP_BACKEND: not a host:port")?;
        Ok(Backend {
            addr: addr.to_string(),
            host,
        })
    }

    /// Forwards one request; every failure is a `502`.
    pub async fn forward(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &actix_http::header::HeaderMap,
        body: Bytes,
    ) -> actix_http::Response<BoxBody> {
        let Ok(req) = self.request(method, uri, headers, body) else {
            return status(400);
        };
        match self.send(req).await {
            Some((res, tx)) => answer(res, tx),
            None => status(502),
        }
    }

    /// The backend's authority, the `Host` of every forwarded request.
    pub fn host(&self) -> http::HeaderValue {
        self.host.clone()
    }

    fn request(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &actix_http::header::HeaderMap,
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, http::Error> {
        let mut out = http::Request::new(Full::new(body));
        *out.method_mut() = http::Method::from_bytes(method.as_str().as_bytes())?;
        *out.uri_mut() = match uri.path_and_query() {
            Some(p) => http::Uri::try_from(p.as_str())?,
            None => http::Uri::from_static("/"),
        };
        let listed = listed(headers.get_all(ah::CONNECTION).map(|v| v.as_bytes()));
        let h = out.headers_mut();
        h.reserve(headers.len() + 1);
        h.insert(http::header::HOST, self.host.clone());
        for (name, value) in headers {
            let n = name.as_str();
            if hop_by_hop(n) || listed.iter().any(|l| l == n) {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(n.as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                h.append(n, v);
            }
        }
        Ok(out)
    }

    /// On a kept-alive connection of this thread, or a new one. A request a reused connection
    /// gives back unwritten (found closed) goes on another one.
    pub async fn send(
        &self,
        mut req: http::Request<Full<Bytes>>,
    ) -> Option<(http::Response<Incoming>, Sender)> {
        loop {
            let kept = IDLE.with(|idle| {
                let mut idle = idle.borrow_mut();
                while let Some(tx) = idle.pop() {
                    if tx.is_ready() {
                        return Some(tx);
                    }
                }
                None
            });
            let reused = kept.is_some();
            let mut tx = match kept {
                Some(tx) => tx,
                None => Box::pin(self.connect()).await?,
            };
            match tx.try_send_request(req).await {
                Ok(res) => return Some((res, tx)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return None,
                },
            }
        }
    }

    async fn connect(&self) -> Option<Sender> {
        let io = tokio::net::TcpStream::connect(&self.addr).await.ok()?;
        io.set_nodelay(true).ok()?;
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Some(tx)
    }
}

/// Back to this thread's pool.
pub fn release(tx: Sender) {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.len() < MAX_IDLE && !tx.is_closed() {
            idle.push(tx);
        }
    });
}

/// The backend's answer: status, headers less hop-by-hop ones, body streamed.
fn answer(res: http::Response<Incoming>, tx: Sender) -> actix_http::Response<BoxBody> {
    let (head, body) = res.into_parts();
    let code = StatusCode::from_u16(head.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = actix_http::Response::build(code);
    let listed = listed(
        head.headers
            .get_all(http::header::CONNECTION)
            .iter()
            .map(|v| v.as_bytes()),
    );
    for (name, value) in &head.headers {
        let n = name.as_str();
        if hop_by_hop(n) || listed.iter().any(|l| l == n) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            ah::HeaderName::from_bytes(n.as_bytes()),
            ah::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((n, v));
        }
    }
    let size = match body.size_hint().exact() {
        Some(len) => BodySize::Sized(len),
        None => BodySize::Stream,
    };
    let mut body = FromBackend {
        body,
        size,
        tx: Some(tx),
    };
    body.release_at_end();
    match out.message_body(body) {
        Ok(res) => res.map_into_boxed_body(),
        Err(_) => status(502),
    }
}

/// The backend's body, frame by frame; the connection goes back once it is read to the end.
struct FromBackend {
    body: Incoming,
    size: BodySize,
    tx: Option<Sender>,
}

impl FromBackend {
    fn release_at_end(&mut self) {
        if self.body.is_end_stream() {
            if let Some(tx) = self.tx.take() {
                release(tx);
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
                    if let Some(tx) = this.tx.take() {
                        release(tx);
                    }
                    return Poll::Ready(None);
                }
            };
            this.release_at_end();
            match frame.into_data() {
                Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                _ => continue,
            }
        }
    }
}

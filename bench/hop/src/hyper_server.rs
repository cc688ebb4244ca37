//! The third server in front of the same forwarding (`HOP_SERVER=hyper`): hyper 1's own HTTP/1.1
//! server (`hyper::server::conn::http1`) on a current-thread tokio runtime per worker thread,
//! with no actix at all — the floor of a Rust forwarder on this machine, to tell how much of the
//! gap to nginx is the server core Tessera stands on (actix-web) and how much is any Rust stack.
//!
//! Requests and answers stay in `http` 1's types end to end (the actix servers convert from
//! `http` 0.2's): the request's own parts are forwarded with the hop-by-hop headers taken out
//! and `Host` set, the backend's answer comes back with the same filter and its body streamed,
//! the backend connection going back to this thread's pool when the body ends.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::forward::{drop_hop_by_hop, release, Backend, Sender};

/// Serves `listen` with `workers` threads, each its own runtime, all accepting from one listening
/// socket (as actix-server's workers share one accept queue).
pub fn run(listen: &str, backend: Backend, workers: usize) -> std::io::Result<()> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|_| std::io::Error::other("HOP_LISTEN: not an address"))?;
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let backend = Arc::new(backend);
    let threads: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let listener = listener.try_clone();
            let backend = backend.clone();
            std::thread::spawn(move || serve(listener?, backend))
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

fn serve(listener: std::net::TcpListener, backend: Arc<Backend>) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(_) => continue,
            };
            // As the actix servers: without it, a failed option costs latency, not the connection.
            let _ = stream.set_nodelay(true);
            let backend = backend.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| relay(backend.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

type Answer = Response<Relayed>;

/// The whole body read, the request forwarded on its own parts; every failure is a status.
async fn relay(backend: Arc<Backend>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let (mut parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    parts.uri = match parts.uri.path_and_query() {
        Some(p) => match http::Uri::try_from(p.as_str()) {
            Ok(uri) => uri,
            Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
        },
        None => http::Uri::from_static("/"),
    };
    drop_hop_by_hop(&mut parts.headers);
    parts.headers.insert(http::header::HOST, backend.host());
    let out = Request::from_parts(parts, Full::new(body));
    Ok(match backend.send(out).await {
        Some((res, tx)) => answer(res, tx),
        None => status(StatusCode::BAD_GATEWAY),
    })
}

fn status(code: StatusCode) -> Answer {
    let mut res = Response::new(Relayed::empty());
    *res.status_mut() = code;
    res
}

fn answer(res: Response<Incoming>, tx: Sender) -> Answer {
    let (mut parts, body) = res.into_parts();
    drop_hop_by_hop(&mut parts.headers);
    let mut body = Relayed {
        body: Some(body),
        tx: Some(tx),
    };
    body.release_at_end();
    Response::from_parts(parts, body)
}

/// The backend's body, frame by frame; the connection goes back once it is read to the end.
pub struct Relayed {
    body: Option<Incoming>,
    tx: Option<Sender>,
}

impl Relayed {
    fn empty() -> Self {
        Relayed {
            body: None,
            tx: None,
        }
    }

    fn release_at_end(&mut self) {
        if self.body.as_ref().is_none_or(|b| b.is_end_stream()) {
            if let Some(tx) = self.tx.take() {
                release(tx);
            }
        }
    }
}

impl Body for Relayed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = ready!(Pin::new(body).poll_frame(cx));
        match &frame {
            None => {
                if let Some(tx) = this.tx.take() {
                    release(tx);
                }
            }
            Some(_) => this.release_at_end(),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.body {
            Some(b) => b.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

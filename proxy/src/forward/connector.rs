//! How the backend client connects: hyper-rustls over hyper-util's TCP connector, each
//! connection wrapped so that it reports nothing extra to the pool. hyper-util otherwise puts
//! the connection's "extra" (the TCP connector's socket addresses) into every response's
//! extensions — a map allocated per call that nothing here reads (issue 11, direction 4).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The backend client's connector: `http` and `https` backends alike.
#[derive(Clone)]
pub(super) struct Connector(pub HttpsConnector<HttpConnector>);

impl Service<Uri> for Connector {
    type Response = Quiet;
    type Error = BoxError;
    /// Boxed once per new connection, not per call.
    type Future = Pin<Box<dyn Future<Output = Result<Quiet, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.0.call(dst);
        Box::pin(async move { connecting.await.map(Quiet) })
    }
}

/// A backend connection that tells the pool only what it needs (HTTP/1.1, not proxied).
pub(super) struct Quiet(MaybeHttpsStream<TokioIo<TcpStream>>);

impl Connection for Quiet {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for Quiet {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl Write for Quiet {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}

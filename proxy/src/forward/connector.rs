//! How the backend client connects: hyper-util's TCP connector (connect timeout, `TCP_NODELAY`,
//! keep-alive probes) under hyper-rustls, which adds TLS for `https` backends and passes `http`
//! ones through. Called once per new connection, never per call.

use std::future::poll_fn;

use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which backend a connection goes to.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Key {
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
}

/// A connection to a backend, TLS or not.
pub(super) type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// The backend client's connector: `http` and `https` backends alike.
#[derive(Clone)]
pub(super) struct Connector(pub HttpsConnector<HttpConnector>);

impl Connector {
    /// A new connection to `key`'s scheme and authority.
    pub async fn connect(&self, key: &Key) -> Result<Stream, BoxError> {
        let dst = http::Uri::builder()
            .scheme(key.scheme.clone())
            .authority(key.authority.clone())
            .path_and_query("/")
            .build()?;
        let mut connector = self.0.clone();
        poll_fn(|cx| connector.poll_ready(cx)).await?;
        connector.call(dst).await
    }
}

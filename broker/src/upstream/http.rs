//! The HTTP client of every upstream call (discovery, JWKS, token endpoint): reqwest without
//! redirects and with timeouts (built once), and a cap on what it reads. The body is read as it
//! streams in and abandoned past `upstream.max_response_bytes`, so a huge or endless answer —
//! a hostile or broken provider, or whatever sits at a discovered URL — costs at most the cap in
//! memory and ends at once as "upstream unavailable", instead of being buffered whole.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{http, AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

/// reqwest behind a response size cap.
#[derive(Debug, Clone)]
pub struct CappedClient {
    http: reqwest::Client,
    max_bytes: usize,
}

impl CappedClient {
    pub fn new(http: reqwest::Client, max_bytes: usize) -> Self {
        CappedClient { http, max_bytes }
    }

    async fn fetch(
        &self,
        request: HttpRequest,
    ) -> Result<HttpResponse, HttpClientError<reqwest::Error>> {
        let request = reqwest::Request::try_from(request).map_err(Box::new)?;
        let mut response = self.http.execute(request).await.map_err(Box::new)?;
        let too_big = || {
            HttpClientError::Other(format!(
                "response larger than {} bytes (upstream.max_response_bytes)",
                self.max_bytes
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_big());
        }
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpClientError::Http)
    }
}

impl<'c> AsyncHttpClient<'c> for CappedClient {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.fetch(request))
    }
}

//! The upstream's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2): where the
//! broker sends the browser so that an app's logout ends the upstream session too.
//!
//! openidconnect's core metadata type drops members it does not model, so the discovery
//! document is read once more for `end_session_endpoint` when discovery runs (through the same
//! capped, non-redirecting client); an upstream without one just has no upstream logout. The
//! same reading takes `authorization_response_iss_parameter_supported` (RFC 9207 §3): a
//! provider that says it sends `iss` in its authorization responses must send it.

use openidconnect::http::{header, Method, Request};
use openidconnect::AsyncHttpClient;

use super::http::CappedClient;
use super::{Upstream, UpstreamError};

/// What the discovery document at `issuer` says beyond what openidconnect reads.
#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    /// Its http(s) `end_session_endpoint`, if any.
    pub end_session: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    pub iss_in_response: bool,
}

/// The [`Extras`] of the discovery document at `issuer` (none when it cannot be read).
pub(super) async fn discover(http: &CappedClient, issuer: &str) -> Extras {
    let Some(doc) = document(http, issuer).await else {
        return Extras::default();
    };
    let iss = doc.get("authorization_response_iss_parameter_supported");
    Extras {
        iss_in_response: iss.and_then(serde_json::Value::as_bool) == Some(true),
        end_session: end_session_endpoint(&doc),
    }
}

fn end_session_endpoint(doc: &serde_json::Value) -> Option<String> {
    let endpoint = doc.get("end_session_endpoint")?.as_str()?;
    let parsed = url::Url::parse(endpoint).ok()?;
    matches!(parsed.scheme(), "https" | "http").then(|| endpoint.to_string())
}

async fn document(http: &CappedClient, issuer: &str) -> Option<serde_json::Value> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let request = Request::builder()
        .method(Method::GET)
        .uri(url)
        .header(header::ACCEPT, "application/json")
        .body(Vec::new())
        .ok()?;
    let response = http.call(request).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    serde_json::from_slice(response.body()).ok()
}

impl Upstream {
    /// Where to send the browser to end the upstream session of the login whose upstream
    /// `id_token` is `id_token_hint` (§2: `id_token_hint`, `client_id`,
    /// `post_logout_redirect_uri`, `state`); `None` when the upstream has no end-session
    /// endpoint.
    pub async fn end_session_url(
        &self,
        id_token_hint: &str,
        post_logout_redirect_uri: &str,
        state: &str,
    ) -> Result<Option<String>, UpstreamError> {
        let d = self.discovered().await?;
        let Some(endpoint) = &d.end_session else {
            return Ok(None);
        };
        let mut url = url::Url::parse(endpoint)
            .map_err(|e| UpstreamError::Unavailable(format!("end_session_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token_hint)
            .append_pair("client_id", &self.cfg.client_id)
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
            .append_pair("state", state);
        Ok(Some(url.to_string()))
    }
}

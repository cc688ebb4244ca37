//! DPoP (RFC 9449) end to end: a small DPoP client ([`DpopKey`], an ES256 key generated here,
//! proofs signed with jsonwebtoken), the broker binding tokens to it, introspection showing
//! the binding, and the proxy enforcing it against a backend that counts what reaches it.

mod jwt;
mod nonce;
mod proxy;
mod refresh;
mod token;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::sign;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{json_of, Client, TestApp};

/// The token endpoint as clients address it (the test issuer is `http://localhost`).
pub const TOKEN_URL: &str = "http://localhost/token";

/// A client's DPoP key pair: makes proofs, knows its thumbprint.
pub struct DpopKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl DpopKey {
    pub fn generate() -> Self {
        let signing = SigningKey::random(&mut rand::thread_rng());
        let pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        });
        DpopKey {
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwk,
        }
    }

    /// RFC 7638 thumbprint, computed independently of the server.
    pub fn jkt(&self) -> String {
        let j = &self.jwk;
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            j["x"].as_str().unwrap(),
            j["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A fresh proof for `method` `url`, for `token` if given.
    pub fn proof(&self, method: &str, url: &str, token: Option<&str>) -> String {
        self.sign(&claims(method, url, token))
    }

    /// [`Self::proof`] carrying the server's `nonce`.
    pub fn proof_with_nonce(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        nonce: &str,
    ) -> String {
        let mut c = claims(method, url, token);
        c["nonce"] = json!(nonce);
        self.sign(&c)
    }

    /// A proof of `claims` as given, with this key in its header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(claims, json!(self.jwk), "dpop+jwt")
    }

    /// A proof of `claims` with `jwk` and `typ` in its header, exactly as given (for the
    /// malformed cases: jsonwebtoken's own `Header` would drop a private member).
    pub fn sign_with(&self, claims: &Value, jwk: Value, typ: &str) -> String {
        let header = json!({"typ": typ, "alg": "ES256", "jwk": jwk});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = sign(input.as_bytes(), &self.encoding, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }

    /// The public JWK, for tests that tamper with it.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }
}

/// Fresh proof claims for `method` `url`, with `ath` for `token` if given.
fn claims(method: &str, url: &str, token: Option<&str>) -> Value {
    let mut claims = json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "htm": method,
        "htu": url,
        "iat": now(),
    });
    if let Some(t) = token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
    }
    claims
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A client_credentials token request with `proof` (if any); the response.
pub async fn token_request(app: &TestApp, c: &Client, proof: Option<&str>) -> reqwest::Response {
    token_form(app, c, proof, &[("grant_type", "client_credentials")]).await
}

/// A token request with `form` and `proof` (if any): HTTP Basic for a confidential client, the
/// `client_id` in the form for a public one; the response.
pub async fn token_form(
    app: &TestApp,
    c: &Client,
    proof: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/token"));
    req = if c.secret.is_empty() {
        let mut form = form.to_vec();
        form.push(("client_id", &c.id));
        req.form(&form)
    } else {
        req.basic_auth(&c.id, Some(&c.secret)).form(form)
    };
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

/// A client_credentials token bound to `key` (asserting success); the response body.
pub async fn bound_token(app: &TestApp, c: &Client, key: &DpopKey) -> Value {
    let proof = key.proof("POST", TOKEN_URL, None);
    let res = token_request(app, c, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    json_of(res).await
}

/// The TTL of the replay-cache record of the proof `jti` signed by `jkt`, as Redis holds it.
pub async fn replay_ttl(app: &TestApp, jkt: &str, jti: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(jkt.as_bytes());
    h.update(b"\n");
    h.update(jti.as_bytes());
    let key = format!(
        "{}dpop:{{{}}}",
        app.prefix,
        URL_SAFE_NO_PAD.encode(h.finalize())
    );
    let mut c = app.redis().await;
    redis::cmd("TTL")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap()
}

/// The `jti` of a proof.
pub fn jti_of(proof: &str) -> String {
    let claims = proof.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_string()
}

/// A backend that counts the requests reaching it and answers with their headers.
pub struct CountingBackend {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
}

impl CountingBackend {
    pub fn spawn() -> Self {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let counter = counter.clone();
            App::new().default_service(web::to(move |req: HttpRequest| {
                counter.fetch_add(1, Ordering::SeqCst);
                let headers: serde_json::Map<String, Value> = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or_default())))
                    .collect();
                async move { HttpResponse::Ok().json(json!({ "headers": headers })) }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        CountingBackend {
            base: format!("http://127.0.0.1:{port}"),
            hits,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

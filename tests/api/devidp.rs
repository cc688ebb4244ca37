//! The development identity provider over real HTTP, on its own port: discovery, JWKS, the
//! login form, the three grants, userinfo, key rotation, each misbehaviour switch, and an
//! openidconnect relying party (the broker's upstream client) using it as Okta.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{Response, StatusCode};
use serde_json::{json, Map, Value};
use tessera_broker::upstream::{Upstream, UpstreamError};
use tessera_devidp::{Behaviour, DevClient, DevIdp, DevIdpConfig, DevIdpServer};

use crate::helpers::{assert_oauth_error, json_of};

const CLIENT: &str = "broker";
const SECRET: &str = "broker-secret-0123456789abcdefghijkl";
const REDIRECT: &str = "http://127.0.0.1:1/callback";
const REDIRECT_WITH_QUERY: &str = "http://127.0.0.1:1/cb?app=1";
const OTHER: &str = "other-client";
const OTHER_SECRET: &str = "other-secret-0123456789abcdefghijklm";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Idp {
    idp: DevIdp,
    base: String,
    http: reqwest::Client,
}

async fn spawn_idp() -> Idp {
    let server = DevIdpServer::build("127.0.0.1:0".parse().unwrap(), |port| {
        let mut cfg = DevIdpConfig::demo(
            &format!("http://127.0.0.1:{port}"),
            CLIENT,
            SECRET,
            vec![REDIRECT.into(), REDIRECT_WITH_QUERY.into()],
        );
        cfg.clients.push(DevClient {
            client_id: OTHER.into(),
            client_secret: OTHER_SECRET.into(),
            redirect_uris: vec![REDIRECT.into()],
        });
        cfg
    })
    .expect("dev idp starts");
    let idp = server.idp().clone();
    let base = format!("http://127.0.0.1:{}", server.port());
    assert_eq!(idp.issuer(), base);
    tokio::spawn(server.run_until_stopped());
    Idp {
        idp,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

/// A code-flow authorization request with PKCE.
fn authorize_query<'a>(state: &'a str, nonce: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email groups"),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// The hidden inputs of an HTML page, entity-decoded.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap();
        if !tag.contains("type=\"hidden\"") {
            continue;
        }
        let attr = |name: &str| {
            let key = format!(" {name}=\"");
            let rest = &tag[tag.find(&key).unwrap() + key.len()..];
            html_escape::decode_html_entities(&rest[..rest.find('"').unwrap()]).into_owned()
        };
        out.push((attr("name"), attr("value")));
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Where a redirect points (without query), and its query parameters.
fn location(res: &Response) -> (String, Vec<(String, String)>) {
    let loc = res.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    let mut base = url.clone();
    base.set_query(None);
    (base.to_string(), params)
}

/// Unverified claims, for looking at what a (possibly faulty) token says.
fn claims_of(jwt: &str) -> Map<String, Value> {
    jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(jwt)
        .unwrap()
        .claims
}

/// Verifies an RS256 JWT against the published JWKS, issuer and audience.
fn verify(
    jwt: &str,
    jwks: &JwkSet,
    iss: &str,
    aud: &str,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let kid = decode_header(jwt)?.kid.expect("a kid");
    let jwk = jwks.find(&kid).expect("kid published in the JWKS");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[iss]);
    v.set_audience(&[aud]);
    v.leeway = 0;
    decode::<Map<String, Value>>(jwt, &DecodingKey::from_jwk(jwk)?, &v).map(|d| d.claims)
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

impl Idp {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Response {
        self.http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    async fn jwks(&self) -> JwkSet {
        let res = self.get("/v1/keys", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// POST /v1/token as `CLIENT` with HTTP Basic authentication.
    async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/v1/token"))
            .basic_auth(CLIENT, Some(SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Shows the login form for `query` and posts it back with `extra` (credentials, action).
    async fn login(&self, query: &[(&str, &str)], extra: &[(&str, &str)]) -> Response {
        let page = self.get("/v1/authorize", query).await;
        assert_eq!(page.status(), StatusCode::OK);
        let mut fields = hidden_fields(&page.text().await.unwrap());
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.http
            .post(self.url("/v1/authorize"))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Logs alice in with PKCE and returns the code.
    async fn code(&self, state: &str, nonce: &str) -> String {
        let res = self
            .login(
                &authorize_query(state, nonce),
                &[("username", "alice"), ("password", "alice")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let (to, params) = location(&res);
        assert_eq!(to, REDIRECT);
        field(&params, "code").expect("a code").to_string()
    }

    async fn redeem(&self, code: &str, verifier: &str) -> Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await
    }
}

#[tokio::test]
async fn discovery_document_lists_okta_endpoints() {
    let t = spawn_idp().await;
    let res = t.get("/.well-known/openid-configuration", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let m = json_of(res).await;
    let iss = &t.base;
    assert_eq!(m["issuer"], json!(iss));
    assert_eq!(
        m["authorization_endpoint"],
        json!(format!("{iss}/v1/authorize"))
    );
    assert_eq!(m["token_endpoint"], json!(format!("{iss}/v1/token")));
    assert_eq!(m["jwks_uri"], json!(format!("{iss}/v1/keys")));
    assert_eq!(m["userinfo_endpoint"], json!(format!("{iss}/v1/userinfo")));
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["subject_types_supported"], json!(["public"]));
    assert_eq!(m["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(
        m["scopes_supported"],
        json!(["openid", "profile", "email", "groups", "offline_access"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "password", "client_credentials"])
    );
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    let claims = m["claims_supported"].as_array().unwrap();
    for c in ["sub", "iss", "email", "groups", "DealershipLocation"] {
        assert!(claims.contains(&json!(c)), "claims_supported lacks {c}");
    }
}

#[tokio::test]
async fn jwks_publishes_the_rsa_public_key_and_counts_fetches() {
    let t = spawn_idp().await;
    assert_eq!(t.idp.jwks_fetches(), 0);
    let res = t.get("/v1/keys", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["use"], "sig");
    assert!(!k["kid"].as_str().unwrap().is_empty());
    assert_eq!(k["e"], "AQAB");
    // RSA-2048: 256 bytes of modulus are 342 base64url characters, without padding.
    let n = k["n"].as_str().unwrap();
    assert_eq!(n.len(), 342);
    assert!(n
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert!(
        k.get("d").is_none() && k.get("p").is_none(),
        "no private parts"
    );
    // jsonwebtoken reads it, and the counter saw both fetches.
    let set = t.jwks().await;
    DecodingKey::from_jwk(&set.keys[0]).unwrap();
    assert_eq!(t.idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn login_form_escapes_every_value() {
    let t = spawn_idp().await;
    let state = "\"><script>alert(1)</script>&x='y'";
    let nonce = "n<i>\"&amp;";
    let res = t.get("/v1/authorize", &authorize_query(state, nonce)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>"), "unescaped: {html}");
    assert!(!html.contains("<i>"), "unescaped: {html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x="));
    assert!(html.contains("name=\"username\""));
    assert!(html.contains("type=\"password\""));
    assert!(html.contains(">Sign in</button>"));
    assert!(html.contains("name=\"action\" value=\"deny\""));
    // The hidden fields carry the request exactly.
    let fields = hidden_fields(&html);
    assert_eq!(field(&fields, "state"), Some(state));
    assert_eq!(field(&fields, "nonce"), Some(nonce));
    assert_eq!(field(&fields, "client_id"), Some(CLIENT));
    assert_eq!(field(&fields, "redirect_uri"), Some(REDIRECT));
    assert_eq!(field(&fields, "code_challenge"), Some(CHALLENGE));
    assert_eq!(field(&fields, "code_challenge_method"), Some("S256"));
    assert_eq!(field(&fields, "response_type"), Some("code"));
    assert_eq!(field(&fields, "scope"), Some("openid profile email groups"));
}

#[tokio::test]
async fn full_login_with_pkce_issues_verifiable_okta_shaped_tokens() {
    let t = spawn_idp().await;
    let state = "s t&a=te/\"é<>";
    let res = t
        .login(
            &authorize_query(state, "nonce-123"),
            &[("username", "alice"), ("password", "alice")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, REDIRECT);
    assert_eq!(field(&params, "state"), Some(state), "exact state");
    let code = field(&params, "code").unwrap().to_string();
    assert!(code.len() >= 43, "a random code: {code}");

    let before = now();
    let res = t.redeem(&code, VERIFIER).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json_of(res).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid profile email groups");

    let jwks = t.jwks().await;
    let id = verify(body["id_token"].as_str().unwrap(), &jwks, &t.base, CLIENT).unwrap();
    assert_eq!(id["iss"], json!(t.base));
    assert_eq!(id["aud"], CLIENT);
    assert_eq!(id["sub"], "00u-alice");
    assert_eq!(id["nonce"], "nonce-123");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "Alice Anderson");
    assert_eq!(id["groups"], json!(["Everyone", "Dealers"]));
    assert_eq!(id["DealershipLocation"], "Los Angeles");
    assert!(id.get("azp").is_none());
    let (iat, exp) = (id["iat"].as_i64().unwrap(), id["exp"].as_i64().unwrap());
    assert!((before - 1..=now() + 1).contains(&iat));
    assert_eq!(exp - iat, 300);
    assert!(id["auth_time"].as_i64().unwrap() <= iat);
    let header = decode_header(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), jwks.keys[0].common.key_id.as_deref());

    let at = verify(
        body["access_token"].as_str().unwrap(),
        &jwks,
        &t.base,
        "api://default",
    )
    .unwrap();
    assert_eq!(at["ver"], 1);
    assert!(!at["jti"].as_str().unwrap().is_empty());
    assert_eq!(at["cid"], CLIENT);
    assert_eq!(at["uid"], "00u-alice");
    assert_eq!(at["sub"], "alice@example.com");
    assert_eq!(at["scp"], json!(["openid", "profile", "email", "groups"]));
    assert_eq!(at["DealershipLocation"], "Los Angeles");
    assert_eq!(at["groups"], json!(["Everyone", "Dealers"]));
    assert!(at.get("email").is_none(), "profile claims stay out");
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_verifier_redirect_and_client() {
    let t = spawn_idp().await;
    let code = t.code("st", "n").await;
    assert_eq!(t.redeem(&code, VERIFIER).await.status(), StatusCode::OK);
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;

    // A wrong verifier fails, and burns the code.
    let code = t.code("st", "n").await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
    assert_oauth_error(t.redeem(&code, wrong).await, 400, "invalid_grant").await;
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;

    // No verifier at all.
    let code = t.code("st", "n").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Another redirect URI.
    let code = t.code("st", "n").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_WITH_QUERY),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    // Another client (client_secret_post).
    let code = t.code("st", "n").await;
    let res = t
        .http
        .post(t.url("/v1/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", OTHER),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_grant").await;

    // A verifier for a request that had no challenge (RFC 9700 §2.1.1 downgrade).
    let query: Vec<_> = authorize_query("st", "n")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let res = t
        .login(&query, &[("username", "alice"), ("password", "alice")])
        .await;
    let code = field(&location(&res).1, "code").unwrap().to_string();
    assert_oauth_error(t.redeem(&code, VERIFIER).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn wrong_password_shows_the_form_again() {
    let t = spawn_idp().await;
    let res = t
        .login(
            &authorize_query("st", "n"),
            &[("username", "alice"), ("password", "bob")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("location").is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("Wrong username or password."));
    assert!(html.contains("value=\"alice\""), "username kept");
    let fields = hidden_fields(&html);
    assert_eq!(field(&fields, "state"), Some("st"));
    assert_eq!(field(&fields, "code_challenge"), Some(CHALLENGE));

    let res = t
        .login(
            &authorize_query("st", "n"),
            &[("username", "mallory"), ("password", "mallory")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_the_state() {
    let t = spawn_idp().await;
    let res = t
        .login(&authorize_query("st&1", "n"), &[("action", "deny")])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, REDIRECT);
    assert_eq!(field(&params, "error"), Some("access_denied"));
    assert_eq!(field(&params, "state"), Some("st&1"));
    assert_eq!(field(&params, "code"), None);
}

#[tokio::test]
async fn untrusted_clients_and_redirect_uris_get_a_page_never_a_redirect() {
    let t = spawn_idp().await;
    let with = |k: &'static str, v: &'static str| {
        let mut q = authorize_query("st", "n");
        q.retain(|(name, _)| *name != k);
        if !v.is_empty() {
            q.push((k, v));
        }
        q
    };
    for q in [
        with("redirect_uri", "http://127.0.0.1:1/evil"),
        with("redirect_uri", "http://127.0.0.1:1/callback/"),
        with("redirect_uri", ""),
        with("client_id", "nobody"),
        with("client_id", ""),
    ] {
        let res = t.get("/v1/authorize", &q).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q:?}");
        assert!(res.headers().get("location").is_none());
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("Invalid authorization request"));
    }
    // The POST checks the hidden fields again.
    let res = t
        .http
        .post(t.url("/v1/authorize"))
        .form(&with("redirect_uri", "http://evil.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());

    // A trusted redirect URI with a bad request: an error redirect with the state.
    for (q, error) in [
        (with("response_type", "token"), "unsupported_response_type"),
        (with("response_type", ""), "invalid_request"),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("code_challenge", "short"), "invalid_request"),
        (with("scope", ""), "invalid_scope"),
    ] {
        let res = t.get("/v1/authorize", &q).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{q:?}");
        let (to, params) = location(&res);
        assert_eq!(to, REDIRECT);
        assert_eq!(field(&params, "error"), Some(error), "{q:?}");
        assert_eq!(field(&params, "state"), Some("st"));
    }
}

#[tokio::test]
async fn a_redirect_uri_keeps_its_own_query() {
    let t = spawn_idp().await;
    let mut q = authorize_query("a b", "n");
    q.retain(|(k, _)| *k != "redirect_uri");
    q.push(("redirect_uri", REDIRECT_WITH_QUERY));
    let res = t
        .login(&q, &[("username", "bob"), ("password", "bob")])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let loc = res.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with("http://127.0.0.1:1/cb?app=1&code="),
        "{loc}"
    );
    let (_, params) = location(&res);
    assert_eq!(field(&params, "app"), Some("1"));
    assert_eq!(field(&params, "state"), Some("a b"));
}

#[tokio::test]
async fn password_grant_issues_user_tokens() {
    let t = spawn_idp().await;
    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob"),
            ("scope", "openid email"),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(body["scope"], "openid email");
    let jwks = t.jwks().await;
    let id = verify(body["id_token"].as_str().unwrap(), &jwks, &t.base, CLIENT).unwrap();
    assert_eq!(id["sub"], "00u-bob");
    assert_eq!(id["DealershipLocation"], "Seattle");
    assert!(id.get("nonce").is_none());
    let at = verify(
        body["access_token"].as_str().unwrap(),
        &jwks,
        &t.base,
        "api://default",
    )
    .unwrap();
    assert_eq!(at["sub"], "bob@example.com");
    assert_eq!(at["groups"], json!(["Everyone"]));

    // Without openid: no id_token.
    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob"),
            ("scope", "read"),
        ])
        .await;
    assert!(json_of(res).await.get("id_token").is_none());

    let res = t
        .token(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "alice"),
            ("scope", "openid"),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    let res = t
        .token(&[("grant_type", "password"), ("username", "bob")])
        .await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn client_credentials_access_token_is_about_the_client() {
    let t = spawn_idp().await;
    let res = t
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "orders:read");
    let at = verify(
        body["access_token"].as_str().unwrap(),
        &t.jwks().await,
        &t.base,
        "api://default",
    )
    .unwrap();
    assert_eq!(at["sub"], CLIENT);
    assert_eq!(at["cid"], CLIENT);
    assert_eq!(at["scp"], json!(["orders:read"]));
    assert_eq!(at["ver"], 1);
    assert!(at.get("uid").is_none());
    assert!(at.get("DealershipLocation").is_none());
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749_section_5_2() {
    let t = spawn_idp().await;
    let cc = [("grant_type", "client_credentials"), ("scope", "x")];
    let post = || t.http.post(t.url("/v1/token"));

    let res = post()
        .basic_auth(CLIENT, Some("wrong"))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = post()
        .basic_auth("nobody", Some(SECRET))
        .form(&cc)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let res = post().form(&cc).send().await.unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let mut wrong_post = cc.to_vec();
    wrong_post.extend([("client_id", CLIENT), ("client_secret", OTHER_SECRET)]);
    let res = post().form(&wrong_post).send().await.unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;

    let mut both = cc.to_vec();
    both.push(("client_secret", SECRET));
    let res = post()
        .basic_auth(CLIENT, Some(SECRET))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;

    let res = t.token(&[("grant_type", "implicit")]).await;
    assert_oauth_error(res, 400, "unsupported_grant_type").await;
    let res = t.token(&[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 400, "invalid_scope").await;
    let res = t.token(&[("scope", "x")]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    let res = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "forged"),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_grant").await;

    let res = post()
        .basic_auth(CLIENT, Some(SECRET))
        .json(&json!({"grant_type": "client_credentials", "scope": "x"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;

    // client_secret_post works.
    let mut ok_post = cc.to_vec();
    ok_post.extend([("client_id", OTHER), ("client_secret", OTHER_SECRET)]);
    let res = post().form(&ok_post).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn userinfo_returns_the_users_claims() {
    let t = spawn_idp().await;
    let code = t.code("st", "n").await;
    let body = json_of(t.redeem(&code, VERIFIER).await).await;
    let at = body["access_token"].as_str().unwrap();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let info = json_of(res).await;
    assert_eq!(info["sub"], "00u-alice");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["DealershipLocation"], "Los Angeles");

    let res = t.get("/v1/userinfo", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    let cc = json_of(
        t.token(&[("grant_type", "client_credentials"), ("scope", "openid")])
            .await,
    )
    .await;
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let no_openid = t
        .idp
        .issue_access_token(CLIENT, "alice", &["read"], Map::new())
        .unwrap();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(&no_openid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    t.idp.behaviour().set_bad_signature(true);
    let forged = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    t.idp.behaviour().reset();
    let res = t
        .http
        .get(t.url("/v1/userinfo"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issue_access_token_is_okta_shaped() {
    let t = spawn_idp().await;
    let mut extra = Map::new();
    extra.insert("tier".into(), json!("gold"));
    extra.insert("DealershipLocation".into(), json!("Portland"));
    let jwt = t
        .idp
        .issue_access_token("spa", "alice@example.com", &["read", "write"], extra)
        .unwrap();
    let at = verify(&jwt, &t.jwks().await, &t.base, "api://default").unwrap();
    assert_eq!(at["cid"], "spa");
    assert_eq!(at["sub"], "alice@example.com");
    assert_eq!(at["uid"], "00u-alice");
    assert_eq!(at["scp"], json!(["read", "write"]));
    assert_eq!(at["groups"], json!(["Everyone", "Dealers"]));
    assert_eq!(at["tier"], "gold");
    assert_eq!(at["DealershipLocation"], "Portland", "extra wins");

    let svc = claims_of(
        &t.idp
            .issue_access_token("svc", "svc", &[], Map::new())
            .unwrap(),
    );
    assert_eq!(svc["sub"], "svc");
    assert!(svc.get("uid").is_none());
    assert_eq!(svc["scp"], json!([]));

    let id = t.idp.issue_id_token(CLIENT, "bob", Some("nn")).unwrap();
    let id = verify(&id, &t.jwks().await, &t.base, CLIENT).unwrap();
    assert_eq!(id["sub"], "00u-bob");
    assert_eq!(id["nonce"], "nn");
    assert!(t.idp.issue_id_token(CLIENT, "mallory", None).is_err());
}

#[tokio::test]
async fn rotated_keys_get_a_new_kid_and_the_old_key_stays_published() {
    let t = spawn_idp().await;
    let old_token = t.idp.issue_id_token(CLIENT, "alice", None).unwrap();
    let old_kid = decode_header(&old_token).unwrap().kid.unwrap();
    t.idp.rotate_keys();
    let jwks = t.jwks().await;
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kid, "previous key still published");
    assert_ne!(kids[0], old_kid);
    let new_token = t.idp.issue_id_token(CLIENT, "alice", None).unwrap();
    assert_eq!(decode_header(&new_token).unwrap().kid.unwrap(), kids[0]);
    verify(&old_token, &jwks, &t.base, CLIENT).unwrap();
    verify(&new_token, &jwks, &t.base, CLIENT).unwrap();
    // Rotation is bounded: the current key and at most three previous ones.
    for _ in 0..4 {
        t.idp.rotate_keys();
    }
    assert_eq!(t.jwks().await.keys.len(), 4);
}

#[tokio::test]
async fn each_misbehaviour_switch_changes_what_is_minted() {
    let t = spawn_idp().await;
    let jwks = t.jwks().await;
    let b = t.idp.behaviour();
    let id = |nonce: Option<&str>| t.idp.issue_id_token(CLIENT, "alice", nonce).unwrap();
    let published_kid = jwks.keys[0].common.key_id.clone().unwrap();
    // Healthy first.
    verify(&id(Some("n")), &jwks, &t.base, CLIENT).unwrap();

    b.set_wrong_issuer(true);
    assert_eq!(
        claims_of(&id(None))["iss"],
        json!(format!("{}/evil", t.base))
    );
    let at = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    assert_eq!(claims_of(&at)["iss"], json!(format!("{}/evil", t.base)));
    b.reset();

    b.set_wrong_audience(true);
    assert_eq!(claims_of(&id(None))["aud"], json!(format!("not-{CLIENT}")));
    let at = t
        .idp
        .issue_access_token(CLIENT, "alice", &["openid"], Map::new())
        .unwrap();
    assert_ne!(claims_of(&at)["aud"], "api://default");
    b.reset();

    b.set_bad_signature(true);
    let jwt = id(None);
    b.reset();
    assert_eq!(
        decode_header(&jwt).unwrap().kid,
        Some(published_kid.clone())
    );
    assert_eq!(
        *verify(&jwt, &jwks, &t.base, CLIENT).unwrap_err().kind(),
        jsonwebtoken::errors::ErrorKind::InvalidSignature
    );

    b.set_omit_nonce(true);
    assert!(claims_of(&id(Some("n"))).get("nonce").is_none());
    b.reset();

    b.set_wrong_nonce(true);
    let nonce = claims_of(&id(Some("n")))["nonce"].clone();
    assert!(nonce.is_string() && nonce != "n");
    b.reset();

    b.set_expired(true);
    let c = claims_of(&id(None));
    b.reset();
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!(exp < now() - 300, "exp {exp} is well in the past");
    assert!(iat < exp);

    b.set_unknown_kid(true);
    let jwt = id(None);
    b.reset();
    let kid = decode_header(&jwt).unwrap().kid.unwrap();
    assert!(jwks.find(&kid).is_none(), "kid {kid} is not published");
    assert!(t.jwks().await.find(&kid).is_none());

    b.set_hs256(true);
    let jwt = id(None);
    b.reset();
    let header = decode_header(&jwt).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[CLIENT]);
    decode::<Value>(&jwt, &DecodingKey::from_secret(SECRET.as_bytes()), &v)
        .expect("HMAC-signed with the client secret");

    // The switches reach the token endpoint too.
    b.set_wrong_issuer(true);
    let code = t.code("st", "n").await;
    let body = json_of(t.redeem(&code, VERIFIER).await).await;
    b.reset();
    assert_eq!(
        claims_of(body["id_token"].as_str().unwrap())["iss"],
        json!(format!("{}/evil", t.base))
    );
    // And after reset all is well again.
    verify(&id(Some("n")), &jwks, &t.base, CLIENT).unwrap();
}

#[tokio::test]
async fn down_answers_503_everywhere_and_delay_slows_the_api() {
    let t = spawn_idp().await;
    t.idp.behaviour().set_down(true);
    for path in [
        "/.well-known/openid-configuration",
        "/v1/keys",
        "/v1/userinfo",
    ] {
        assert_eq!(
            t.get(path, &[]).await.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
    let res = t.get("/v1/authorize", &authorize_query("st", "n")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = t
        .token(&[("grant_type", "client_credentials"), ("scope", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(t.idp.jwks_fetches(), 0, "a 503 is not a JWKS fetch");
    t.idp.behaviour().reset();
    assert_eq!(t.get("/v1/keys", &[]).await.status(), StatusCode::OK);

    let delay = Duration::from_millis(800);
    t.idp.behaviour().set_delay_ms(800);
    let started = Instant::now();
    let res = t.get("/.well-known/openid-configuration", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() >= delay, "discovery delayed");
    let started = Instant::now();
    let res = t
        .token(&[("grant_type", "client_credentials"), ("scope", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() >= delay, "token endpoint delayed");
    let started = Instant::now();
    assert_eq!(
        t.get("/v1/authorize", &authorize_query("st", "n"))
            .await
            .status(),
        StatusCode::OK
    );
    assert!(started.elapsed() < delay, "the login page is not delayed");
    t.idp.behaviour().reset();
}

/// Turns one misbehaviour on.
type Fault = fn(&Behaviour);

/// The broker's openidconnect client, pointed at the provider as at Okta.
fn relying_party(t: &Idp) -> Upstream {
    let cfg = serde_json::from_value(json!({
        "issuer": t.base,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "scopes": ["openid", "profile", "email", "groups"],
        "timeout_ms": 3000,
    }))
    .unwrap();
    // Its redirect URI is `{issuer}/callback`: REDIRECT.
    Upstream::new(cfg, "http://127.0.0.1:1").unwrap()
}

#[tokio::test]
async fn an_openidconnect_relying_party_discovers_logs_in_and_verifies() {
    let t = spawn_idp().await;
    let rp = relying_party(&t);
    let url = rp
        .authorize_url("rp-state", "rp-nonce", VERIFIER)
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/v1/authorize?", t.base)),
        "{url}"
    );

    // The browser: the form at that URL, then alice's credentials.
    let page = t.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut fields = hidden_fields(&page.text().await.unwrap());
    assert_eq!(field(&fields, "code_challenge"), Some(CHALLENGE));
    fields.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "alice".into()),
    ]);
    let res = t
        .http
        .post(t.url("/v1/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let (to, params) = location(&res);
    assert_eq!(to, REDIRECT);
    assert_eq!(field(&params, "state"), Some("rp-state"));
    let code = field(&params, "code").unwrap();

    let login = rp.exchange_code(code, VERIFIER, "rp-nonce").await.unwrap();
    assert_eq!(login.claims["sub"], "00u-alice");
    assert_eq!(login.claims["DealershipLocation"], "Los Angeles");
    let login = rp.password("bob", "bob").await.unwrap();
    assert_eq!(login.claims["sub"], "00u-bob");
    assert!(matches!(
        rp.password("bob", "nope").await,
        Err(UpstreamError::Rejected(_))
    ));

    // Every id_token fault is caught by openidconnect's verifier.
    let b = t.idp.behaviour();
    let faults: [(&str, Fault); 6] = [
        ("wrong iss", |b| b.set_wrong_issuer(true)),
        ("wrong aud", |b| b.set_wrong_audience(true)),
        ("bad signature", |b| b.set_bad_signature(true)),
        ("expired", |b| b.set_expired(true)),
        ("unknown kid", |b| b.set_unknown_kid(true)),
        ("HS256", |b| b.set_hs256(true)),
    ];
    for (name, set) in faults {
        set(b);
        let outcome = rp.password("alice", "alice").await;
        b.reset();
        assert!(
            matches!(outcome, Err(UpstreamError::Rejected(_))),
            "{name}: {outcome:?}"
        );
    }
    // Nonce faults show in the code flow.
    for set in [
        |b: &Behaviour| b.set_wrong_nonce(true),
        |b: &Behaviour| b.set_omit_nonce(true),
    ] {
        let url = rp.authorize_url("s", "the-nonce", VERIFIER).await.unwrap();
        let html = t.http.get(&url).send().await.unwrap().text().await.unwrap();
        let mut fields = hidden_fields(&html);
        fields.extend([
            ("username".into(), "alice".into()),
            ("password".into(), "alice".into()),
        ]);
        let res = t
            .http
            .post(t.url("/v1/authorize"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let code = field(&location(&res).1, "code").unwrap().to_string();
        set(b);
        let outcome = rp.exchange_code(&code, VERIFIER, "the-nonce").await;
        b.reset();
        assert!(
            matches!(outcome, Err(UpstreamError::Rejected(_))),
            "{outcome:?}"
        );
    }

    // Down: an outage, not a refusal.
    b.set_down(true);
    let outcome = rp.password("alice", "alice").await;
    b.reset();
    assert!(
        matches!(outcome, Err(UpstreamError::Unavailable(_))),
        "{outcome:?}"
    );
}

//! The login form: what it shows (every value escaped), what signing in, a wrong password
//! and declining do, and which requests never get a redirect.

use jsonwebtoken::{decode_header, Algorithm};
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::json_of;
use crate::world::hidden_fields;

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
    assert_eq!(param(&fields, "state"), Some(state));
    assert_eq!(param(&fields, "nonce"), Some(nonce));
    assert_eq!(param(&fields, "client_id"), Some(CLIENT));
    assert_eq!(param(&fields, "redirect_uri"), Some(REDIRECT));
    assert_eq!(param(&fields, "code_challenge"), Some(CHALLENGE));
    assert_eq!(param(&fields, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&fields, "response_type"), Some("code"));
    assert_eq!(param(&fields, "scope"), Some("openid profile email groups"));
}

#[tokio::test]
async fn full_login_with_pkce_issues_verifiable_okta_shaped_tokens() {
    let t = spawn_idp().await;
    let state = "s t&a=te/\"é<>";
    let res = t.login(&authorize_query(state, "nonce-123"), ALICE).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, REDIRECT);
    assert_eq!(param(&params, "state"), Some(state), "exact state");
    let code = param(&params, "code").unwrap().to_string();
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
    assert_eq!(param(&fields, "state"), Some("st"));
    assert_eq!(param(&fields, "code_challenge"), Some(CHALLENGE));

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
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("st&1"));
    assert_eq!(param(&params, "code"), None);
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
        assert_eq!(param(&params, "error"), Some(error), "{q:?}");
        assert_eq!(param(&params, "state"), Some("st"));
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
    assert_eq!(param(&params, "app"), Some("1"));
    assert_eq!(param(&params, "state"), Some("a b"));
}

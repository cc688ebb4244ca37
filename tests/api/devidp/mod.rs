//! The development identity provider over real HTTP, on its own port, as the broker's upstream
//! "Okta": what it publishes ([`discovery`]), its login form ([`login_form`]), its token and
//! userinfo endpoints ([`token`]), each misbehaviour switch ([`faults`]), and an openidconnect
//! relying party — the broker's upstream client — using it ([`relying_party`]).
//!
//! This module holds the fixture: one provider with two clients, and the requests and checks
//! the stories share.

mod discovery;
mod faults;
mod login_form;
mod relying_party;
mod token;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{Response, StatusCode};
use serde_json::{Map, Value};
use tessera_devidp::{DevClient, DevIdp, DevIdpConfig, DevIdpServer};

use crate::world::{location, param, submit_login_form};

const CLIENT: &str = "broker";
const SECRET: &str = "broker-secret-0123456789abcdefghijkl";
const REDIRECT: &str = "http://127.0.0.1:1/callback";
const REDIRECT_WITH_QUERY: &str = "http://127.0.0.1:1/cb?app=1";
const OTHER: &str = "other-client";
const OTHER_SECRET: &str = "other-secret-0123456789abcdefghijklm";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// What alice types into the login form.
const ALICE: &[(&str, &str)] = &[("username", "alice"), ("password", "alice")];

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
            backchannel_logout_uri: None,
            post_logout_redirect_uris: Vec::new(),
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

    /// The login form for `query`, answered with `answer` (credentials, or the deny action).
    async fn login(&self, query: &[(&str, &str)], answer: &[(&str, &str)]) -> Response {
        let form = url::Url::parse_with_params(&self.url("/v1/authorize"), query).unwrap();
        submit_login_form(&self.http, form.as_str(), answer).await
    }

    /// Logs alice in with PKCE and returns the code.
    async fn code(&self, state: &str, nonce: &str) -> String {
        let res = self.login(&authorize_query(state, nonce), ALICE).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let (to, params) = location(&res);
        assert_eq!(to, REDIRECT);
        param(&params, "code").expect("a code").to_string()
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

//! `GET /authorize` and `GET /callback`: what is an error page, what is a redirect, and what
//! goes upstream.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::world::*;

async fn get_authorize(w: &World, query: &[(&str, &str)]) -> reqwest::Response {
    w.app
        .http
        .get(w.app.url("/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_client_or_redirect_uri_is_an_error_page_never_a_redirect() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", APP_REDIRECT),
        ],
        vec![("response_type", "code"), ("redirect_uri", APP_REDIRECT)],
        // Not byte-equal: a trailing slash, another path, another host.
        vec![
            ("response_type", "code"),
            ("client_id", &c.id),
            ("redirect_uri", "http://127.0.0.1:9/app/callback/"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", &c.id),
            ("redirect_uri", "http://127.0.0.1:9/app/other"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", &c.id),
            ("redirect_uri", "https://evil.example/cb"),
        ],
        // Repeated parameters.
        vec![
            ("response_type", "code"),
            ("client_id", &c.id),
            ("client_id", &c.id),
            ("redirect_uri", APP_REDIRECT),
        ],
    ];
    for q in cases {
        let res = get_authorize(&w, &q).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q:?}");
        assert!(res.headers().get("location").is_none(), "{q:?}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
}

#[tokio::test]
async fn other_errors_go_back_with_error_state_and_iss() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let public = code_client(&w, json!({"public": true})).await;
    let cc_only = w
        .app
        .create_client(json!({"redirect_uris": [APP_REDIRECT]}))
        .await;
    let state = "a b&c=d/é";
    let base = |c: &Client| {
        vec![
            ("client_id", c.id.clone()),
            ("redirect_uri", APP_REDIRECT.to_string()),
            ("state", state.to_string()),
        ]
    };
    let cases: Vec<(&Client, Vec<(&str, &str)>, &str)> = vec![
        (
            &c,
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            &c,
            vec![("response_type", "id_token token")],
            "unsupported_response_type",
        ),
        (&c, vec![], "invalid_request"),
        (
            &c,
            vec![("response_type", "code"), ("scope", "admin")],
            "invalid_scope",
        ),
        (
            &c,
            vec![
                ("response_type", "code"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &c,
            vec![("response_type", "code"), ("code_challenge", CHALLENGE)],
            "invalid_request",
        ),
        (
            &c,
            vec![
                ("response_type", "code"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (&public, vec![("response_type", "code")], "invalid_request"),
        // PKCE is required of confidential clients too (OAuth 2.1).
        (&c, vec![("response_type", "code")], "invalid_request"),
        (
            &cc_only,
            vec![("response_type", "code")],
            "unauthorized_client",
        ),
    ];
    for (client, extra, code) in cases {
        let mut q: Vec<(&str, String)> = base(client);
        q.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let res = w
            .app
            .http
            .get(w.app.url("/authorize"))
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{extra:?}");
        let (to, params) = location(&res);
        assert_eq!(to, APP_REDIRECT);
        assert_eq!(param(&params, "error"), Some(code), "{extra:?}");
        assert_eq!(
            param(&params, "state"),
            Some(state),
            "state comes back exactly"
        );
        assert_eq!(
            param(&params, "iss"),
            Some(w.app.base.as_str()),
            "RFC 9207 iss"
        );
    }
}

#[tokio::test]
async fn the_upstream_request_carries_the_brokers_own_state_nonce_and_pkce() {
    let w = spawn_world().await;
    // A legacy confidential client with PKCE turned off; the broker still uses PKCE upstream.
    let c = code_client(&w, json!({"pkce_required": false})).await;
    let res = get_authorize(
        &w,
        &[
            ("response_type", "code"),
            ("client_id", &c.id),
            ("redirect_uri", APP_REDIRECT),
            ("state", "app-state"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, p) = location(&res);
    assert_eq!(to, format!("{}/v1/authorize", w.idp_base));
    assert_eq!(param(&p, "client_id"), Some(UPSTREAM_CLIENT));
    assert_eq!(
        param(&p, "redirect_uri"),
        Some(format!("{}/callback", w.app.base).as_str())
    );
    assert_eq!(param(&p, "response_type"), Some("code"));
    assert_eq!(param(&p, "code_challenge_method"), Some("S256"));
    assert!(param(&p, "code_challenge").is_some_and(|c| c.len() == 43));
    assert!(param(&p, "nonce").is_some_and(|n| n.len() >= 32));
    let up_state = param(&p, "state").unwrap();
    assert_ne!(up_state, "app-state");
    assert!(up_state.len() >= 32);
    assert!(param(&p, "scope")
        .unwrap()
        .split(' ')
        .any(|s| s == "openid"));
}

#[tokio::test]
async fn a_login_returns_code_state_and_iss_and_its_state_works_once() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let http = &w.app.http;
    let request = Authorize::code_flow(&c).set("state", "s1");
    let callback = match until_callback(&w, http, &request.query(), "alice", "alice").await {
        Ok(callback) => callback,
        Err(res) => panic!("the login stopped at {}", res.status()),
    };
    assert!(callback.starts_with(&format!("{}/callback?", w.app.base)));
    let res = http.get(&callback).send().await.unwrap();
    let (to, p) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&p, "state"), Some("s1"));
    assert_eq!(param(&p, "iss"), Some(w.app.base.as_str()));
    assert!(param(&p, "code").unwrap().starts_with("tsr_ac_"));
    // The same callback again: the upstream state was single-use.
    let res = http.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    let res = http
        .get(w.app.url("/callback?state=forged&code=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_declined_login_is_access_denied_for_the_app() {
    let w = spawn_world().await;
    let c = code_client(&w, json!({})).await;
    let http = &w.app.http;
    let request = Authorize::code_flow(&c).set("state", "s2");
    let res = get_authorize(&w, &request.query()).await;
    let form_url = res.headers()["location"].to_str().unwrap().to_string();
    let res = submit_login_form(http, &form_url, &[("action", "deny")]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let callback = res.headers()["location"].to_str().unwrap().to_string();
    let res = http.get(&callback).send().await.unwrap();
    let (to, p) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&p, "error"), Some("access_denied"));
    assert_eq!(param(&p, "state"), Some("s2"));
    assert!(param(&p, "code").is_none());
}

#[tokio::test]
async fn metadata_advertises_user_login() {
    let w = spawn_world().await;
    let m = json_of(
        w.app
            .http
            .get(w.app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        m["authorization_endpoint"],
        format!("{}/authorize", w.app.base)
    );
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    let grants = m["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "refresh_token",
        "password",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ] {
        assert!(grants.contains(&json!(g)), "{g}");
    }
}

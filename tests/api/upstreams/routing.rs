//! Which provider a login goes to: the app's list, `idp_hint`, `login_hint`'s domain, the
//! default — in that documented order — and what the tokens then say about it (introspection,
//! the claims the proxy forwards, the records in Redis).

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::gateway::{echoed, header, route, spawn_echo, spawn_proxy};

#[tokio::test]
async fn an_app_of_partners_logs_in_there_and_its_tokens_name_the_provider() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({"upstreams": ["partners"]})).await;
    let b = (t.partners_base.as_str(), "pat", "pat");
    let tokens = tokens_via(&t, &c, &[("state", "s1")], b).await;
    let at = access(&tokens);

    let intro = t.w.app.introspect(&c, &at).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(intro["idp"], json!("partners"), "{intro}");
    assert_eq!(
        intro["sub"],
        json!("partners|00p-pat"),
        "namespaced by provider"
    );
    let attrs = &intro["ext"]["attributes"];
    // The partners' own claim map: `company` mapped, the employees' `groups` map not used.
    assert_eq!(attrs["company"], json!("Acme Parts"), "{intro}");
    assert_eq!(attrs["email"], json!("pat@partner.example"));
    assert_eq!(attrs["idp"], json!("partners"));
    assert!(attrs.get("groups").is_none(), "{intro}");

    // The proxy forwards the provider like any claim.
    let echo = spawn_echo();
    let claims = json!({"forward": {"claims": {"X-Idp": "idp", "X-Company": "company"}}});
    let proxy = spawn_proxy(&t.w.app, json!([route("orders", "/orders", &echo, claims)])).await;
    let e = echoed(
        proxy
            .get_with("/orders", &at, &[("x-idp", "employees")])
            .await,
    )
    .await;
    assert_eq!(header(&e, "x-idp"), Some("partners"), "not the caller's");
    assert_eq!(header(&e, "x-company"), Some("Acme Parts"));

    // Redis: the login's record names the provider; nothing names the other one.
    assert_eq!(families_of(&t, "partners").await, 1);
    assert_eq!(families_of(&t, "employees").await, 0);
    // The employees' provider was never asked for anything of this login.
    assert_eq!(t.w.idp.token_requests(), 0);
}

#[tokio::test]
async fn idp_hint_beats_login_hint_which_beats_the_default() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({})).await;
    let http = &t.w.app.http;
    let base = Authorize::code_flow(&c).set("scope", "read");
    let tr = &t;
    let to = move |q: Authorize| async move { authorize(tr, http, &q.query()).await };
    let (a, b) = (t.w.idp_base.as_str(), t.partners_base.as_str());

    assert!(to(base.clone()).await.starts_with(a), "the default");
    let by_domain = base.clone().set("login_hint", "pat@Partner.Example");
    assert!(
        to(by_domain.clone()).await.starts_with(b),
        "login_hint domain"
    );
    let unmapped = base.clone().set("login_hint", "someone@elsewhere.example");
    assert!(
        to(unmapped).await.starts_with(a),
        "no domain match: default"
    );
    let hinted = by_domain.set("idp_hint", "employees");
    assert!(to(hinted).await.starts_with(a), "idp_hint first");

    // Each login completes at its provider and is recorded as such.
    let tokens = tokens_via(&t, &c, &[("idp_hint", "partners")], (b, "pat", "pat")).await;
    let intro = t.w.app.introspect(&c, &access(&tokens)).await;
    assert_eq!(intro["idp"], json!("partners"));
    let hint = [("login_hint", "alice@example.com")];
    let tokens = tokens_via(&t, &c, &hint, (a, "alice", "alice")).await;
    let intro = t.w.app.introspect(&c, &access(&tokens)).await;
    assert_eq!(intro["idp"], json!("employees"));
    assert_eq!(
        intro["ext"]["attributes"]["dealership"],
        json!("Los Angeles")
    );

    // An app of employees only: a partner's login_hint is only a hint, not a way out.
    let staff = code_client(&t.w, json!({"name": "staff", "upstreams": ["employees"]})).await;
    let q = Authorize::code_flow(&staff).set("login_hint", "pat@partner.example");
    assert!(to(q).await.starts_with(a));
}

#[tokio::test]
async fn an_unknown_or_disallowed_idp_hint_is_an_oauth_error_at_the_redirect_uri() {
    let t = spawn_two().await;
    let staff = code_client(&t.w, json!({"upstreams": ["employees"]})).await;
    let before = t.w.app.stored_records().await;
    for (hint, why) in [
        ("nobody", "no configured identity provider"),
        ("partners", "may not use"),
        ("Employees", "no configured identity provider"),
    ] {
        let q = Authorize::code_flow(&staff)
            .set("state", "st8")
            .set("idp_hint", hint);
        let res = authorize_answer(&t, &q).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let (to, params) = location(&res);
        assert_eq!(to, APP_REDIRECT, "RFC 6749 §4.1.2.1: to the app");
        assert_eq!(param(&params, "error"), Some("invalid_request"));
        assert_eq!(param(&params, "state"), Some("st8"));
        assert_eq!(param(&params, "iss"), Some(t.w.app.base.as_str()));
        let desc = param(&params, "error_description").unwrap_or_default();
        assert!(desc.contains(why), "{desc}");
        assert!(!desc.contains(hint), "the input is not echoed: {desc}");
    }
    // A redirect URI not yet trusted: the error page, never a redirect.
    let q = Authorize::code_flow(&staff)
        .set("redirect_uri", "http://127.0.0.1:9/elsewhere")
        .set("idp_hint", "nobody");
    let res = authorize_answer(&t, &q).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    assert_eq!(t.w.app.stored_records().await, before, "nothing stored");
    assert_eq!(t.partners.token_requests() + t.w.idp.token_requests(), 0);
}

#[tokio::test]
async fn the_admin_api_accepts_only_configured_provider_ids() {
    let t = spawn_two().await;
    let dev = t.w.app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    let body = |ups: serde_json::Value| json!({"name": "a", "upstreams": ups});
    let res = t.w.app.admin_post(&path, body(json!(["nobody"]))).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("upstreams[0]"));

    let res = t.w.app.admin_post(&path, body(json!(["partners"]))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let app = json_of(res).await;
    assert_eq!(app["upstreams"], json!(["partners"]));
    let at = format!("{path}/{}", app["id"].as_str().unwrap());
    let twice = json!({"upstreams": ["employees", "employees"]});
    let res = t.w.app.admin_patch(&at, twice).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("upstreams[1]"));
    let both = json!({"upstreams": ["employees", "partners"]});
    let res = t.w.app.admin_patch(&at, both).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        json_of(res).await["upstreams"],
        json!(["employees", "partners"])
    );
}

#[tokio::test]
async fn the_password_grant_of_a_partners_app_goes_to_partners_only() {
    let t = spawn_two().await;
    let grants = json!({"grant_types": ["password"], "upstreams": ["partners"]});
    let c = code_client(&t.w, grants).await;
    let (tr, cr) = (&t, &c);
    let password = move |user: &'static str, pw: &'static str| async move {
        let form = [
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
        ];
        tr.w.app.token(cr, &form).await
    };
    let res = password("pat", "pat").await;
    assert_eq!(res.status(), StatusCode::OK);
    let intro = t.w.app.introspect(&c, &access(&json_of(res).await)).await;
    assert_eq!(intro["idp"], json!("partners"));
    // An employee's password is checked at partners, where it means nothing.
    let res = password("bob", "bob").await;
    assert_oauth_error(res, 400, "invalid_grant").await;
    assert_eq!(
        t.w.idp.token_requests(),
        0,
        "the employees' provider is never asked"
    );
}

#[tokio::test]
async fn token_exchange_checks_an_upstream_access_token_at_the_provider_that_issued_it() {
    const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
    let t = spawn_two().await;
    let app = |ups: serde_json::Value| json!({"grant_types": [EXCHANGE], "token_exchange_clients": ["spa"], "upstreams": ups});
    let both = code_client(&t.w, app(json!([]))).await;
    let staff = code_client(&t.w, app(json!(["employees"]))).await;
    let from_partners = t
        .partners
        .issue_access_token("spa", "pat@partner.example", &["read"], Default::default())
        .unwrap();
    let exchange = |c: Client, token: String| {
        let w = &t.w;
        async move {
            let form = [
                ("grant_type", EXCHANGE),
                ("subject_token", token.as_str()),
                ("subject_token_type", AT_TYPE),
            ];
            w.app.token(&c, &form).await
        }
    };
    // An app of employees only: the partners' token is checked at employees, and refused.
    let res = exchange(staff, from_partners.clone()).await;
    assert_oauth_error(res, 400, "invalid_request").await;
    // An app of every provider: checked at partners, mapped by partners' claim map.
    let res = exchange(both.clone(), from_partners).await;
    assert_eq!(res.status(), StatusCode::OK);
    let intro =
        t.w.app
            .introspect(&both, &access(&json_of(res).await))
            .await;
    assert_eq!(intro["idp"], json!("partners"));
    assert_eq!(
        intro["sub"],
        json!("partners|pat@partner.example"),
        "namespaced"
    );
    assert_eq!(intro["ext"]["attributes"]["company"], json!("Acme Parts"));
}

/// A fresh browser's portal sign-in: the provider's login form URL it is sent to.
pub(super) async fn portal_signin(t: &Two) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let res = http
        .get(t.w.app.url("/portal/signin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    (http, to)
}

#[tokio::test]
async fn the_portal_signs_in_through_portal_upstream_else_the_default() {
    let t = spawn_two().await;
    assert!(portal_signin(&t).await.1.starts_with(&t.w.idp_base));

    let t = spawn_two_with(|cfg| cfg["portal"] = json!({"upstream": "partners"})).await;
    let (http, form_url) = portal_signin(&t).await;
    let done = pat_signs_in(&t, &http, &form_url).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "signed in");
    // The partner became a developer, by the e-mail partners vouched for.
    let developers = json_of(t.w.app.admin_get("/admin/developers").await).await;
    assert!(
        developers.to_string().contains("pat@partner.example"),
        "{developers}"
    );
}

//! The mix-up defence (RFC 9700 §4.4): a login completes only at the provider it was started
//! with. A code from the other provider delivered to it is sent to the bound provider (which
//! refuses it), never to the one that issued it; an RFC 9207 `iss` naming another provider is
//! refused before any code is exchanged anywhere, and so is an answer without the `iss` its
//! provider advertises; the app gets `access_denied`, no code.

use reqwest::StatusCode;
use serde_json::json;

use super::*;

/// The upstream `state` of a provider authorize URL.
fn upstream_state(authorize_url: &str) -> String {
    let url = url::Url::parse(authorize_url).unwrap();
    let (_, state) = url.query_pairs().find(|(k, _)| k == "state").unwrap();
    state.into_owned()
}

/// A `/callback` URL of the broker with `pairs` as its query.
fn callback(t: &Two, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&t.w.app.url("/callback")).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// Asserts the broker's answer sends the browser back to the app with `access_denied`.
fn assert_denied(res: &reqwest::Response) {
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert!(param(&params, "code").is_none());
}

#[tokio::test]
async fn a_code_from_the_other_provider_never_completes_a_login() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({})).await;
    let http = &t.w.app.http;
    let request = Authorize::code_flow(&c).set("scope", "read");
    // The browser starts a login bound to employees...
    let to_a = authorize(&t, http, &request.clone().set("state", "a").query()).await;
    assert!(to_a.starts_with(&t.w.idp_base));
    let state_a = upstream_state(&to_a);
    // Redis: the pending login under that state names its provider.
    let key = format!("{}login:{{{state_a}}}", t.w.app.prefix);
    let stored = t.w.app.stored_records().await;
    let pending = stored
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str());
    assert!(
        pending.is_some_and(|v| v.contains("\"upstream\":\"employees\"")),
        "{stored:?}"
    );
    // ...and, in the same browser, a login at partners answers with a code.
    let b = request.set("state", "b").set("idp_hint", "partners");
    let to_b = until_callback_at(
        &t,
        http,
        &b.query(),
        &t.partners_base,
        "alice",
        "alice-partner",
    )
    .await;
    let back = url::Url::parse(&to_b).unwrap();
    let code_b = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    // The partners' code delivered to the employees' login: tried at employees only.
    let res = http
        .get(callback(
            &t,
            &[("state", state_a.as_str()), ("code", code_b.as_str())],
        ))
        .send()
        .await
        .unwrap();
    assert_denied(&res);
    assert_eq!(t.w.idp.token_requests(), 1, "sent to the bound provider");
    assert_eq!(
        t.partners.token_requests(),
        0,
        "never to the one that issued it"
    );
    // That state is spent; the partners' login itself still completes, as partners.
    let res = http.get(to_b).send().await.unwrap();
    let tokens = json_of(redeem(&t.w, &c, &code_of(&res)).await).await;
    let intro = t.w.app.introspect(&c, &access(&tokens)).await;
    assert_eq!(intro["idp"], json!("partners"));
    assert_eq!(families_of(&t, "employees").await, 0);
}

#[tokio::test]
async fn an_iss_naming_another_provider_is_refused_before_any_exchange() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({})).await;
    let http = &t.w.app.http;
    let request = Authorize::code_flow(&c).set("scope", "read");
    let a = t.w.idp_base.as_str();
    let to = until_callback_at(&t, http, &request.query(), a, "alice", "alice").await;
    let back = url::Url::parse(&to).unwrap();
    let mut pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    pairs.retain(|(k, _)| k != "iss");
    let pairs_with = |iss: &str| {
        let mut p: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        p.push(("iss", iss));
        callback(&t, &p)
    };

    // RFC 9207 §2.4: a forged `iss` (the other provider's, or a look-alike) is refused.
    let res = http
        .get(pairs_with(t.partners_base.as_str()))
        .send()
        .await
        .unwrap();
    assert_denied(&res);
    assert_eq!(
        t.w.idp.token_requests(),
        0,
        "the code was exchanged nowhere"
    );
    assert_eq!(t.partners.token_requests(), 0);
    // The state went with it: the genuine answer cannot be replayed afterwards.
    let res = http.get(pairs_with(a)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "login expired");

    // The bound provider's own `iss` is accepted.
    let to = until_callback_at(&t, http, &request.query(), a, "alice", "alice").await;
    let mut with_iss = url::Url::parse(&to).unwrap();
    with_iss
        .query_pairs_mut()
        .append_pair("iss", &format!("{a}/"));
    let res = http.get(with_iss.as_str()).send().await.unwrap();
    let res = redeem(&t.w, &c, &code_of(&res)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(families_of(&t, "employees").await, 1);
}

#[tokio::test]
async fn a_provider_that_advertises_iss_must_send_it() {
    let t = spawn_two().await;
    // RFC 9207 §3: partners' discovery says its answers carry `iss`, and they do.
    t.partners.behaviour().set_send_iss(true);
    let c = code_client(&t.w, json!({"upstreams": ["partners"]})).await;
    let http = &t.w.app.http;
    let request = Authorize::code_flow(&c).set("scope", "read");
    let b = t.partners_base.as_str();
    let to = until_callback_at(&t, http, &request.query(), b, "pat", "pat").await;
    let iss = |url: &url::Url| {
        url.query_pairs()
            .find(|(k, _)| k == "iss")
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(iss(&url::Url::parse(&to).unwrap()).as_deref(), Some(b));
    let res = http.get(to).send().await.unwrap();
    assert_eq!(
        redeem(&t.w, &c, &code_of(&res)).await.status(),
        StatusCode::OK
    );

    // The same kind of answer with its `iss` taken out: refused before any exchange.
    let to = until_callback_at(&t, http, &request.query(), b, "pat", "pat").await;
    let mut stripped = url::Url::parse(&to).unwrap();
    let kept: Vec<(String, String)> = stripped
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    stripped.query_pairs_mut().clear().extend_pairs(&kept);
    assert_eq!(iss(&stripped), None);
    let before = t.partners.token_requests();
    let res = http.get(stripped.as_str()).send().await.unwrap();
    assert_denied(&res);
    assert_eq!(
        t.partners.token_requests(),
        before,
        "the code was not exchanged"
    );
}

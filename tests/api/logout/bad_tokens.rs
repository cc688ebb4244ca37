//! What the broker refuses as a logout token (OpenID Connect Back-Channel Logout 1.0 §2.6):
//! each is 400 `invalid_request` (§2.8), the description never repeats the token, and nothing
//! is revoked — the login keeps working and the index in Redis is untouched.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use tessera_shared::time::now;

use super::*;

const ALICE: &str = "00u-alice";

fn changes(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn bad_logout_tokens_are_refused_and_revoke_nothing() {
    let s = scene().await;
    let tokens = s.alice_logs_in().await;
    let sid = s.w.idp.sessions_of("alice").pop().expect("alice's session");
    let index = s.login_index().await;
    let idp = &s.w.idp;
    let token = |sid: Option<&str>, sub: Option<&str>, c: Value| {
        idp.issue_logout_token(UPSTREAM_CLIENT, sid, sub, changes(c))
            .unwrap()
    };
    let valid = |c: Value| token(Some(&sid), Some(ALICE), c);
    let event = "http://schemas.openid.net/event/backchannel-logout";
    let mut cases: Vec<(&str, String)> = vec![
        (
            "wrong issuer",
            valid(json!({"iss": "http://127.0.0.1:9/evil"})),
        ),
        ("wrong audience", valid(json!({"aud": "someone-else"}))),
        ("with a nonce", valid(json!({"nonce": "n-0S6_WzA2Mj"}))),
        ("no events", valid(json!({"events": null}))),
        ("another event", valid(json!({"events": {"urn:other": {}}}))),
        (
            "event not an object",
            valid(json!({"events": {event: "yes"}})),
        ),
        ("neither sid nor sub", token(None, None, json!({}))),
        ("sid not a string", valid(json!({"sid": 42}))),
        ("no jti", valid(json!({"jti": null}))),
        ("no iat", valid(json!({"iat": null}))),
        ("issued an hour ago", valid(json!({"iat": now() - 3600}))),
        ("issued in the future", valid(json!({"iat": now() + 3600}))),
        ("expired", valid(json!({"exp": now() - 600}))),
        ("not a JWT", "not.a.jwt".to_string()),
        ("oversized", "e".repeat(20_000)),
    ];
    // An id_token is not a logout token (it has a nonce and no event).
    let id_token = idp
        .issue_id_token(UPSTREAM_CLIENT, "alice", Some("n"))
        .unwrap();
    cases.push(("an id_token", id_token));
    idp.behaviour().set_bad_signature(true);
    cases.push(("wrong signature", valid(json!({}))));
    idp.behaviour().set_unknown_kid(true);
    cases.push(("unknown key", valid(json!({}))));
    idp.behaviour().reset();

    for (case, bad) in &cases {
        let res = s.send_logout_token(bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
        let body = json_of(res).await;
        assert_eq!(body["error"], "invalid_request", "{case}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            !description.contains(bad.as_str()) && description.len() < 100,
            "{case}"
        );
    }

    // A replayed jti: the first delivery works (an unknown session: nothing to revoke), the
    // second is refused.
    let once = token(Some("another-session"), None, json!({}));
    assert_eq!(s.send_logout_token(&once).await.status(), StatusCode::OK);
    let res = s.send_logout_token(&once).await;
    assert_oauth_error(res, 400, "invalid_request").await;

    // Nothing was revoked (the valid token for an unknown session only marked it ended).
    let mut after = s.login_index().await;
    after.retain(|(_, members)| members != "~ended");
    assert_eq!(after, index);
    echoed(s.proxy.get("/orders", &access(&tokens)).await).await;
    assert!(s.refresh(&tokens).await.is_some());
}

#[tokio::test]
async fn a_logout_request_must_be_a_form_post() {
    let s = scene().await;
    let app = &s.w.app;
    let token =
        s.w.idp
            .issue_logout_token(UPSTREAM_CLIENT, Some("s"), None, Map::new())
            .unwrap();
    let url = app.url("/backchannel_logout");
    // In the query string: refused (a query is logged), so is a JSON body, a form without it,
    // and a GET.
    let refused = [
        app.http.post(format!("{url}?logout_token={token}")),
        app.http.post(&url).json(&json!({"logout_token": token})),
        app.http.post(&url).form(&[("x", "y")]),
    ];
    for req in refused {
        assert_oauth_error(req.send().await.unwrap(), 400, "invalid_request").await;
    }
    let res = app.http.get(&url).send().await.unwrap();
    assert!(res.status().is_client_error());
}

#[tokio::test]
async fn a_repeated_or_smuggled_logout_token_is_refused() {
    let s = scene().await;
    let tokens = s.alice_logs_in().await;
    let sid = s.w.idp.sessions_of("alice").pop().unwrap();
    let good =
        s.w.idp
            .issue_logout_token(UPSTREAM_CLIENT, Some(&sid), Some(ALICE), Map::new())
            .unwrap();
    // Raw bodies, as a client would never normalise them: the parameter twice (RFC 6749 §3.2
    // applies to the form reader), and a non-UTF-8 body.
    let bodies: Vec<Vec<u8>> = vec![
        format!("logout_token={good}&logout_token=x").into_bytes(),
        [b"logout_token=".as_slice(), good.as_bytes(), b"\xff"].concat(),
    ];
    for body in bodies {
        let res =
            s.w.app
                .http
                .post(s.w.app.url("/backchannel_logout"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
        assert_oauth_error(res, 400, "invalid_request").await;
    }
    assert!(s.refresh(&tokens).await.is_some(), "nothing revoked");
}

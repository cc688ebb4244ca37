//! One subject namespace per provider (security review F1): the employees' alice and the
//! partners' alice have the same upstream `sub` (`00u-alice`) but are two people, so everything
//! that names the user — the broker's id_token, introspection, the `X-Tessera-Sub` a backend
//! receives, the stored login, admin "revoke user" — tells them apart: the default provider's
//! subjects stay raw, the partners' become `partners|<sub>`. A default-provider `sub` shaped like
//! a partners' subject is refused. (Back-channel logout by the raw `sub`, per provider:
//! `logout::a_back_channel_logout_from_partners_ends_only_partners_logins`.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::gateway::{echoed, header, route, spawn_echo, spawn_proxy};

/// The payload of the broker's id_token in `tokens` (its signature is checked in `id_tokens`).
fn id_token_claims(tokens: &Value) -> Value {
    let jwt = tokens["id_token"].as_str().expect("an id_token");
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn the_same_upstream_sub_at_two_providers_is_two_subjects_everywhere() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({"scopes": ["openid", "read"]})).await;
    let (a, b) = (t.w.idp_base.as_str(), t.partners_base.as_str());
    let openid = [("scope", "openid read")];
    let partners = [("scope", "openid read"), ("idp_hint", "partners")];
    let employee = tokens_via(&t, &c, &openid, (a, "alice", "alice")).await;
    let partner = tokens_via(&t, &c, &partners, (b, "alice", "alice-partner")).await;

    // The broker's id_token: the default provider's sub unchanged, partners' namespaced.
    assert_eq!(id_token_claims(&employee)["sub"], "00u-alice");
    assert_eq!(id_token_claims(&partner)["sub"], "partners|00u-alice");
    // Introspection (RFC 7662 §2.2 `sub`).
    let seen = t.w.app.introspect(&c, &access(&partner)).await;
    assert_eq!(seen["sub"], "partners|00u-alice");
    assert_eq!(seen["idp"], "partners");
    let seen = t.w.app.introspect(&c, &access(&employee)).await;
    assert_eq!(seen["sub"], "00u-alice");

    // What the backend behind the proxy is told.
    let echo = spawn_echo();
    let proxy = spawn_proxy(&t.w.app, json!([route("api", "/api", &echo, json!({}))])).await;
    let e = echoed(proxy.get("/api", &access(&employee)).await).await;
    assert_eq!(header(&e, "x-tessera-sub"), Some("00u-alice"));
    let e = echoed(proxy.get("/api", &access(&partner)).await).await;
    assert_eq!(header(&e, "x-tessera-sub"), Some("partners|00u-alice"));

    // What is stored: the broker's subject, and partners' own sub beside it.
    let stored = t.w.app.stored_records().await;
    let fam = format!("{}fam:", t.w.app.prefix);
    let logins: Vec<&String> = stored
        .iter()
        .filter(|(k, _)| k.starts_with(&fam))
        .map(|(_, v)| v)
        .collect();
    let partner_login = "\"sub\":\"partners|00u-alice\"";
    assert_eq!(
        logins.iter().filter(|v| v.contains(partner_login)).count(),
        1
    );
    assert!(logins
        .iter()
        .any(|v| v.contains(partner_login) && v.contains("\"upstream_sub\":\"00u-alice\"")));
    assert_eq!(
        logins
            .iter()
            .filter(|v| v.contains("\"sub\":\"00u-alice\""))
            .count(),
        1
    );

    // Admin "revoke user" of partners' alice leaves the employee alone, and the reverse.
    let user = |sub: &str| {
        format!(
            "/admin/developers/{}/apps/{}/users/{sub}/tokens",
            c.developer_id, c.app_id
        )
    };
    let res = t.w.app.admin_delete(&user("partners%7C00u-alice")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["revoked_logins"], 1);
    assert!(!t.w.app.is_active(&c, &access(&partner)).await);
    assert!(t.w.app.is_active(&c, &access(&employee)).await);
    let partner = tokens_via(&t, &c, &partners, (b, "alice", "alice-partner")).await;
    let res = t.w.app.admin_delete(&user("00u-alice")).await;
    assert_eq!(json_of(res).await["revoked_logins"], 1);
    assert!(!t.w.app.is_active(&c, &access(&employee)).await);
    assert!(t.w.app.is_active(&c, &access(&partner)).await);
}

#[tokio::test]
async fn a_default_provider_sub_inside_another_providers_namespace_is_refused() {
    let t = spawn_two().await;
    let c = code_client(&t.w, json!({})).await;
    // mallory at the employees' provider has the raw sub `partners|00p-pat`: were it kept, she
    // would be pat of partners.
    let request = Authorize::code_flow(&c).set("scope", "read");
    let (a, b) = (t.w.idp_base.as_str(), t.partners_base.as_str());
    let res = login_at(&t, &request.query(), a, "mallory", "mallory").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert!(param(&params, "code").is_none());
    assert_eq!(families_of(&t, "employees").await, 0);

    // pat himself still signs in, as partners' subject.
    let pat = tokens_via(&t, &c, &[("idp_hint", "partners")], (b, "pat", "pat")).await;
    let seen = t.w.app.introspect(&c, &access(&pat)).await;
    assert_eq!(seen["sub"], "partners|00p-pat");
}

#[tokio::test]
async fn token_exchange_namespaces_and_refuses_subjects_the_same_way() {
    const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
    let t = spawn_two().await;
    let app = json!({"grant_types": [EXCHANGE], "token_exchange_clients": ["spa"]});
    let c = code_client(&t.w, app).await;
    let exchange = |token: String| {
        let (w, c) = (&t.w, &c);
        async move {
            let form = [
                ("grant_type", EXCHANGE),
                ("subject_token", token.as_str()),
                ("subject_token_type", AT_TYPE),
            ];
            w.app.token(c, &form).await
        }
    };
    // An employees' access token whose sub squats partners' namespace: refused, no login.
    let squatter =
        t.w.idp
            .issue_access_token("spa", "partners|00p-pat", &["read"], Default::default())
            .unwrap();
    assert_oauth_error(exchange(squatter).await, 400, "invalid_request").await;
    assert_eq!(families_of(&t, "employees").await, 0);
    // The same raw sub from each provider: two subjects.
    for (idp, expected) in [(&t.w.idp, "00u-alice"), (&t.partners, "partners|00u-alice")] {
        let token = idp
            .issue_access_token("spa", "00u-alice", &["read"], Default::default())
            .unwrap();
        let res = exchange(token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let seen = t.w.app.introspect(&c, &access(&json_of(res).await)).await;
        assert_eq!(seen["sub"], expected);
    }
}

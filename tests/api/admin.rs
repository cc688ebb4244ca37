//! Admin API: authentication, developers and apps, validation answers.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn admin_api_requires_the_admin_token() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/admin/developers"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = app
        .http
        .get(app.url("/admin/developers"))
        .bearer_auth("x".repeat(40))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(res).await["error"], "unauthorized");
}

#[tokio::test]
async fn developer_lifecycle() {
    let app = spawn_app().await;
    let body = json!({"email": "Grace@Example.com", "first_name": "Grace", "last_name": "Hopper",
                      "attributes": {"team": "compilers"}});
    let res = app.admin_post("/admin/developers", body.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let dev = json_of(res).await;
    let id = dev["id"].as_str().unwrap().to_string();
    assert_eq!(dev["email"], "grace@example.com");
    assert_eq!(dev["attributes"]["team"], "compilers");

    // E-mail addresses are unique, whatever their case.
    let res = app.admin_post("/admin/developers", body).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(res).await["field"], "email");

    let listed = json_of(app.admin_get("/admin/developers").await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let res = app
        .admin_patch(
            &format!("/admin/developers/{id}"),
            json!({"first_name": "Amazing"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got = json_of(app.admin_get(&format!("/admin/developers/{id}")).await).await;
    assert_eq!(got["first_name"], "Amazing");
    assert_eq!(got["last_name"], "Hopper");

    // Changing the e-mail to one in use is a conflict; to a free one moves the index.
    let other = app.create_developer().await;
    let other_email =
        json_of(app.admin_get(&format!("/admin/developers/{other}")).await).await["email"].clone();
    let res = app
        .admin_patch(
            &format!("/admin/developers/{id}"),
            json!({"email": other_email}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = app
        .admin_patch(
            &format!("/admin/developers/{id}"),
            json!({"email": "g@navy.mil"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .admin_post(
            "/admin/developers",
            json!({"email": "grace@example.com", "first_name": "G", "last_name": "H"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "the old e-mail is free again"
    );

    let res = app.admin_delete(&format!("/admin/developers/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.admin_get(&format!("/admin/developers/{id}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.admin_get("/admin/developers/not-a-uuid").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn developer_input_errors_name_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"first_name": "A", "last_name": "B"}), "body"),
        (
            json!({"email": "nope", "first_name": "A", "last_name": "B"}),
            "email",
        ),
        (
            json!({"email": "a@b.c", "first_name": 5, "last_name": "B"}),
            "first_name",
        ),
        (
            json!({"email": "a@b.c", "first_name": "", "last_name": "B"}),
            "first_name",
        ),
        (
            json!({"email": "a@b.c", "first_name": "A", "last_name": "B", "x": 1}),
            "x",
        ),
    ];
    for (body, field) in cases {
        let res = app.admin_post("/admin/developers", body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err = json_of(res).await;
        assert_eq!(err["error"], "invalid_request");
        assert_eq!(err["field"], field, "{body} -> {err}");
    }
    // Not JSON at all, wrong content type, too large.
    let res = app
        .http
        .post(app.url("/admin/developers"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .http
        .post(app.url("/admin/developers"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[("email", "a@b.c")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .admin_post(
            "/admin/developers",
            json!({"email": "a@b.c", "first_name": "x".repeat(20_000), "last_name": "B"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn app_lifecycle_and_secret_shown_once() {
    let app = spawn_app().await;
    let dev = app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    let res = app
        .admin_post(
            &path,
            json!({"name": "orders", "redirect_uris": ["https://app.example.com/cb"],
                   "scopes": ["orders:read"], "attributes": {"region": "EU"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = json_of(res).await;
    let app_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    assert!(created["credentials"][0]["client_secret"]
        .as_str()
        .unwrap()
        .starts_with("tsr_cs_"));

    // Reading it back never shows a secret or its hash.
    let got = app.admin_get(&format!("{path}/{app_id}")).await;
    let text = got.text().await.unwrap();
    assert!(
        !text.contains("client_secret") && !text.contains("secret_hash"),
        "{text}"
    );

    let res = app.admin_post(&path, json!({"name": "orders"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(res).await["field"], "name");

    let res = app
        .admin_patch(
            &format!("{path}/{app_id}"),
            json!({"name": "orders-v2", "scopes": ["a", "b"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched = json_of(res).await;
    assert_eq!(patched["name"], "orders-v2");
    assert_eq!(patched["scopes"], json!(["a", "b"]));
    let res = app.admin_post(&path, json!({"name": "orders"})).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "the old name is free again"
    );

    let listed = json_of(app.admin_get(&path).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // An app is only reachable under its own developer.
    let other = app.create_developer().await;
    let res = app
        .admin_get(&format!("/admin/developers/{other}/apps/{app_id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = app.admin_delete(&format!("{path}/{app_id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.admin_get(&format!("{path}/{app_id}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .admin_post(
            "/admin/developers/00000000-0000-0000-0000-000000000000/apps",
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_input_errors_name_the_field() {
    let app = spawn_app().await;
    let dev = app.create_developer().await;
    let path = format!("/admin/developers/{dev}/apps");
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "a/b"}), "name"),
        (
            json!({"name": "a", "redirect_uris": ["http://app.example.com/cb"]}),
            "redirect_uris[0]",
        ),
        (
            json!({"name": "a", "redirect_uris": ["https://ok.example/cb", "https://x.example/#f"]}),
            "redirect_uris[1]",
        ),
        (
            json!({"name": "a", "redirect_uris": ["relative/path"]}),
            "redirect_uris[0]",
        ),
        (
            json!({"name": "a", "grant_types": ["implicit"]}),
            "grant_types[0]",
        ),
        (json!({"name": "a", "scopes": ["bad scope"]}), "scopes"),
        (json!({"name": "a", "status": "approved"}), "status"),
        (
            json!({"name": "a", "credential_expires_in": 0}),
            "credential_expires_in",
        ),
        (json!({"name": "a", "attributes": {"k": 1}}), "attributes.k"),
    ];
    for (body, field) in cases {
        let res = app.admin_post(&path, body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err = json_of(res).await;
        assert_eq!(err["field"], field, "{body} -> {err}");
    }
    let res = app
        .admin_patch(
            &format!("{path}/{}", uuid::Uuid::new_v4()),
            json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_developer_deletes_its_apps_and_kills_their_tokens() {
    let app = spawn_app().await;
    let c = app.default_client().await;
    let observer = app.default_client().await;
    let token = app.access_token(&c).await;
    assert!(app.is_active(&observer, &token).await);
    let res = app
        .admin_delete(&format!("/admin/developers/{}", c.developer_id))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!app.is_active(&observer, &token).await);
    let res = app.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app
        .admin_get(&format!(
            "/admin/developers/{}/apps/{}",
            c.developer_id, c.app_id
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

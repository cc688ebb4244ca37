//! Standard clients keep working (issue 9): the Python scripts under `tests/clients/python/`
//! run authlib and requests-oauthlib against the real broker — client credentials with
//! `client_secret_basic` and `client_secret_post`, and authlib's authorization code flow with
//! PKCE, the login cookie, id_token verification, refresh and revocation.
//!
//! These tests fail (never skip) when `python3` or the pinned packages are missing: `.ci/run`
//! installs them with `pip install -r tests/clients/python/requirements.txt`.

use serde_json::json;

use crate::client_scripts::Suite;
use crate::world::*;

const CLIENTS: Suite = Suite {
    program: "python3",
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python"),
    install: "pip install -r tests/clients/python/requirements.txt",
};

#[tokio::test]
async fn authlib_and_requests_oauthlib_get_client_credentials_tokens() {
    let w = spawn_world().await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let c = w
            .app
            .create_client(json!({"scopes": ["read", "write"],
                                  "token_endpoint_auth_method": method}))
            .await;
        let other = if method == "client_secret_basic" {
            "client_secret_post"
        } else {
            "client_secret_basic"
        };
        CLIENTS
            .run(
                "client_credentials.py",
                &[&w.app.base, &c.id, &c.secret, method],
                &[
                    &format!("authlib client_credentials {method}, introspection, revocation"),
                    &format!("authlib {other} refused"),
                    &format!("requests-oauthlib client_credentials {method}"),
                ],
            )
            .await;
    }
}

#[tokio::test]
async fn authlib_runs_the_authorization_code_flow_with_pkce() {
    let w = spawn_world().await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let c = code_client(&w, json!({"token_endpoint_auth_method": method})).await;
        CLIENTS
            .run(
                "authorization_code.py",
                &[
                    &w.app.base,
                    &c.id,
                    &c.secret,
                    method,
                    APP_REDIRECT,
                    "alice",
                    "alice",
                ],
                &[
                    "login through the browser, with the login cookie",
                    &format!("code redeemed with PKCE ({method})"),
                    "id_token verified: iss, aud, nonce, at_hash (sub 00u-alice)",
                    "refreshed (rotated)",
                    "login revoked with its refresh token",
                ],
            )
            .await;
    }
}

//! Real client libraries (issue 15, point 4): node's `openid-client` and AppAuth-JS
//! (`@openid/appauth`, as a native app with its loopback handler) — the scripts under
//! `tests/clients/node/` — against the real broker, Redis and the development identity
//! provider: discovery, the authorization code flow with PKCE for a native app on a loopback
//! redirect whose port is chosen at run time (and for a server-side web app with a secret),
//! id_token validation, refresh (rotated), revocation, the device authorization grant, and
//! client credentials. The snippets of `docs/integrating-apps.md` are these scripts' code.
//!
//! These tests fail (never skip) when `node` or the locked packages are missing: `.ci/run`
//! installs Node.js and runs `npm ci` in `tests/clients/node`.

use serde_json::json;

use crate::client_scripts::Suite;
use crate::device_flow::{device_world, DEVICE_GRANT};
use crate::helpers::Client;
use crate::world::*;

const CLIENTS: Suite = Suite {
    program: "node",
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/node"),
    install: "(cd tests/clients/node && npm ci)",
};

const CODE_FLOW: &[&str] = &[
    "login through the browser, back to the loopback port",
    "code redeemed with PKCE, id_token validated (sub 00u-alice)",
    "refreshed (rotated)",
    "login revoked with its refresh token",
];

/// A native app of the code flow: registered without a port on its loopback redirect, it
/// listens wherever the system lets it (RFC 8252 §7.3).
async fn native_app(w: &World) -> Client {
    w.app
        .create_client(json!({"application_type": "native",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "read"]}))
        .await
}

#[tokio::test]
async fn openid_client_runs_the_code_flow_as_a_native_app_on_a_loopback_port() {
    let w = spawn_world().await;
    let c = native_app(&w).await;
    assert!(c.secret.is_empty(), "a native app has no secret");
    let args = [w.app.base.as_str(), &c.id, "alice", "alice"];
    CLIENTS
        .run("authorization_code.mjs", &args, CODE_FLOW)
        .await;
}

#[tokio::test]
async fn appauth_runs_the_code_flow_as_a_native_app_with_its_loopback_handler() {
    let w = spawn_world().await;
    let c = native_app(&w).await;
    let args = [w.app.base.as_str(), &c.id, "alice", "alice"];
    CLIENTS
        .run(
            "appauth_native.mjs",
            &args,
            &[
                "AppAuth loopback handler on port",
                "code redeemed by AppAuth as a public client (no secret)",
                "refreshed (rotated)",
                "revoked",
            ],
        )
        .await;
}

#[tokio::test]
async fn openid_client_runs_the_code_flow_as_a_server_side_web_app() {
    let w = spawn_world().await;
    let c = w
        .app
        .create_client(json!({"redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "read"], "token_endpoint_auth_method": "client_secret_basic"}))
        .await;
    let args = [w.app.base.as_str(), &c.id, "alice", "alice", &c.secret];
    CLIENTS
        .run("authorization_code.mjs", &args, CODE_FLOW)
        .await;
}

#[tokio::test]
async fn openid_client_runs_the_device_flow() {
    let w = device_world(|_| {}).await;
    let c = w
        .app
        .create_client(
            json!({"application_type": "native", "scopes": ["openid", "read"],
            "grant_types": [DEVICE_GRANT, "refresh_token"]}),
        )
        .await;
    CLIENTS
        .run(
            "device_flow.mjs",
            &[&w.app.base, &c.id, "alice", "alice"],
            &[
                "device authorization: user code and verification URI",
                "user entered the code (lower case), logged in and allowed the device",
                "polled until allowed: tokens and a validated id_token",
                "refreshed and revoked",
            ],
        )
        .await;
}

#[tokio::test]
async fn openid_client_gets_client_credentials_tokens() {
    let w = spawn_world().await;
    let c = w
        .app
        .create_client(json!({"scopes": ["read", "write"]}))
        .await;
    CLIENTS
        .run(
            "client_credentials.mjs",
            &[&w.app.base, &c.id, &c.secret],
            &["client_credentials token (client_secret_basic)", "revoked"],
        )
        .await;
}

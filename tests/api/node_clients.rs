//! Real client libraries (issue 15, point 4): node's `openid-client` — the scripts under
//! `tests/clients/node/` — against the real broker, Redis and the development identity
//! provider: discovery, the authorization code flow with PKCE for a native app on a loopback
//! redirect whose port is chosen at run time (and for a server-side web app with a secret),
//! id_token validation, refresh (rotated), revocation, the device authorization grant, and
//! client credentials. The snippets of `docs/integrating-apps.md` are these scripts' code.
//!
//! These tests fail (never skip) when `node` or the locked packages are missing: `.ci/run`
//! installs Node.js and runs `npm ci` in `tests/clients/node`.

use serde_json::json;

use crate::device_flow::{device_world, DEVICE_GRANT};
use crate::world::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/node");

/// Runs `node script args`; asserts it succeeded and printed every `expected` line.
async fn run(script: &str, args: &[&str], expected: &[&str]) {
    let out = tokio::process::Command::new("node")
        .arg(format!("{DIR}/{script}"))
        .args(args)
        .current_dir(DIR)
        .output()
        .await
        .unwrap_or_else(|e| panic!("node is required for these tests ({e})"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "node packages missing — run: npm ci in tests/clients/node\n{stdout}"
    );
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    for line in expected {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("OK {line}"))),
            "missing 'OK {line}' in:\n{stdout}"
        );
    }
}

const CODE_FLOW: &[&str] = &[
    "login through the browser, back to the loopback port",
    "code redeemed with PKCE, id_token validated (sub 00u-alice)",
    "refreshed (rotated)",
    "login revoked with its refresh token",
];

#[tokio::test]
async fn openid_client_runs_the_code_flow_as_a_native_app_on_a_loopback_port() {
    let w = spawn_world().await;
    // Registered without a port: the app listens wherever the system lets it (RFC 8252 §7.3).
    let c = w
        .app
        .create_client(json!({"application_type": "native",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "read"]}))
        .await;
    assert!(c.secret.is_empty(), "a native app has no secret");
    let args = [w.app.base.as_str(), &c.id, "alice", "alice"];
    run("authorization_code.mjs", &args, CODE_FLOW).await;
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
    run("authorization_code.mjs", &args, CODE_FLOW).await;
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
    run(
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
    run(
        "client_credentials.mjs",
        &[&w.app.base, &c.id, &c.secret],
        &["client_credentials token (client_secret_basic)", "revoked"],
    )
    .await;
}

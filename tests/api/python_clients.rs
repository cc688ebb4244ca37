//! Standard clients keep working (issue 9): the Python scripts under `tests/clients/python/`
//! run authlib and requests-oauthlib against the real broker — client credentials with
//! `client_secret_basic` and `client_secret_post`, and authlib's authorization code flow with
//! PKCE, the login cookie, id_token verification, refresh and revocation.
//!
//! These tests fail (never skip) when `python3` or the pinned packages are missing: `.ci/run`
//! installs them with `pip install -r tests/clients/python/requirements.txt`.

use serde_json::json;

use crate::world::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python");

/// Runs `script` with `args`; asserts it succeeded and printed every `expected` line.
async fn run(script: &str, args: &[&str], expected: &[&str]) {
    let out = tokio::process::Command::new("python3")
        .arg(format!("{DIR}/{script}"))
        .args(args)
        .current_dir(DIR)
        .output()
        .await
        .unwrap_or_else(|e| panic!("python3 is required for these tests ({e})"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "Python packages missing — run: pip install -r tests/clients/python/requirements.txt\n{stdout}"
    );
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    for line in expected {
        assert!(
            stdout.lines().any(|l| l == format!("OK {line}")),
            "missing 'OK {line}' in:\n{stdout}"
        );
    }
}

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
        run(
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
        run(
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

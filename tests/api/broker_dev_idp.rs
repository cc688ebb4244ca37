//! `tessera broker --dev-idp` (the benchmark's set-up, bench/broker.sh): the real binary mounts
//! the development identity provider under `{issuer}/dev-idp` and delegates user logins to it,
//! though its configuration names no upstream at all; its log, written to a file, is plain text.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::redis_server::free_port;

/// A `tessera broker` process, killed when dropped (a failed assertion too).
struct BrokerProcess(Child);

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_broker_binary_mounts_the_development_identity_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (port, status) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("broker.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nstatus_listen = \"127.0.0.1:{status}\"\n\
             issuer = \"{base}\"\n[store]\nurl = \"memory\"\n[admin]\ntoken = \"{ADMIN_TOKEN}\"\n\
             [security]\npepper = \"{PEPPER}\"\n[id_token]\ngenerate_key = true\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("broker.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(["broker", "--dev-idp", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("TESSERA_") {
            cmd.env_remove(k);
        }
    }
    let mut broker = BrokerProcess(cmd.spawn().expect("tessera broker starts"));
    let app = TestApp {
        base: base.clone(),
        status: format!("http://127.0.0.1:{status}"),
        http: reqwest::Client::new(),
        prefix: String::new(),
        redis_url: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(broker.0.try_wait().unwrap().is_none(), "the broker exited");
        let ready = app.http.get(app.url("/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "the broker never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let discovery = app
        .http
        .get(app.url("/dev-idp/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(discovery).await["issuer"],
        format!("{base}/dev-idp")
    );
    let c = app
        .create_client(json!({"grant_types": ["password"], "scopes": ["read"]}))
        .await;
    let grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice"),
    ];
    let res = app.token(&c, &grant).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = json_of(res).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let info = app.introspect(&c, &token).await;
    assert_eq!(
        info["sub"], "00u-alice",
        "the login came from the mounted provider: {info}"
    );
    let wrong = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "bob"),
    ];
    assert_oauth_error(app.token(&c, &wrong).await, 400, "invalid_grant").await;

    // Its log went to a file: plain text, no terminal colour codes (they were written whatever
    // stdout was), yet the request lines are there.
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("/token"),
        "request lines logged: {written}"
    );
    assert!(
        !written.contains('\u{1b}'),
        "no ANSI escape codes in a log file: {written}"
    );
}

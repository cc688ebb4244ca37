//! TLS to Redis (`rediss://`, rustls): a single `redis-server --tls-port …` and a TLS cluster
//! (`--tls-cluster yes`), both demanding client certificates of a private CA made here, and
//! a broker and a proxy working over them end to end; a wrong CA, a missing client
//! certificate or a certificate of another CA is refused; the client certificate is optional
//! where the server does not ask for one; bad TLS settings are refused at start.

use std::path::Path;

use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_broker::config::BrokerConfig;
use tessera_shared::config::StoreConfig;
use tessera_shared::store;

use super::{broker_on, fresh_prefix, proxy_on};
use crate::certs::{write, Ca};
use crate::gateway::{proxy_config, route, spawn_echo, start_proxy};
use crate::helpers::{spawn_app_with, test_config};
use crate::redis_cluster::{ClusterTls, RedisCluster};
use crate::redis_server::{free_port, try_spawn_child};

/// PEM files of one test: the CA, a node certificate (server and client: cluster nodes talk to
/// each other), a client certificate, and one of another CA.
struct Files {
    ca: String,
    node_cert: String,
    node_key: String,
    client_cert: String,
    client_key: String,
    rogue_ca: String,
    rogue_cert: String,
    rogue_key: String,
}

fn files(dir: &Path) -> Files {
    let ca = Ca::new("Redis test CA");
    let rogue = Ca::new("Someone else's CA");
    let node = ca.issue_for("redis node", vec![ServerAuth, ClientAuth]);
    let client = ca.issue("tessera", ClientAuth);
    let stranger = rogue.issue("stranger", ClientAuth);
    Files {
        ca: write(dir, "ca.pem", &ca.pem()),
        node_cert: write(dir, "node.pem", &node.cert),
        node_key: write(dir, "node.key", &node.key),
        client_cert: write(dir, "client.pem", &client.cert),
        client_key: write(dir, "client.key", &client.key),
        rogue_ca: write(dir, "rogue-ca.pem", &rogue.pem()),
        rogue_cert: write(dir, "rogue.pem", &stranger.cert),
        rogue_key: write(dir, "rogue.key", &stranger.key),
    }
}

/// A TLS-only-for-clients Redis (its plain port is only the helpers' readiness probe); the
/// TLS port. `auth_clients`: whether it demands a client certificate.
fn tls_redis(f: &Files, dir: &Path, auth_clients: bool) -> (u16, std::process::Child) {
    let tls_port = free_port();
    let args: Vec<String> = [
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &f.node_cert,
        "--tls-key-file",
        &f.node_key,
        "--tls-ca-cert-file",
        &f.ca,
        "--tls-auth-clients",
        if auth_clients { "yes" } else { "no" },
    ]
    .map(String::from)
    .to_vec();
    let child = try_spawn_child(free_port(), &dir.to_path_buf(), &args).expect("TLS redis");
    (tls_port, child)
}

/// `[store]` TLS settings: CA, and a client certificate when given.
fn tls_store(cfg: &mut Value, ca: &str, client: Option<(&str, &str)>) {
    cfg["store"]["tls_ca_file"] = json!(ca);
    if let Some((cert, key)) = client {
        cfg["store"]["tls_cert_file"] = json!(cert);
        cfg["store"]["tls_key_file"] = json!(key);
    }
}

/// Whether a store with `url` and these TLS files answers a PING.
async fn reaches(url: &str, ca: &str, client: Option<(&str, &str)>) -> bool {
    let cfg = StoreConfig {
        url: url.to_string(),
        tls_ca_file: Some(ca.into()),
        tls_cert_file: client.map(|c| c.0.into()),
        tls_key_file: client.map(|c| c.1.into()),
        connect_timeout_ms: crate::helpers::STORE_TIMEOUT_MS,
        command_timeout_ms: crate::helpers::STORE_TIMEOUT_MS,
        ..StoreConfig::default()
    };
    store::open(&cfg).unwrap().ping().await.is_ok()
}

#[tokio::test]
async fn a_broker_and_a_proxy_on_a_single_redis_over_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let f = files(dir.path());
    let (port, _redis) = tls_redis(&f, dir.path(), true);
    let url = format!("rediss://127.0.0.1:{port}");
    let mine = Some((f.client_cert.as_str(), f.client_key.as_str()));

    let broker = spawn_app_with(&url, |cfg| tls_store(cfg, &f.ca, mine)).await;
    let client = broker.default_client().await;
    let token = broker.access_token(&client).await;
    assert!(broker.is_active(&client, &token).await);
    let echo = spawn_echo();
    let mut cfg = proxy_config(
        &broker,
        json!([route("orders", "/orders", &echo, json!({}))]),
    );
    tls_store(&mut cfg, &f.ca, mine);
    let proxy = start_proxy(cfg).await;
    assert_eq!(proxy.get("/orders", &token).await.status(), StatusCode::OK);
    let res = broker
        .post_form("/revoke", &client, &[("token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    crate::gateway::until_refused(&proxy, &token).await;

    // Refused: no client certificate, a certificate of another CA, the server not trusted.
    assert!(reaches(&url, &f.ca, mine).await);
    assert!(!reaches(&url, &f.ca, None).await, "no client certificate");
    let rogue = Some((f.rogue_cert.as_str(), f.rogue_key.as_str()));
    assert!(!reaches(&url, &f.ca, rogue).await, "another CA's client");
    assert!(
        !reaches(&url, &f.rogue_ca, mine).await,
        "server of an unknown CA"
    );
    // Plain Redis protocol on the TLS port is not spoken.
    let plain = format!("redis://127.0.0.1:{port}");
    let store = store::open(&StoreConfig {
        url: plain,
        command_timeout_ms: 300,
        connect_timeout_ms: 300,
        ..StoreConfig::default()
    })
    .unwrap();
    assert!(store.ping().await.is_err());
}

#[tokio::test]
async fn the_client_certificate_is_optional_where_the_server_asks_for_none() {
    let dir = tempfile::tempdir().unwrap();
    let f = files(dir.path());
    let (port, _redis) = tls_redis(&f, dir.path(), false);
    let url = format!("rediss://localhost:{port}");
    assert!(reaches(&url, &f.ca, None).await);
    assert!(
        !reaches(&url, &f.rogue_ca, None).await,
        "the server is still checked"
    );
}

#[tokio::test]
async fn a_broker_and_a_proxy_on_a_tls_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let f = files(dir.path());
    let tls = ClusterTls {
        ca_file: f.ca.clone(),
        cert_file: f.node_cert.clone(),
        key_file: f.node_key.clone(),
    };
    let cluster = RedisCluster::start(3, 0, 5_000, Some(tls));
    let nodes = cluster.urls();
    assert!(nodes.iter().all(|n| n.starts_with("rediss://")));
    let prefix = fresh_prefix();
    let mine = Some((f.client_cert.as_str(), f.client_key.as_str()));
    let broker = broker_on(&nodes, &prefix, |cfg| tls_store(cfg, &f.ca, mine)).await;
    let client = broker.default_client().await;
    let tokens = [
        broker.access_token(&client).await,
        broker.access_token(&client).await,
    ];
    let echo = spawn_echo();
    let routes = json!([route("orders", "/orders", &echo, json!({}))]);
    let proxy = proxy_on(&broker, &nodes, routes, |cfg| tls_store(cfg, &f.ca, mine)).await;
    for t in &tokens {
        assert_eq!(proxy.get("/orders", t).await.status(), StatusCode::OK);
    }
    // The revocation reaches the proxy's subscription, on whichever TLS node it is.
    let res = broker
        .post_form("/revoke", &client, &[("token", &tokens[0])])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    crate::gateway::until_refused(&proxy, &tokens[0]).await;
    assert_eq!(
        proxy.get("/orders", &tokens[1]).await.status(),
        StatusCode::OK
    );
}

#[test]
fn bad_tls_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let f = files(dir.path());
    let refused = |tweak: &dyn Fn(&mut Value)| -> String {
        let mut cfg = test_config("rediss://127.0.0.1:6380");
        tweak(&mut cfg);
        match BrokerConfig::load(cfg, None) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    };
    let msg = refused(&|c| {
        c["store"]["url"] = json!("redis://127.0.0.1:6379");
        tls_store(c, &f.ca, None);
    });
    assert!(
        msg.contains("store.tls_ca_file") && msg.contains("rediss://"),
        "{msg}"
    );
    let msg = refused(&|c| c["store"]["tls_cert_file"] = json!(f.client_cert));
    assert!(msg.contains("store.tls_cert_file"), "{msg}");
    let msg = refused(&|c| c["store"]["tls_ca_file"] = json!("/nonexistent/ca.pem"));
    assert!(msg.contains("TESSERA_STORE__TLS_CA_FILE"), "{msg}");
    let msg = refused(&|c| c["store"]["tls_ca_file"] = json!(f.client_key));
    assert!(
        msg.contains("store.tls_ca_file"),
        "a key is not a CA: {msg}"
    );
    let msg = refused(&|c| c["store"]["url"] = json!("rediss://127.0.0.1:6380/#insecure"));
    assert!(msg.contains("#insecure"), "{msg}");
    let msg = refused(&|c| {
        c["store"]["url"] = json!("");
        c["store"]["cluster_nodes"] = json!(["rediss://127.0.0.1:1", "redis://127.0.0.1:2"]);
    });
    assert!(msg.contains("mixes"), "{msg}");
    let msg = refused(&|c| c["store"]["cluster_nodes"] = json!(["redis://127.0.0.1:1"]));
    assert!(msg.contains("store.url") && msg.contains("empty"), "{msg}");
    let msg = refused(&|c| {
        c["store"]["wait_replicas"] = json!(1);
        // Not below the command timeout.
        c["store"]["wait_timeout_ms"] = c["store"]["command_timeout_ms"].clone();
    });
    assert!(msg.contains("store.wait_timeout_ms"), "{msg}");
}

//! TLS: the proxy terminating TLS for its clients (`[server.tls]`), mutual TLS toward a backend
//! that only accepts client certificates of a private CA (a route's `backend_tls`, seed 003's
//! "2-way TLS"), and certificate files that do not exist refused at start. Certificates are
//! made on the spot with rcgen and written as PEM files to a temporary directory.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rcgen::ExtendedKeyUsagePurpose;
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{Listeners, Proxy};

use super::*;
use crate::certs::{write, Ca, Issued};

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// An HTTPS backend that demands a client certificate signed by `client_ca`; its base URL.
fn spawn_mtls_backend(server: &Issued, client_ca: &str) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(client_ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
            .build()
            .unwrap();
    let chain = CertificateDer::pem_slice_iter(server.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(server.key.as_bytes()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|req: HttpRequest| async move {
            HttpResponse::Ok().json(json!({ "backend": "mtls", "path": req.path() }))
        }))
    })
    .workers(1)
    .listen_rustls_0_23(listener, cfg)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("https://127.0.0.1:{port}")
}

#[tokio::test]
async fn the_proxy_terminates_tls_with_the_configured_certificate() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Tessera test CA");
    let server = ca.issue("localhost", ExtendedKeyUsagePurpose::ServerAuth);
    let tls = json!({
        "cert": write(dir.path(), "server.pem", &server.cert),
        "key": write(dir.path(), "server.key", &server.key),
    });
    let proxy = spawn_proxy_with(
        &s.broker,
        json!([route("orders", "/orders", &s.echo, json!({}))]),
        |c| c["server"]["tls"] = tls,
    )
    .await;
    let port = port_of(&proxy.base);
    let https = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/orders");
    let e = echoed(https.get(&url).bearer_auth(&s.token).send().await.unwrap()).await;
    assert_eq!(header(&e, "x-forwarded-proto"), Some("https"));
    // Policies apply over TLS as over HTTP.
    let res = https.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A client that does not trust the private CA refuses the proxy's certificate.
    let public_roots = reqwest::Client::builder()
        .use_rustls_tls()
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap();
    let err = public_roots.get(&url).send().await;
    assert!(err.is_err(), "untrusted certificate accepted: {err:?}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = proxy
        .http
        .get(proxy.url("/orders"))
        .bearer_auth(&s.token)
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
}

#[tokio::test]
async fn mutual_tls_to_the_backend_needs_the_private_ca_and_a_client_certificate() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Backend private CA");
    let rogue = Ca::new("Someone else's CA");
    let backend = spawn_mtls_backend(
        &ca.issue("backend", ExtendedKeyUsagePurpose::ServerAuth),
        &ca.pem(),
    );
    let client = ca.issue("tessera-proxy", ExtendedKeyUsagePurpose::ClientAuth);
    let stranger = rogue.issue("tessera-proxy", ExtendedKeyUsagePurpose::ClientAuth);
    let ca_path = write(dir.path(), "ca.pem", &ca.pem());
    let cert = write(dir.path(), "client.pem", &client.cert);
    let key = write(dir.path(), "client.key", &client.key);
    let rogue_cert = write(dir.path(), "rogue.pem", &stranger.cert);
    let rogue_key = write(dir.path(), "rogue.key", &stranger.key);
    let to_backend = |name: &str, tls: Option<serde_json::Value>| {
        let mut extra = json!({ "upstream": format!("{backend}/api") });
        if let Some(tls) = tls {
            extra["backend_tls"] = tls;
        }
        route(name, &format!("/{name}"), &s.echo, extra)
    };
    let proxy = spawn_proxy(
        &s.broker,
        json!([
            to_backend(
                "mtls",
                Some(json!({ "ca": ca_path, "cert": cert, "key": key }))
            ),
            to_backend("ca-only", Some(json!({ "ca": ca_path }))),
            to_backend(
                "rogue-client",
                Some(json!({ "ca": ca_path, "cert": rogue_cert, "key": rogue_key }))
            ),
            to_backend("public-roots", None),
        ]),
    )
    .await;
    let res = proxy.get("/mtls/orders/7", &s.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = crate::helpers::json_of(res).await;
    assert_eq!(body, json!({ "backend": "mtls", "path": "/api/orders/7" }));
    for (path, why) in [
        ("/ca-only", "no client certificate"),
        ("/rogue-client", "a client certificate of another CA"),
        ("/public-roots", "the backend's CA is not publicly trusted"),
    ] {
        let res = proxy.get(path, &s.token).await;
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{path}: {why}");
    }
    // The working route still works after the failures (its client was not disturbed).
    assert_eq!(proxy.get("/mtls", &s.token).await.status(), StatusCode::OK);
}

/// `Proxy::build`'s error for `cfg`, which must be refused.
async fn refused(cfg: serde_json::Value) -> String {
    let source = ConfigSource {
        file: None,
        defaults: cfg,
    };
    let config = ProxyConfig::load(source.defaults.clone(), None).expect("valid settings");
    let listeners = Listeners::bind(&config, "127.0.0.1:0".parse().unwrap()).unwrap();
    Proxy::build(config, source, None, listeners)
        .expect_err("the proxy started")
        .to_string()
}

#[tokio::test]
async fn certificate_files_that_do_not_exist_are_refused_at_start() {
    let broker = spawn_app().await;
    let echo = spawn_echo();
    let missing = "/nonexistent/tessera-test/ca.pem";
    let r = route(
        "mtls",
        "/mtls",
        &echo,
        json!({ "backend_tls": { "ca": missing } }),
    );
    let err = refused(proxy_config(&broker, json!([r]))).await;
    assert!(
        err.contains("routes[0] (mtls).backend_tls.ca") && err.contains(missing),
        "{err}"
    );
    let mut cfg = proxy_config(&broker, json!([route("a", "/a", &echo, json!({}))]));
    cfg["server"]["tls"] = json!({ "cert": missing, "key": missing });
    let err = refused(cfg).await;
    assert!(
        err.contains("server.tls.cert") && err.contains(missing),
        "{err}"
    );
}

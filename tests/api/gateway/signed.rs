//! Signed claims to backends (RFC 9421): a route with `forward.sign` signs what it forwards,
//! and a backend running the documented recipe ([`super::verifier`], its own code) accepts the
//! proxy's calls and rejects forged, tampered, stale and client-signed ones.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::verifier::{signature_only, verify, Received};
use super::*;
use crate::helpers::json_of;

/// A fresh Ed25519 key written as PKCS#8 PEM, and a second one's public key (SPKI PEM), the
/// next key of a rotation.
fn keys(dir: &Path) -> (PathBuf, PathBuf) {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let next = SigningKey::from_bytes(&rand::random::<[u8; 32]>()).verifying_key();
    let (private, public) = (dir.join("signing.pem"), dir.join("next.pub.pem"));
    let pem = key.to_pkcs8_pem(Default::default()).expect("pem");
    std::fs::write(&private, pem.as_bytes()).expect("write key");
    let pem = next.to_public_key_pem(Default::default()).expect("pem");
    std::fs::write(&public, pem).expect("write public key");
    (private, public)
}

/// The claim headers the `orders` route covers on every call, pinned by its backend: the
/// standard set, then its `forward.claims` header.
const ORDERS: [&str; 7] = [
    "x-tessera-client-id",
    "x-tessera-app",
    "x-tessera-app-id",
    "x-tessera-developer-id",
    "x-tessera-sub",
    "x-tessera-scope",
    "x-tier",
];

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A proxy with `[signing]` whose `orders` route signs (with a claim header) and whose
/// `plain` route does not; its published key set.
async fn signing_proxy(s: &Setup, dir: &Path) -> (TestProxy, Value) {
    let (key, next) = keys(dir);
    let routes = json!([
        route(
            "orders",
            "/orders",
            &s.echo,
            json!({ "forward": { "sign": true, "claims": { "X-Tier": "tier" },
                               "allow_underscores_in_headers": true } })
        ),
        route("plain", "/plain", &s.echo, json!({})),
    ]);
    let proxy = spawn_proxy_with(&s.broker, routes, |cfg| {
        cfg["signing"] = json!({
            "key_file": key,
            "key_id": "tessera-2026-11",
            "published_keys": { "tessera-2027-01": next },
        });
    })
    .await;
    let res = (proxy
        .http
        .get(format!("{}/.well-known/tessera-signing-keys", proxy.status)))
    .send()
    .await
    .expect("jwks");
    assert_eq!(res.status(), StatusCode::OK);
    let jwks = json_of(res).await;
    (proxy, jwks)
}

#[tokio::test]
async fn backends_verify_signed_calls_and_reject_forged_tampered_and_stale_ones() {
    let s = setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (proxy, jwks) = signing_proxy(&s, dir.path()).await;
    let kids: Vec<&str> = (jwks["keys"].as_array().expect("keys").iter())
        .map(|k| k["kid"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kids, ["tessera-2026-11", "tessera-2027-01"]);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
    // The key set lives on the status listener only: on the public one it is just a path
    // without a route, never sent to a backend.
    let public = proxy
        .get("/.well-known/tessera-signing-keys", &s.token)
        .await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    // It only reads: HEAD as GET (RFC 9110 §9.1), its head without the keys.
    let keys = "/.well-known/tessera-signing-keys";
    let get = crate::head_reads::head_as_get(&proxy.status, keys, &[]).await;
    assert_eq!(get.status, 200, "{}", get.head);

    let e = echoed(proxy.get("/orders/7?expand=lines", &s.token).await).await;
    let got = Received::from_echo(&e);
    assert_eq!(verify(&got, &jwks, now(), 300, &ORDERS), Ok(()));
    let input = header(&e, "signature-input").expect("signed");
    assert!(
        input.starts_with(
            "tessera=(\"@method\" \"@authority\" \"@path\" \"@query\" \"x-tessera-client-id\" \
             \"x-tessera-app\" \"x-tessera-app-id\" \"x-tessera-developer-id\" \"x-tessera-sub\" \
             \"x-tessera-scope\" \"x-tier\");created="
        ),
        "{input}"
    );
    assert!(input.ends_with(";keyid=\"tessera-2026-11\";alg=\"ed25519\";tag=\"tessera\""));

    // Tampered on the way: a claim, the path, the query, the method.
    let tampered = |f: &dyn Fn(&mut Received)| {
        let mut r = got.clone();
        f(&mut r);
        verify(&r, &jwks, now(), 300, &ORDERS)
    };
    let scope = |r: &mut Received| {
        r.headers
            .insert("x-tessera-scope".into(), vec!["read write admin".into()]);
    };
    assert_eq!(
        tampered(&scope),
        Err("the signature does not verify".into())
    );
    assert!(tampered(&|r| r.path = "/backend/8".into()).is_err());
    assert!(tampered(&|r| r.query = "expand=all".into()).is_err());
    assert!(tampered(&|r| r.method = "DELETE".into()).is_err());
    // An added X-Tessera header outside the route's set is refused by the pinning verifier.
    let added = |r: &mut Received| {
        r.headers
            .insert("x-tessera-role".into(), vec!["admin".into()]);
    };
    assert_eq!(
        tampered(&added),
        Err("x-tessera-role is not covered".into())
    );
    // A covered set other than the route's (a signature listing fewer claims) is refused.
    let mut fewer = got.clone();
    fewer.headers.remove("x-tessera-sub");
    assert!(verify(&fewer, &jwks, now(), 300, &ORDERS).is_err());
    assert_eq!(
        verify(&got, &jwks, now(), 300, &ORDERS[..6]),
        Err("the covered set is not the route's".into())
    );

    // Replayed later: beyond the window of `created`, and past `expires` (60 s).
    let created: u64 = (input.split(";created=").nth(1))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .expect("created");
    assert!(verify(&got, &jwks, created + 301, 300, &ORDERS).is_err());
    assert_eq!(
        verify(&got, &jwks, created + 61, 300, &ORDERS),
        Err("outside the time window".into())
    );

    // Sent straight to the backend with forged claims: unsigned, or with a genuine signature
    // copied from another call.
    let direct = |headers: Vec<(&'static str, String)>| {
        let mut req = proxy.http.get(format!("{}/backend/7?expand=lines", s.echo));
        for (n, v) in headers {
            req = req.header(n, v);
        }
        async move { Received::from_echo(&echoed(req.send().await.expect("direct")).await) }
    };
    let forged = vec![
        ("x-tessera-client-id", "someone-else".to_string()),
        ("x-tessera-scope", "read write".to_string()),
    ];
    let unsigned = direct(forged.clone()).await;
    assert_eq!(
        verify(&unsigned, &jwks, now(), 300, &ORDERS),
        Err("no Signature-Input".into())
    );
    let mut copied = forged;
    copied.push(("signature-input", input.to_string()));
    let sig = header(&e, "signature").expect("signature").to_string();
    copied.push(("signature", sig));
    let replayed = direct(copied).await;
    assert!(verify(&replayed, &jwks, now(), 300, &ORDERS).is_err());
}

#[tokio::test]
async fn a_claim_added_to_a_captured_call_breaks_the_signature_even_for_a_lax_verifier() {
    let s = setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (proxy, jwks) = signing_proxy(&s, dir.path()).await;
    // A client_credentials call: no user, so no subject — sent empty, and covered.
    let e = echoed(proxy.get("/orders/7", &s.token).await).await;
    assert_eq!(header(&e, "x-tessera-sub"), Some(""), "sent, empty");
    let got = Received::from_echo(&e);
    assert_eq!(verify(&got, &jwks, now(), 300, &ORDERS), Ok(()));

    // Captured on the way and replayed straight to the backend within `expires`.
    let replay = |sub: Vec<&'static str>| {
        let mut req = proxy.http.get(format!("{}/backend/7", s.echo));
        for (name, values) in &got.headers {
            let copied = name.starts_with("x-tessera-") || name.starts_with("signature");
            if copied && name != "x-tessera-sub" || name == "x-tier" {
                for v in values {
                    req = req.header(name.as_str(), v.as_str());
                }
            }
        }
        for v in sub {
            req = req.header("x-tessera-sub", v);
        }
        async move { Received::from_echo(&echoed(req.send().await.expect("replay")).await) }
    };
    // As captured, it verifies (the check below can fail for the right reason only).
    let same = replay(vec![""]).await;
    assert_eq!(signature_only(&same, &jwks, now(), 300), Ok(()));
    // With the victim's subject in place of the empty one, or as a second field line: the
    // covered value changed, so even a verifier that checks only the signature refuses it.
    for sub in [vec!["victim"], vec!["", "victim"], vec!["victim", ""]] {
        let forged = replay(sub.clone()).await;
        assert_eq!(
            signature_only(&forged, &jwks, now(), 300),
            Err("the signature does not verify".into()),
            "{sub:?}"
        );
        assert!(verify(&forged, &jwks, now(), 300, &ORDERS).is_err());
    }
}

#[tokio::test]
async fn a_clients_own_signature_never_reaches_the_backend_of_a_signing_route() {
    let s = setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (proxy, jwks) = signing_proxy(&s, dir.path()).await;
    let auth = bearer(&s.token);
    let smuggled = [
        auth.as_str(),
        "Signature-Input: tessera=(\"@method\");created=1;keyid=\"tessera-2026-11\";alg=\"ed25519\";tag=\"tessera\"",
        "Signature: tessera=:AAAA:",
        "SIGNATURE-INPUT: other=()",
        "signature_input: tessera=()",
        "x_kept: underscores pass on this route",
    ];
    let res = raw_get(&proxy.base, "/orders/1", &smuggled).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let e = res.json();
    let got = Received::from_echo(&e);
    assert_eq!(got.headers["signature-input"].len(), 1, "only the proxy's");
    assert_eq!(got.headers["signature"].len(), 1, "only the proxy's");
    assert!(!header(&e, "signature").unwrap_or("").contains("AAAA"));
    // Even where underscores pass, `Signature_Input` is not (CGI would read it as the real one).
    assert!(e["headers"].get("signature_input").is_none());
    assert_eq!(header(&e, "x_kept"), Some("underscores pass on this route"));
    assert_eq!(verify(&got, &jwks, now(), 300, &ORDERS), Ok(()));

    // Off by default: a route that does not sign leaves the client's signature alone.
    let res = raw_get(&proxy.base, "/plain/1", &smuggled).await;
    let e = res.json();
    assert_eq!(header(&e, "signature"), Some("tessera=:AAAA:"));
}

#[tokio::test]
async fn a_bad_signing_key_or_a_signing_route_without_one_stops_the_start() {
    let s = setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let start = |cfg: Value| async move {
        let cfg = tessera_proxy::config::ProxyConfig::load(cfg, None).map_err(|e| e.to_string())?;
        let listeners = tessera_proxy::Listeners::bind(&cfg, "127.0.0.1:0".parse().expect("addr"))
            .map_err(|e| e.to_string())?;
        let source = tessera_proxy::state::ConfigSource {
            file: None,
            defaults: json!({}),
        };
        tessera_proxy::Proxy::build(cfg, source, None, listeners)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let routes = json!([route(
        "orders",
        "/orders",
        &s.echo,
        json!({ "forward": { "sign": true } })
    )]);
    let mut cfg = proxy_config(&s.broker, routes.clone());
    cfg["signing"] = json!({ "key_file": bad, "key_id": "k-bad" });
    let err = start(cfg).await.expect_err("a bad key is refused");
    assert!(
        err.contains("signing.key_file") && err.contains("bad.pem") && err.contains("'k-bad'"),
        "{err}"
    );
    assert!(!err.contains("AAAA"), "no key material in the message");

    let err = start(proxy_config(&s.broker, routes))
        .await
        .expect_err("no key");
    assert!(err.contains("forward.sign: needs a [signing] key"), "{err}");
}

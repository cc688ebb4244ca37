//! An openidconnect relying party — the broker's upstream client — pointed at the provider as
//! at Okta: it discovers, logs alice in, and its verifier catches every id_token fault.

use serde_json::json;
use tessera_broker::upstream::{Upstream, UpstreamError};
use tessera_devidp::Behaviour;

use super::*;
use crate::world::hidden_fields;

/// Turns one misbehaviour on.
type Fault = fn(&Behaviour);

/// The broker's openidconnect client, pointed at the provider as at Okta.
fn relying_party(t: &Idp) -> Upstream {
    let cfg = serde_json::from_value(json!({
        "issuer": t.base,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "scopes": ["openid", "profile", "email", "groups"],
        "timeout_ms": 3000,
    }))
    .unwrap();
    // Its redirect URI is `{issuer}/callback`: REDIRECT.
    Upstream::new(cfg, "http://127.0.0.1:1").unwrap()
}

#[tokio::test]
async fn an_openidconnect_relying_party_discovers_logs_in_and_verifies() {
    let t = spawn_idp().await;
    let rp = relying_party(&t);
    let url = rp
        .authorize_url("rp-state", "rp-nonce", VERIFIER)
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/v1/authorize?", t.base)),
        "{url}"
    );

    // The browser: the form at that URL carries the relying party's challenge; alice signs in.
    let page = t.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        param(&hidden_fields(&page), "code_challenge"),
        Some(CHALLENGE)
    );
    let res = submit_login_form(&t.http, &url, ALICE).await;
    let (to, params) = location(&res);
    assert_eq!(to, REDIRECT);
    assert_eq!(param(&params, "state"), Some("rp-state"));
    let code = param(&params, "code").unwrap();

    let login = rp.exchange_code(code, VERIFIER, "rp-nonce").await.unwrap();
    assert_eq!(login.claims["sub"], "00u-alice");
    assert_eq!(login.claims["DealershipLocation"], "Los Angeles");
    let login = rp.password("bob", "bob").await.unwrap();
    assert_eq!(login.claims["sub"], "00u-bob");
    assert!(matches!(
        rp.password("bob", "nope").await,
        Err(UpstreamError::Rejected(_))
    ));

    // Every id_token fault is caught by openidconnect's verifier.
    let b = t.idp.behaviour();
    let faults: [(&str, Fault); 6] = [
        ("wrong iss", |b| b.set_wrong_issuer(true)),
        ("wrong aud", |b| b.set_wrong_audience(true)),
        ("bad signature", |b| b.set_bad_signature(true)),
        ("expired", |b| b.set_expired(true)),
        ("unknown kid", |b| b.set_unknown_kid(true)),
        ("HS256", |b| b.set_hs256(true)),
    ];
    for (name, set) in faults {
        set(b);
        let outcome = rp.password("alice", "alice").await;
        b.reset();
        assert!(
            matches!(outcome, Err(UpstreamError::Rejected(_))),
            "{name}: {outcome:?}"
        );
    }
    // Nonce faults show in the code flow.
    for set in [
        |b: &Behaviour| b.set_wrong_nonce(true),
        |b: &Behaviour| b.set_omit_nonce(true),
    ] {
        let url = rp.authorize_url("s", "the-nonce", VERIFIER).await.unwrap();
        let res = submit_login_form(&t.http, &url, ALICE).await;
        let code = param(&location(&res).1, "code").unwrap().to_string();
        set(b);
        let outcome = rp.exchange_code(&code, VERIFIER, "the-nonce").await;
        b.reset();
        assert!(
            matches!(outcome, Err(UpstreamError::Rejected(_))),
            "{outcome:?}"
        );
    }

    // Down: an outage, not a refusal.
    b.set_down(true);
    let outcome = rp.password("alice", "alice").await;
    b.reset();
    assert!(
        matches!(outcome, Err(UpstreamError::Unavailable(_))),
        "{outcome:?}"
    );
}

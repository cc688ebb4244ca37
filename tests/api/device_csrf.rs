//! The code entry form (`POST /device`) takes a code only from the broker's own page: a
//! cross-site page that auto-submits a form with the attacker's user code must not start the
//! upstream login in the victim's browser (login CSRF). Browsers say where a form comes from
//! (`Sec-Fetch-Site`, `Origin`); a request from elsewhere gets the code entry page again with
//! `403`, no cookie, and nothing reaches Redis. Clients that send neither header keep working.

use std::collections::HashSet;

use reqwest::StatusCode;

use crate::device_flow::{browser, device_app, device_world, start};
use crate::world::*;

/// Every key under the broker's prefix, sorted, with its time to live in ms (`PTTL`: -1
/// none).
async fn keys(w: &World) -> Vec<(String, i64)> {
    let mut c = w.app.redis().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", w.app.prefix))
        .query_async(&mut c)
        .await
        .unwrap();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&k)
            .query_async(&mut c)
            .await
            .unwrap();
        if ttl != -2 {
            out.push((k, ttl)); // -2: expired since `KEYS`
        }
    }
    out
}

/// Keys in `after` that `before` did not have.
fn added(before: &[(String, i64)], after: &[(String, i64)]) -> Vec<String> {
    let had: HashSet<&str> = before.iter().map(|(k, _)| k.as_str()).collect();
    after
        .iter()
        .filter(|(k, _)| !had.contains(k.as_str()))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Nothing was stored between the snapshots: no key was added, and a key that went away was
/// one about to expire by design (a rate limiter's key lives for milliseconds after the code
/// was asked for), not one a request removed.
fn assert_nothing_stored(before: &[(String, i64)], after: &[(String, i64)]) {
    assert_eq!(added(before, after), Vec::<String>::new(), "nothing stored");
    let now: HashSet<&str> = after.iter().map(|(k, _)| k.as_str()).collect();
    for (k, ttl) in before.iter().filter(|(k, _)| !now.contains(k.as_str())) {
        assert!(
            (0..=5_000).contains(ttl),
            "{k} (ttl {ttl} ms) went away: it was not about to expire"
        );
    }
}

async fn enter(w: &World, code: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = browser()
        .post(w.app.url("/device"))
        .form(&[("user_code", code)]);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_code_entered_from_another_site_is_refused_and_stores_nothing() {
    let w = device_world(|_| {}).await;
    let c = device_app(&w).await;
    let code = start(&w, &c, "read").await["user_code"]
        .as_str()
        .unwrap()
        .to_string();
    let ours = w.app.url("");
    let ours = ours.trim_end_matches('/');
    let before = keys(&w).await;
    let forged: [&[(&str, &str)]; 6] = [
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
        &[("origin", &format!("{ours}.evil.example"))],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site"), ("origin", ours)],
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://127.0.0.1"),
        ],
    ];
    for headers in forged {
        let res = enter(&w, &code, headers).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(res.headers().get("location").is_none());
        assert!(res.headers().get("set-cookie").is_none(), "{headers:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains("from another site"), "{html}");
        assert!(!html.contains(&code), "the forged code is not filled in");
    }
    assert_nothing_stored(&before, &keys(&w).await);

    // The broker's own page (a same-origin form post), or the user's own navigation, goes on
    // to the upstream login.
    let own: [&[(&str, &str)]; 3] = [
        &[("sec-fetch-site", "same-origin"), ("origin", ours)],
        &[("sec-fetch-site", "none")],
        &[("origin", ours)],
    ];
    for headers in own {
        let res = enter(&w, &code, headers).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{headers:?}");
        let to = res.headers()["location"].to_str().unwrap();
        assert!(to.starts_with(&w.idp_base), "{to}");
    }
    let pending = added(&before, &keys(&w).await);
    assert!(!pending.is_empty(), "the upstream logins are pending");
}

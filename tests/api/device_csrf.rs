//! The code entry form (`POST /device`) takes a code only from the broker's own page: a
//! cross-site page that auto-submits a form with the attacker's user code must not start the
//! upstream login in the victim's browser (login CSRF). Browsers say where a form comes from
//! (`Sec-Fetch-Site`, `Origin`); a request from elsewhere gets the code entry page again with
//! `403`, no cookie, and nothing reaches Redis. Clients that send neither header keep working.

use reqwest::StatusCode;

use crate::device_flow::{browser, device_app, device_world, start};
use crate::world::*;

/// Every key under the broker's prefix, sorted.
async fn keys(w: &World) -> Vec<String> {
    let mut c = w.app.redis().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", w.app.prefix))
        .query_async(&mut c)
        .await
        .unwrap();
    keys.sort();
    keys
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
    assert_eq!(keys(&w).await, before, "nothing stored");

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
    assert_ne!(keys(&w).await, before, "the upstream logins are pending");
}

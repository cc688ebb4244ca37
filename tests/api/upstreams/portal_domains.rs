//! The portal signs in through `portal.upstream` only the addresses of that provider's
//! `domains` (security review F5): partners vouching for `lead@example.com`, an address of the
//! employees' domain, neither creates nor reaches that developer, nor grants the operator
//! console its groups claim names.

use reqwest::StatusCode;
use serde_json::json;

use super::routing::portal_signin;
use super::*;

#[tokio::test]
async fn the_portals_provider_signs_in_only_addresses_of_its_domains() {
    let t = spawn_two_with(|cfg| {
        cfg["portal"] = json!({"upstream": "partners", "operator_groups": ["tessera-operators"]})
    })
    .await;
    let (http, form_url) = portal_signin(&t).await;
    assert!(form_url.starts_with(&t.partners_base), "{form_url}");
    let answer = [("username", "lead"), ("password", "lead")];
    let back = submit_login_form(&http, &form_url, &answer).await;
    let callback = back.headers()["location"].to_str().unwrap();
    let res = http.get(callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the portal's error page"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains("cannot sign in addresses of your e-mail domain"));
    // No developer for the address, and no session: the console is out of reach.
    let developers = json_of(t.w.app.admin_get("/admin/developers").await).await;
    assert!(!developers.to_string().contains("lead@example.com"));
    let res = http.get(t.w.app.url("/portal/admin")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK);

    // pat, of partner.example, signs in through the same provider.
    let (http, form_url) = portal_signin(&t).await;
    let done = pat_signs_in(&t, &http, &form_url).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "signed in");
}

//! Several upstream identity providers (issue 14, point 3): the development identity provider
//! runs twice as two independent issuers with their own signing keys and users — `employees`
//! (the default: alice, bob, olivia of `example.com`) and `partners` (pat, and another "alice"
//! whose `sub` is the same as the employee's, of `partner.example`) — and the broker delegates
//! to both. The employees' provider also has mallory, whose raw `sub` (`partners|00p-pat`) is
//! shaped like partners' namespaced subject for pat; the partners' provider has lead, whose
//! address is at `example.com` (the employees' domain) and who is in `tessera-operators`.

mod device;
mod logout;
mod mixup;
mod outage;
mod portal_domains;
mod routing;
mod subjects;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_devidp::{DevIdp, DevUser};

use crate::helpers::*;
use crate::world::*;

/// The broker with its two providers.
pub struct Two {
    /// The broker, and `employees` as its `idp`.
    pub w: World,
    pub partners: DevIdp,
    pub partners_base: String,
    /// Stops the `employees` provider; and the `partners` one.
    pub stop_employees: actix_web::dev::ServerHandle,
    pub stop_partners: actix_web::dev::ServerHandle,
}

/// A partner user: `username`/`password`, `sub`, at `partner.example`, of company Acme Parts.
fn partner(username: &str, password: &str, sub: &str) -> DevUser {
    user_at("partner.example", username, password, sub)
}

/// lead at the partners' provider, with an address in the employees' domain and operators'
/// group.
fn lead() -> DevUser {
    let mut lead = user_at("example.com", "lead", "lead", "00p-lead");
    lead.claims
        .insert("groups".into(), json!(["tessera-operators"]));
    lead
}

/// A user `username`/`password` with `sub`, an e-mail address at `domain`, of Acme Parts.
fn user_at(domain: &str, username: &str, password: &str, sub: &str) -> DevUser {
    let claims = json!({
        "sub": sub,
        "email": format!("{username}@{domain}"),
        "email_verified": true,
        "name": format!("{username} (partner)"),
        "company": "Acme Parts",
    });
    DevUser {
        username: username.into(),
        password: password.into(),
        claims: claims.as_object().cloned().unwrap_or_default(),
    }
}

pub async fn spawn_two() -> Two {
    spawn_two_with(|_| {}).await
}

/// Both providers and the broker (`[[upstreams]]`: `employees` first, the default, for
/// `example.com`; `partners` for `partner.example`, with its own claim map); `tweak` edits the
/// broker's configuration.
pub async fn spawn_two_with(tweak: impl FnOnce(&mut Value)) -> Two {
    let (listener, issuer) = broker_listener();
    let (employees, employees_base, stop_employees) = start_idp(&issuer, |cfg| {
        let mallory = user_at("example.com", "mallory", "mallory", "partners|00p-pat");
        cfg.users.push(mallory);
    });
    let (partners, partners_base, stop_partners) = start_idp(&issuer, |cfg| {
        cfg.users = vec![
            partner("pat", "pat", "00p-pat"),
            partner("alice", "alice-partner", "00u-alice"),
            lead(),
        ];
    });
    let mut a = upstream_entry(&employees_base);
    a["id"] = json!("employees");
    a["domains"] = json!(["example.com"]);
    let mut b = upstream_entry(&partners_base);
    b["id"] = json!("partners");
    b["domains"] = json!(["partner.example"]);
    b["claims"] = json!({"email": "email", "company": "company"});
    let app = spawn_app_on(listener, &shared_redis_url(), |cfg| {
        cfg["server"]["issuer"] = json!(issuer);
        cfg["upstreams"] = json!([a, b]);
        cfg["id_token"] = json!({"generate_key": true});
        tweak(cfg);
    })
    .await;
    Two {
        w: World {
            app,
            idp: employees,
            idp_base: employees_base,
        },
        partners,
        partners_base,
        stop_employees,
        stop_partners,
    }
}

/// The broker's browser at `/authorize` with `request`: the broker's answer.
pub async fn authorize_answer(t: &Two, request: &Authorize) -> reqwest::Response {
    let http = &t.w.app.http;
    let url = t.w.app.url("/authorize");
    http.get(url).query(&request.query()).send().await.unwrap()
}

/// The browser `http` at `/authorize` with `query`: where the broker sent it (asserting a
/// redirect).
pub async fn authorize(t: &Two, http: &reqwest::Client, query: &[(&str, &str)]) -> String {
    let res = http
        .get(t.w.app.url("/authorize"))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "/authorize redirects");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// The browser `http`: `/authorize` with `query`, which must send it to the provider at
/// `idp_base`, then that provider's login form as `user`/`password`: the URL the provider
/// sends the browser back to (`/callback?…`), not yet followed.
pub async fn until_callback_at(
    t: &Two,
    http: &reqwest::Client,
    query: &[(&str, &str)],
    idp_base: &str,
    user: &str,
    password: &str,
) -> String {
    let form_url = authorize(t, http, query).await;
    assert!(form_url.starts_with(idp_base), "sent to {form_url}");
    let res = submit_login_form(
        http,
        &form_url,
        &[("username", user), ("password", password)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND, "the provider sends back");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// The browser `http` signs in as pat at the partners' login form `form_url` and goes back
/// where the provider sends it: the broker's answer there.
pub async fn pat_signs_in(t: &Two, http: &reqwest::Client, form_url: &str) -> reqwest::Response {
    assert!(form_url.starts_with(&t.partners_base), "{form_url}");
    let answer = [("username", "pat"), ("password", "pat")];
    let back = submit_login_form(http, form_url, &answer).await;
    let callback = back.headers()["location"].to_str().unwrap();
    http.get(callback).send().await.unwrap()
}

/// A whole login through the provider at `idp_base` in the broker's browser: the broker's
/// final answer (a redirect back to the app).
pub async fn login_at(
    t: &Two,
    query: &[(&str, &str)],
    idp_base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let http = &t.w.app.http;
    let callback = until_callback_at(t, http, query, idp_base, user, password).await;
    http.get(callback).send().await.unwrap()
}

/// The broker code of a redirect back to the app.
pub fn code_of(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(res);
    assert_eq!(to, APP_REDIRECT);
    param(&params, "code")
        .unwrap_or_else(|| panic!("a code: {params:?}"))
        .to_string()
}

/// A login of `c` for scope `read` through `idp_base` as `user`/`password`, with `extra`
/// request parameters, redeemed: the token response.
pub async fn tokens_via(
    t: &Two,
    c: &Client,
    extra: &[(&str, &str)],
    (idp_base, user, password): (&str, &str, &str),
) -> Value {
    let mut request = Authorize::code_flow(c).set("scope", "read");
    for (k, v) in extra {
        request = request.set(k, v);
    }
    let res = login_at(t, &request.query(), idp_base, user, password).await;
    let res = redeem(&t.w, c, &code_of(&res)).await;
    assert_eq!(res.status(), StatusCode::OK);
    json_of(res).await
}

/// The access token of a token response.
pub fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_string()
}

/// The stored family records (one per login) whose identity names the provider `idp`.
pub async fn families_of(t: &Two, idp: &str) -> usize {
    let needle = format!("\"idp\":\"{idp}\"");
    let families = format!("{}fam:", t.w.app.prefix);
    let stored = t.w.app.stored_records().await;
    stored
        .iter()
        .filter(|(k, v)| k.starts_with(&families) && v.contains(&needle))
        .count()
}

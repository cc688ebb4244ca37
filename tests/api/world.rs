//! A whole deployment for user-login tests: the development identity provider as a real HTTP
//! upstream on its own port, and the broker configured to delegate to it; plus a browserless
//! "user agent" that follows the login redirects and posts the login form.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_devidp::{DevIdp, DevIdpConfig, DevIdpServer};

use crate::helpers::*;

pub const UPSTREAM_CLIENT: &str = "tessera-broker";
pub const UPSTREAM_SECRET: &str = "upstream-secret-0123456789abcdefghij";
pub const APP_REDIRECT: &str = "http://127.0.0.1:9/app/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct World {
    pub app: TestApp,
    pub idp: DevIdp,
    pub idp_base: String,
}

/// A port for the broker, bound now so that its issuer URL is known before it starts.
pub fn broker_listener() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    (listener, format!("http://127.0.0.1:{port}"))
}

/// Starts a dev IdP on its own port that knows the broker at `broker_issuer` as its client
/// (callbacks, back-channel logout, post-logout redirect); `edit` changes its configuration
/// (its users, say). Returns the provider, its base URL (its issuer) and what stops it.
pub fn start_idp(
    broker_issuer: &str,
    edit: impl FnOnce(&mut DevIdpConfig),
) -> (DevIdp, String, actix_web::dev::ServerHandle) {
    let callback = format!("{broker_issuer}/callback");
    let server = DevIdpServer::build("127.0.0.1:0".parse().unwrap(), |p| {
        let mut cfg = DevIdpConfig::demo(
            &format!("http://127.0.0.1:{p}"),
            UPSTREAM_CLIENT,
            UPSTREAM_SECRET,
            vec![callback.clone(), format!("{broker_issuer}/portal/callback")],
        );
        // What the operator registers at Okta for the broker (docs/operations.md).
        cfg.clients[0].backchannel_logout_uri = Some(format!("{broker_issuer}/backchannel_logout"));
        cfg.clients[0].post_logout_redirect_uris =
            vec![format!("{broker_issuer}/end_session/callback")];
        edit(&mut cfg);
        cfg
    })
    .expect("dev idp starts");
    let idp = server.idp().clone();
    let idp_base = format!("http://127.0.0.1:{}", server.port());
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());
    (idp, idp_base, handle)
}

/// `timeout_ms` of the tests' upstream entries: generous, as the store's deadlines are
/// ([`crate::helpers::STORE_TIMEOUT_MS`]); the test of a slow upstream sets a short one.
pub const UPSTREAM_TIMEOUT_MS: u64 = 10_000;

/// A broker with the development identity provider mounted on its own listener, as `tessera dev`
/// runs it (under `{broker}/dev-idp`, with `/dev/callback`); and the provider.
pub async fn dev_broker() -> (TestApp, tessera_devidp::Mounted) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let idp = tessera_devidp::Mounted::demo(&base).unwrap();
    let upstream = idp.upstream();
    let mount: tessera_broker::startup::Mount = std::sync::Arc::new(idp.routes());
    let app = spawn_app_mounting(
        listener,
        &shared_redis_url(),
        move |cfg| {
            cfg["server"]["issuer"] = json!(base);
            cfg["upstream"] = upstream;
            cfg["id_token"] = json!({"generate_key": true});
        },
        Some(mount),
    )
    .await;
    (app, idp)
}

/// The broker's upstream entry for the dev IdP at `idp_base`.
pub fn upstream_entry(idp_base: &str) -> Value {
    json!({
        "issuer": idp_base,
        "client_id": UPSTREAM_CLIENT,
        "client_secret": UPSTREAM_SECRET,
        "scopes": ["openid", "profile", "email", "groups"],
        "claims": {"email": "email", "groups": "groups", "DealershipLocation": "dealership"},
        "timeout_ms": UPSTREAM_TIMEOUT_MS,
        "jwks_min_refetch_secs": 30,
    })
}

/// Starts the dev IdP and a broker that delegates to it; `tweak` edits the broker config.
pub async fn spawn_world_with(tweak: impl FnOnce(&mut Value)) -> World {
    let (listener, broker_issuer) = broker_listener();
    let (idp, idp_base, _) = start_idp(&broker_issuer, |_| {});
    let upstream = upstream_entry(&idp_base);
    let app = spawn_app_on(listener, &shared_redis_url(), |cfg| {
        cfg["server"]["issuer"] = json!(broker_issuer);
        cfg["upstream"] = upstream;
        cfg["id_token"] = json!({"generate_key": true});
        tweak(cfg);
    })
    .await;
    World { app, idp, idp_base }
}

pub async fn spawn_world() -> World {
    spawn_world_with(|_| {}).await
}

/// Where a redirect points, and its query parameters.
pub fn location(res: &reqwest::Response) -> (String, Vec<(String, String)>) {
    let loc = res
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {}", res.status()))
        .to_str()
        .unwrap()
        .to_string();
    let url = url::Url::parse(&loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    let mut base = url.clone();
    base.set_query(None);
    (base.to_string(), params)
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The hidden inputs of an HTML page's form, entity-decoded, in order.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        if tag.contains("type=\"hidden\"") {
            if let (Some(n), Some(v)) = (attribute(tag, "name"), attribute(tag, "value")) {
                out.push((n, v));
            }
        }
    }
    out
}

/// The entity-decoded value of attribute `name` in the inside of an HTML tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let rest = &tag[tag.find(&key)? + key.len()..];
    Some(html_escape::decode_html_entities(&rest[..rest.find('"')?]).into_owned())
}

/// The user at the development identity provider's login form: the browser `http` opens
/// `form_url`, fills in `answer` — `[("username", …), ("password", …)]` to sign in,
/// `[("action", "deny")]` to decline — and submits the form where its `action` points, as a
/// browser resolves it against the page. The provider's answer: a redirect back to the
/// relying party, or the form again.
pub async fn submit_login_form(
    http: &reqwest::Client,
    form_url: &str,
    answer: &[(&str, &str)],
) -> reqwest::Response {
    let page = http.get(form_url).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the login form at {form_url}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("type=\"password\""), "a login form: {html}");
    let form = html.split("<form").nth(1).expect("a <form>");
    let action = attribute(form.split('>').next().unwrap(), "action").expect("a form action");
    let target = url::Url::parse(form_url).unwrap().join(&action).unwrap();
    let mut fields = hidden_fields(&html);
    fields.extend(answer.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    http.post(target).form(&fields).send().await.unwrap()
}

/// An app's authorization request as its browser sends it to `/authorize`: the code flow for
/// one client, to [`APP_REDIRECT`], with PKCE (S256, [`CHALLENGE`]). A test adds or changes
/// what it is about with [`Authorize::set`] and drops parameters with [`Authorize::without`].
#[derive(Debug, Clone)]
pub struct Authorize(Vec<(String, String)>);

impl Authorize {
    pub fn code_flow(client: &Client) -> Self {
        let base = [
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", APP_REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        Authorize(
            base.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// `name` = `value`, in place of any earlier value.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_string(), value.to_string()));
        self
    }

    pub fn query(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }
}

/// An app allowed the code and refresh grants, with a redirect URI, scopes `openid profile read`.
pub async fn code_client(w: &World, extra: Value) -> Client {
    let mut body = json!({
        "redirect_uris": [APP_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "read", "write"],
        "attributes": {"tier": "gold"},
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    w.app.create_client(body).await
}

/// The browser `http`: `/authorize` with `query`, then the upstream login form as
/// `user`/`password`. `Ok`: the URL the upstream sends the browser back to (`/callback?…`), not
/// yet followed; `Err`: where the chain stopped instead.
pub async fn until_callback(
    w: &World,
    http: &reqwest::Client,
    query: &[(&str, &str)],
    user: &str,
    password: &str,
) -> Result<String, reqwest::Response> {
    let res = http
        .get(w.app.url("/authorize"))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "authorize should redirect upstream"
    );
    let (to, _) = location(&res);
    assert!(to.starts_with(&w.idp_base), "redirected to {to}");
    let form_url = res.headers()["location"].to_str().unwrap().to_string();
    let res = submit_login_form(
        http,
        &form_url,
        &[("username", user), ("password", password)],
    )
    .await;
    if res.status() != StatusCode::FOUND {
        return Err(res);
    }
    Ok(res.headers()["location"].to_str().unwrap().to_string())
}

/// The browser (the app's cookie-keeping client): [`until_callback`], then back to the broker.
/// Returns the final redirect back to the app (or wherever the chain stopped).
pub async fn login(
    w: &World,
    query: &[(&str, &str)],
    user: &str,
    password: &str,
) -> reqwest::Response {
    let http = &w.app.http;
    match until_callback(w, http, query, user, password).await {
        Ok(callback) => http.get(callback).send().await.unwrap(),
        Err(stopped) => stopped,
    }
}

/// A full successful login for `c` with PKCE; returns the broker code.
pub async fn code_for(w: &World, c: &Client, scope: &str) -> String {
    let request = Authorize::code_flow(c)
        .set("scope", scope)
        .set("state", "xyz");
    code_from(w, &request).await
}

/// Alice logs in through the development identity provider's form for `request` and comes
/// back to the app: the broker's code.
pub async fn code_from(w: &World, request: &Authorize) -> String {
    let res = login(w, &request.query(), "alice", "alice").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (to, params) = location(&res);
    assert_eq!(to, APP_REDIRECT);
    param(&params, "code").expect("a code").to_string()
}

/// Redeems `code` for `c` with the PKCE verifier.
pub async fn redeem(w: &World, c: &Client, code: &str) -> reqwest::Response {
    w.app
        .token(
            c,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", APP_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
}

/// Logs alice in for `c` and returns the token response.
pub async fn alice_tokens(w: &World, c: &Client, scope: &str) -> Value {
    let code = code_for(w, c, scope).await;
    let res = redeem(w, c, &code).await;
    assert_eq!(res.status(), StatusCode::OK);
    json_of(res).await
}

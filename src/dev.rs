//! `tessera dev`: the whole thing on one machine, with no Redis and no Okta — the broker on the
//! in-memory store with the built-in identity provider, the proxy in front of the sample echo
//! backend sharing that store, demo data, and a printed walk-through.
//!
//! Ports: broker `port`, proxy `port + 1`, echo backend `port + 2`, proxy status `port + 3`,
//! broker status `port + 4`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use anyhow::Context;
use tessera_broker::Application;
use tessera_proxy::config::ProxyConfig;
use tessera_proxy::state::ConfigSource;
use tessera_proxy::{Listeners, Proxy};
use tessera_shared::config::BrokerConfig;
use tessera_shared::crypto::random_string;

/// The proxy's routes in `tessera dev`: one per authentication policy, and one with a tight
/// quota to show throttling.
fn proxy_defaults(base: &str, echo: &str, proxy_port: u16, pepper: &str) -> serde_json::Value {
    serde_json::json!({
        "server": { "listen": format!("127.0.0.1:{proxy_port}"), "realm": "tessera-dev" },
        "store": { "url": "memory" },
        "security": { "pepper": pepper },
        "log": { "level": "warn" },
        "routes": [
            { "name": "orders", "path": "/orders", "upstream": format!("{echo}/api/orders"),
              "auth": { "kind": "tessera" },
              "scopes": { "required": ["orders:read"] },
              "forward": { "claims": { "X-User-Email": "email", "X-Tier": "tier" } } },
            { "name": "throttled", "path": "/throttled", "upstream": format!("{echo}/api/throttled"),
              "auth": { "kind": "tessera" },
              "quota": { "limit": 3, "period": "minute" } },
            { "name": "keyed", "path": "/keyed", "upstream": format!("{echo}/api/keyed"),
              "auth": { "kind": "api_key", "header": "x-api-key", "query": "apikey" } },
            { "name": "okta", "path": "/okta", "upstream": format!("{echo}/api/okta"),
              "auth": { "kind": "jwt",
                        "openid_config_urls": [format!("{base}/dev-idp/.well-known/openid-configuration")],
                        "audiences": ["api://default"],
                        "required_claims": [{ "name": "DealershipLocation", "match": "any",
                                              "values": ["Los Angeles", "San Francisco"] }] } },
            { "name": "public", "path": "/public", "upstream": format!("{echo}/api/public"),
              "auth": { "kind": "none" },
              "spike_arrest": { "rate": "5ps" } },
        ],
    })
}

pub async fn run(file: Option<PathBuf>, port: u16) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let (proxy_port, echo_port, status_port) = (port + 1, port + 2, port + 3);
    let broker_status_port = port + 4;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let echo = format!("http://127.0.0.1:{echo_port}");
    let pepper = random_string::<32>();
    let defaults = serde_json::json!({
        "server": {
            "listen": format!("127.0.0.1:{port}"),
            "status_listen": format!("127.0.0.1:{broker_status_port}"),
            "issuer": base,
        },
        "store": { "url": "memory" },
        "admin": { "token": random_string::<32>() },
        "security": { "pepper": pepper },
        "registration": {
            "initial_access_token": random_string::<32>(),
            "allowed_scopes": ["orders:read"],
        },
        "log": { "level": "warn" },
        "upstream": { "dev_idp": true, "claims": {
            "email": "email", "groups": "groups", "DealershipLocation": "DealershipLocation" } },
        "id_token": { "generate_key": true },
    });
    let config = BrokerConfig::load(defaults, file.as_deref())?;
    tessera_shared::telemetry::init(&config.log);
    let admin_token = secrecy::ExposeSecret::expose_secret(&config.admin.token).to_string();
    let registration_token = config
        .registration
        .initial_access_token
        .as_ref()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string())
        .unwrap_or_default();
    let app = Application::build(config).context("starting the broker")?;
    let demo = tessera_broker::dev::seed(app.state())
        .await
        .context("creating the demo app")?;

    let echo_server = tessera_proxy::echo::serve(TcpListener::bind(("127.0.0.1", echo_port))?, 1)
        .context("starting the sample backend")?;
    let source = ConfigSource {
        file: None,
        defaults: proxy_defaults(&base, &echo, proxy_port, &pepper),
    };
    let proxy_cfg = ProxyConfig::load(source.defaults.clone(), None)?;
    let listeners = Listeners::bind(&proxy_cfg, SocketAddr::from(([127, 0, 0, 1], status_port)))
        .context("binding the proxy")?;
    let store = app.state().catalog.store().clone();
    let proxy_app =
        Proxy::build(proxy_cfg, source, Some(store), listeners).context("starting the proxy")?;

    let (id, secret) = (&demo.client_id, &demo.client_secret);
    println!(
        r#"
Tessera dev — broker on {base}, proxy on {proxy}, sample backend on {echo}
(in-memory store: everything is lost on exit)

Demo app (developer {dev}, app {app_id}):
  client_id     = {id}
  client_secret = {secret}
Admin token     = {admin_token}
Registration    = {registration_token}  (RFC 7591 initial access token for {base}/register)

1. Get an access token (client_credentials), and keep it in $TOKEN:
   TOKEN=$(curl -s -u '{id}:{secret}' -d grant_type=client_credentials -d scope=orders:read {base}/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

2. Call the API through the proxy (the backend echoes what it received, X-Tessera-* included):
   curl -s -H "Authorization: Bearer $TOKEN" {proxy}/orders/42

   Without a token (401), and with the API key instead (Apigee's VerifyAPIKey):
   curl -si {proxy}/orders/42
   curl -s -H 'x-api-key: {id}' {proxy}/keyed/ping

3. Get throttled: the /throttled route allows 3 calls a minute per app (the 4th is 429):
   for i in 1 2 3 4; do curl -s -o /dev/null -w '%{{http_code}}\n' -H "Authorization: Bearer $TOKEN" {proxy}/throttled; done

4. Introspect and revoke; the proxy refuses the revoked token at once:
   curl -s -u '{id}:{secret}' -d token=$TOKEN {base}/introspect
   curl -s -u '{id}:{secret}' -d token=$TOKEN {base}/revoke
   curl -si -H "Authorization: Bearer $TOKEN" {proxy}/orders/42

5. Log in as a user (authorization code + PKCE, delegated to the built-in identity provider,
   which stands in for Okta). Open in a browser, sign in as alice / alice (the login completes
   only in the browser that started it: it carries the broker's login cookie):
   {base}/authorize?response_type=code&client_id={id}&redirect_uri={base}/dev/callback&scope=openid%20orders:read&state=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256

   The browser lands on {base}/dev/callback?code=…; redeem the code within 60 s:
   curl -s -u '{id}:{secret}' -d grant_type=authorization_code -d code=CODE \
        -d redirect_uri={base}/dev/callback -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk {base}/token

   Or without a browser (password grant, delegated upstream):
   curl -s -u '{id}:{secret}' -d grant_type=password -d username=alice -d password=alice -d scope=orders:read {base}/token

   Refresh (rotates; reusing an old refresh token revokes the login):
   curl -s -u '{id}:{secret}' -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN {base}/token

6. Look around (the id_tokens are the broker's, verifiable with its JWKS):
   curl -s {base}/.well-known/openid-configuration
   curl -s {base}/jwks
   curl -s -H 'Authorization: Bearer {admin_token}' {base}/admin/developers
   curl -s -H 'Authorization: Bearer {admin_token}' '{base}/admin/usage'
   curl -s http://127.0.0.1:{broker_status_port}/metrics     (the broker's status listener)
   curl -s http://127.0.0.1:{status_port}/metrics     (the proxy's)

Ctrl-C to stop.
"#,
        dev = demo.developer_id,
        app_id = demo.app_id,
    );
    tokio::select! {
        r = app.run_until_stopped() => r?,
        r = proxy_app.run_until_stopped() => r?,
        r = echo_server => r?,
    }
    Ok(())
}

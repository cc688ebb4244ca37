//! `tessera` — the umbrella binary: `tessera broker`, `tessera dev`.
//!
//! Each subcommand loads configuration (`--config FILE` or `TESSERA_CONFIG`, then `TESSERA_…`
//! environment overrides), sets up telemetry and runs the application; nothing else lives here.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera_broker::Application;
use tessera_shared::config::BrokerConfig;
use tessera_shared::crypto::random_string;

/// mimalloc instead of the system allocator: glibc malloc/free were ~16% of the broker's CPU
/// on the token endpoint (perf, BENCHMARKS.md), mimalloc's per-thread free lists cut that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "OAuth 2.0 broker and token-mapping service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the OAuth broker (production: the store must be configured explicitly).
    Broker {
        /// TOML configuration file.
        #[arg(long, env = "TESSERA_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run everything on this machine with the in-memory store and demo data; print a walk-through.
    Dev {
        /// Optional TOML file layered over the development defaults.
        #[arg(long, env = "TESSERA_CONFIG")]
        config: Option<PathBuf>,
        /// Port of the broker on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Broker { config } => {
            let config = BrokerConfig::load(serde_json::json!({}), config.as_deref())?;
            tessera_shared::telemetry::init(&config.log);
            if config.store.url == "memory" {
                tracing::warn!("store.url = \"memory\": tokens and apps live in this process only");
            }
            let app = Application::build(config).context("starting the broker")?;
            tracing::info!(port = app.port(), "broker listening");
            app.run_until_stopped().await?;
        }
        Command::Dev { config, port } => dev(config, port).await?,
    }
    Ok(())
}

async fn dev(file: Option<PathBuf>, port: u16) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let defaults = serde_json::json!({
        "server": { "listen": format!("127.0.0.1:{port}"), "issuer": base },
        "store": { "url": "memory" },
        "admin": { "token": random_string::<32>() },
        "security": { "pepper": random_string::<32>() },
        "registration": {
            "initial_access_token": random_string::<32>(),
            "allowed_scopes": ["orders:read"],
        },
        "log": { "level": "warn" },
        "upstream": { "dev_idp": true, "claims": {
            "email": "email", "groups": "groups", "DealershipLocation": "DealershipLocation" } },
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
    let (id, secret) = (&demo.client_id, &demo.client_secret);
    println!(
        r#"
Tessera dev — broker on {base} (in-memory store: everything is lost on exit)

Demo app (developer {dev}, app {app_id}):
  client_id     = {id}
  client_secret = {secret}
Admin token     = {admin_token}
Registration    = {registration_token}  (RFC 7591 initial access token for {base}/register)

1. Get an access token (client_credentials):
   curl -s -u '{id}:{secret}' -d grant_type=client_credentials -d scope=orders:read {base}/token

2. Introspect it (paste the access_token):
   curl -s -u '{id}:{secret}' -d token=ACCESS_TOKEN {base}/introspect

3. Revoke it, then introspect again ("active": false):
   curl -s -u '{id}:{secret}' -d token=ACCESS_TOKEN {base}/revoke

4. Log in as a user (authorization code + PKCE, delegated to the built-in identity provider,
   which stands in for Okta). Open in a browser, sign in as alice / alice:
   {base}/authorize?response_type=code&client_id={id}&redirect_uri={base}/dev/callback&scope=openid%20orders:read&state=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256

   The browser lands on {base}/dev/callback?code=…; redeem the code within 60 s:
   curl -s -u '{id}:{secret}' -d grant_type=authorization_code -d code=CODE \
        -d redirect_uri={base}/dev/callback -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk {base}/token

   Or without a browser (password grant, delegated upstream):
   curl -s -u '{id}:{secret}' -d grant_type=password -d username=alice -d password=alice -d scope=orders:read {base}/token

   Refresh (rotates; reusing an old refresh token revokes the login):
   curl -s -u '{id}:{secret}' -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN {base}/token

5. Look around:
   curl -s {base}/.well-known/oauth-authorization-server
   curl -s -H 'Authorization: Bearer {admin_token}' {base}/admin/developers
   curl -s {base}/metrics

Ctrl-C to stop.
"#,
        dev = demo.developer_id,
        app_id = demo.app_id,
    );
    app.run_until_stopped().await?;
    Ok(())
}

//! The demo data of `tessera dev`: one developer and one app with a client_credentials
//! credential, created in whatever store the broker runs on.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use tessera_shared::catalog::{NewApp, NewDeveloper};
use tessera_shared::error::CatalogError;
use tessera_shared::model::{GrantType, RedirectUri};
use tessera_shared::scope::ScopeSet;

use crate::state::AppState;

/// What the walk-through prints. Holds a live secret: print it once, never log it.
#[derive(Debug)]
pub struct Demo {
    pub developer_id: uuid::Uuid,
    pub app_id: uuid::Uuid,
    pub client_id: String,
    pub client_secret: String,
}

pub async fn seed(state: &AppState) -> Result<Demo, CatalogError> {
    let issuer = state.urls.issuer.clone();
    let dev = state
        .catalog
        .create_developer(NewDeveloper {
            email: format!("demo+{}@tessera.dev", uuid::Uuid::new_v4().simple()),
            first_name: "Demo".into(),
            last_name: "Developer".into(),
            attributes: BTreeMap::new(),
        })
        .await?;
    let scopes = ScopeSet::parse("openid profile orders:read orders:write")
        .map_err(|m| CatalogError::invalid("scopes", m))?;
    let callback = RedirectUri::try_from(format!("{issuer}/dev/callback"))
        .map_err(|m| CatalogError::invalid("redirect_uris", m))?;
    let user_grants = state.upstream.is_some();
    let mut grant_types = vec![GrantType::ClientCredentials];
    if user_grants {
        grant_types.extend([
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::Password,
            GrantType::TokenExchange,
        ]);
    }
    let (app, issued) = state
        .catalog
        .create_app(
            dev.id,
            NewApp {
                name: "demo-app".into(),
                redirect_uris: vec![callback],
                grant_types,
                scopes,
                attributes: BTreeMap::from([("tier".to_string(), "gold".to_string())]),
                ..Default::default()
            },
        )
        .await?;
    Ok(Demo {
        developer_id: dev.id,
        app_id: app.id,
        client_id: issued.credential.client_id,
        client_secret: issued
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default(),
    })
}

/// With `upstream.dev_idp = true`: creates the development identity provider, to be served under
/// `{issuer}/dev-idp`, and points the upstream configuration at it. Loudly logged: it lets demo
/// users in with demo passwords.
pub fn mount_dev_idp(
    config: &mut tessera_shared::config::BrokerConfig,
) -> Result<Option<crate::devidp::DevIdp>, crate::devidp::DevIdpError> {
    let Some(up) = config.upstream.as_mut().filter(|u| u.dev_idp) else {
        return Ok(None);
    };
    let issuer = config.server.issuer.trim_end_matches('/').to_string();
    let idp_issuer = format!("{issuer}/dev-idp");
    let secret = tessera_shared::crypto::random_string::<32>();
    let idp = crate::devidp::DevIdp::new(crate::devidp::DevIdpConfig::demo(
        &idp_issuer,
        DEV_UPSTREAM_CLIENT,
        &secret,
        vec![format!("{issuer}/callback")],
    ))?;
    up.issuer = idp_issuer;
    up.client_id = DEV_UPSTREAM_CLIENT.to_string();
    up.client_secret = secret.into();
    tracing::warn!(
        "DEVELOPMENT IDENTITY PROVIDER ENABLED (upstream.dev_idp = true): demo users log in with \
         demo passwords. Never enable this in production."
    );
    Ok(Some(idp))
}

const DEV_UPSTREAM_CLIENT: &str = "tessera-broker";

/// Routes of development mode: the identity provider under `/dev-idp`, and `/dev/callback`, a
/// landing page for the walk-through's authorization code (it plays the part of the app).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig, idp: &crate::devidp::DevIdp) {
    let idp = idp.clone();
    cfg.service(actix_web::web::scope("/dev-idp").configure(move |c| idp.configure(c)))
        .route("/dev/callback", actix_web::web::get().to(landing));
}

async fn landing(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let rows: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                html_escape::encode_text(k),
                html_escape::encode_text(v)
            )
        })
        .collect();
    actix_web::HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tessera dev: back at the app</title></head>\
             <body><h1>Back at the app</h1><p>The broker redirected here with:</p><table>{rows}</table>\
             <p>Redeem the code within 60 seconds with the curl command printed by <code>tessera dev</code>.</p></body></html>"
        ))
}

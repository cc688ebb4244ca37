//! The demo data of `tessera dev`: one developer and one app with a client_credentials
//! credential (and, with user login, the user grants), created in the broker's catalog.

use std::collections::BTreeMap;

use secrecy::SecretString;
use tessera_broker::state::AppState;
use tessera_shared::catalog::{NewApp, NewDeveloper};
use tessera_shared::error::CatalogError;
use tessera_shared::model::{GrantType, RedirectUri};
use tessera_shared::scope::ScopeSet;

/// What the walk-through prints. The secret is live: `Debug` never shows it.
#[derive(Debug)]
pub struct Demo {
    pub developer_id: uuid::Uuid,
    pub app_id: uuid::Uuid,
    pub client_id: String,
    pub client_secret: SecretString,
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
    let mut grant_types = vec![GrantType::ClientCredentials];
    if state.upstream.is_some() {
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
            .unwrap_or_else(|| SecretString::from(String::new())),
    })
}

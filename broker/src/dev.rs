//! The demo data of `tessera dev`: one developer and one app with a client_credentials
//! credential, created in whatever store the broker runs on.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use tessera_shared::catalog::{NewApp, NewDeveloper};
use tessera_shared::error::CatalogError;
use tessera_shared::model::GrantType;
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
    let dev = state
        .catalog
        .create_developer(NewDeveloper {
            email: format!("demo+{}@tessera.dev", uuid::Uuid::new_v4().simple()),
            first_name: "Demo".into(),
            last_name: "Developer".into(),
            attributes: BTreeMap::new(),
        })
        .await?;
    let scopes = ScopeSet::parse("orders:read orders:write")
        .map_err(|m| CatalogError::invalid("scopes", m))?;
    let (app, issued) = state
        .catalog
        .create_app(
            dev.id,
            NewApp {
                name: "demo-app".into(),
                redirect_uris: vec![],
                grant_types: vec![GrantType::ClientCredentials],
                scopes,
                attributes: BTreeMap::from([("tier".to_string(), "gold".to_string())]),
                credential_ttl_secs: None,
                public: false,
            },
        )
        .await?;
    Ok(Demo {
        developer_id: dev.id,
        app_id: app.id,
        client_id: issued.credential.client_id,
        client_secret: issued.secret.expose_secret().to_string(),
    })
}

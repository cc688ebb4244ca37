//! The demo data of `tessera dev`: one developer and one app with a client_credentials
//! credential (and, with user login, the user grants), and two API products for the developer
//! portal's catalogue (`orders`, approved at once; `reports`, approved by an operator),
//! created in the broker's catalog.

use std::collections::BTreeMap;

use secrecy::SecretString;
use tessera_broker::state::AppState;
use tessera_shared::catalog::{NewApp, NewDeveloper, NewProduct};
use tessera_shared::error::CatalogError;
use tessera_shared::model::{GrantType, RedirectUri};
use tessera_shared::product::{Approval, Visibility};
use tessera_shared::rate::{Period, Quota, Rate, RatePlan};
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
    seed_products(state).await?;
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

/// The portal's demo products: `orders` (the proxy's `orders:read`, 10 calls a second and
/// 10 000 a day, approved at once) and `reports` (an operator approves each app).
async fn seed_products(state: &AppState) -> Result<(), CatalogError> {
    let scopes = |s: &str| ScopeSet::parse(s).map_err(|m| CatalogError::invalid("scopes", m));
    let orders = NewProduct {
        name: "orders".into(),
        display_name: "Orders API".into(),
        description: "Read the dealership's orders (the proxy's /orders route).".into(),
        scopes: scopes("orders:read")?,
        rate_plan: RatePlan {
            spike_arrest: Rate::try_from("10ps".to_string()).ok(),
            quota: Some(Quota {
                limit: 10_000,
                period: Period::Day,
            }),
            ..Default::default()
        },
        approval: Approval::Auto,
        visibility: Visibility::Public,
    };
    let reports = NewProduct {
        name: "reports".into(),
        display_name: "Sales reports".into(),
        description: "Monthly sales figures; an operator approves each app.".into(),
        scopes: scopes("reports:read")?,
        rate_plan: RatePlan::default(),
        approval: Approval::Manual,
        visibility: Visibility::Public,
    };
    for p in [orders, reports] {
        state.catalog.create_product(p).await?;
    }
    Ok(())
}

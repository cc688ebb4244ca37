//! What the portal's forms do, through the same code as the admin API: the admin API's
//! request types and field rules ([`CreateApp`], [`CreateProduct`], [`UpdateProduct`]: the
//! client rules and product rules apply alike) and the catalog's operations. No second path to
//! the data.

use secrecy::ExposeSecret;
use tessera_shared::catalog::{AppPatch, Audience};
use tessera_shared::model::{App, Status};
use tessera_shared::product::{Approval, Visibility};
use tessera_shared::rate::{Period, Quota, Rate, RatePlan};
use uuid::Uuid;

use super::error::PortalError;
use super::form::{invalid, Form};
use crate::admin::apps::CreateApp;
use crate::admin::products::{CreateProduct, UpdateProduct};
use crate::flows::client_rules::{self, Client};
use crate::state::AppState;

/// A secret just made, to show once.
#[derive(Debug)]
pub struct NewSecret {
    pub client_id: String,
    pub secret: String,
}

/// Creates the developer's app from the form (name, redirect URIs, products) and subscribes
/// it to the products chosen, as the developer may (`operator`: a member of the operator
/// groups). Products are checked before the app is created.
pub async fn create_app(
    state: &AppState,
    developer_id: Uuid,
    operator: bool,
    form: &Form,
) -> Result<(App, NewSecret), PortalError> {
    let products: Vec<&str> = form.all("product").collect();
    for name in &products {
        let open = state
            .catalog
            .product(name)
            .await
            .is_ok_and(|p| p.visibility.open_to(operator));
        if !open {
            return Err(invalid("product", "no such product"));
        }
    }
    let body = CreateApp::portal(form.text("name"), form.lines("redirect_uris"));
    let (app, issued) = state
        .catalog
        .create_app(developer_id, body.into_new_app()?)
        .await?;
    let secret = NewSecret {
        client_id: issued.credential.client_id.clone(),
        secret: issued
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default(),
    };
    let who = Audience::Developer { operator };
    let mut app = app;
    for name in products {
        app = state
            .catalog
            .subscribe(developer_id, app.id, name, who)
            .await?
            .0;
    }
    Ok((app, secret))
}

/// A new credential for the app: rotation without downtime.
pub async fn new_secret(state: &AppState, app: &App) -> Result<NewSecret, PortalError> {
    let issued = state
        .catalog
        .add_credential(app.developer_id, app.id, None)
        .await?;
    Ok(NewSecret {
        client_id: issued.credential.client_id,
        secret: issued
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default(),
    })
}

/// Suspends (`false`) or reinstates (`true`) an app, as the admin API's status change does
/// (a suspension kills every token of the app).
pub async fn set_app_standing(
    state: &AppState,
    app: &App,
    approved: bool,
) -> Result<(), PortalError> {
    let patch = AppPatch {
        status: Some(if approved {
            Status::Approved
        } else {
            Status::Revoked
        }),
        ..Default::default()
    };
    let rules = |a: &App| client_rules::check(&Client::of(a)).map_err(Into::into);
    state
        .catalog
        .update_app(app.developer_id, app.id, patch, rules)
        .await?;
    Ok(())
}

/// The product fields of a console form, as the admin API's product bodies.
pub fn product_fields(form: &Form) -> Result<UpdateProduct, PortalError> {
    let approval = match form.get("approval").unwrap_or("auto") {
        "auto" => Approval::Auto,
        "manual" => Approval::Manual,
        _ => return Err(invalid("approval", "must be auto or manual")),
    };
    let visibility = match form.get("visibility").unwrap_or("public") {
        "public" => Visibility::Public,
        "internal" => Visibility::Internal,
        "private" => Visibility::Private,
        _ => return Err(invalid("visibility", "must be public, internal or private")),
    };
    Ok(UpdateProduct {
        display_name: Some(form.text("display_name")).filter(|s| !s.is_empty()),
        description: Some(form.text("description")),
        scopes: Some(
            form.text("scopes")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        ),
        rate_plan: Some(rate_plan(form)?),
        approval: Some(approval),
        visibility: Some(visibility),
    })
}

/// A new product from the console's form.
pub fn new_product(form: &Form) -> Result<CreateProduct, PortalError> {
    let f = product_fields(form)?;
    Ok(CreateProduct {
        name: form.text("name"),
        display_name: f.display_name,
        description: f.description.unwrap_or_default(),
        scopes: f.scopes.unwrap_or_default(),
        rate_plan: f.rate_plan.unwrap_or_default(),
        approval: f.approval,
        visibility: f.visibility,
    })
}

/// Spike arrest and quota from the form (empty fields: unset).
fn rate_plan(form: &Form) -> Result<RatePlan, PortalError> {
    let spike = match form.text("spike_arrest") {
        s if s.is_empty() => None,
        s => Some(
            Rate::try_from(s)
                .map_err(|_| invalid("spike_arrest", "must be a rate like 10ps or 600pm"))?,
        ),
    };
    let quota = match form.text("quota_limit") {
        s if s.is_empty() => None,
        s => {
            let limit = s
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("quota_limit", "must be a whole number of calls"))?;
            let period = match form.get("quota_period").unwrap_or("minute") {
                "minute" => Period::Minute,
                "hour" => Period::Hour,
                "day" => Period::Day,
                "month" => Period::Month,
                _ => {
                    return Err(invalid(
                        "quota_period",
                        "must be minute, hour, day or month",
                    ))
                }
            };
            Some(Quota { limit, period })
        }
    };
    Ok(RatePlan {
        spike_arrest: spike,
        quota,
        oauth: Default::default(),
    })
}

/// Where a console form returns to: its `back` field when it names a console page, else `to`.
pub fn back(form: &Form, to: String) -> String {
    match form.get("back") {
        Some(b) if b.starts_with("/portal/admin") && !b.contains("//") && !b.contains('\\') => {
            b.to_string()
        }
        _ => to,
    }
}

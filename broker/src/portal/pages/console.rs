//! The operator console's pages: the traffic of everything with the security figures and the
//! queue of subscriptions waiting for approval (`/portal/admin`), the developers
//! (`/portal/admin/developers`), one developer and their apps, and any app's page.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use tessera_shared::product::SubscriptionStatus;
use uuid::Uuid;

use super::app::{render, Shown};
use crate::portal::cards::{AppRow, DeveloperRow};
use crate::portal::error::PortalError;
use crate::portal::session::{Operators, Signed};
use crate::portal::traffic::{range, traffic, Traffic};
use crate::portal::view::{ok, when, Nav};
use crate::state::AppState;
use crate::usage::Filter;

type Operator = Signed<Operators>;

/// A subscription waiting for an operator.
#[derive(Debug)]
struct Pending {
    app_id: String,
    app_name: String,
    developer_email: String,
    product: String,
    requested: String,
}

#[derive(Template)]
#[template(path = "portal/console.html")]
struct Console {
    nav: Nav,
    pending: Vec<Pending>,
    traffic_title: &'static str,
    traffic: Traffic,
}

/// Every developer's e-mail, by id.
async fn emails(state: &AppState) -> Result<HashMap<Uuid, String>, PortalError> {
    let devs = state.catalog.developers().await?;
    Ok(devs.into_iter().map(|d| (d.id, d.email)).collect())
}

pub async fn overview(
    req: HttpRequest,
    op: Operator,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let range = range(req.query_string())?;
    let emails = emails(&state).await?;
    let apps = state.catalog.all_apps().await?;
    let pending = apps
        .iter()
        .flat_map(|a| a.subscriptions.iter().map(move |s| (a, s)))
        .filter(|(_, s)| s.status == SubscriptionStatus::Pending)
        .map(|(a, s)| Pending {
            app_id: a.id.to_string(),
            app_name: a.name.clone(),
            developer_email: emails.get(&a.developer_id).cloned().unwrap_or_default(),
            product: s.product.clone(),
            requested: when(s.created_at),
        })
        .collect();
    let traffic = traffic(&state, Filter::default(), range, true).await?;
    Ok(ok(&Console {
        nav: op.nav("console"),
        pending,
        traffic_title: "Traffic of every app",
        traffic,
    }))
}

#[derive(Template)]
#[template(path = "portal/developers.html")]
struct Developers {
    nav: Nav,
    developers: Vec<DeveloperRow>,
}

pub async fn developers(
    op: Operator,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let apps = state.catalog.all_apps().await?;
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for a in &apps {
        *counts.entry(a.developer_id).or_default() += 1;
    }
    let devs = state.catalog.developers().await?;
    Ok(ok(&Developers {
        nav: op.nav("developers"),
        developers: devs
            .iter()
            .map(|d| DeveloperRow::of(d, counts.get(&d.id).copied().unwrap_or(0)))
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "portal/developer.html")]
struct DeveloperPage {
    nav: Nav,
    developer: DeveloperRow,
    apps: Vec<AppRow>,
}

fn id(s: &str, what: &'static str) -> Result<Uuid, PortalError> {
    Uuid::parse_str(s).map_err(|_| PortalError::NotFound(what))
}

pub async fn developer(
    op: Operator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let dev = state.catalog.developer(id(&path, "developer")?).await?;
    let apps = state.catalog.apps(dev.id).await?;
    Ok(ok(&DeveloperPage {
        nav: op.nav("developers"),
        developer: DeveloperRow::of(&dev, apps.len()),
        apps: apps.iter().map(AppRow::of).collect(),
    }))
}

pub async fn app(
    req: HttpRequest,
    op: Operator,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let app = state
        .catalog
        .app_by_id(id(&path, "app")?)
        .await?
        .ok_or(PortalError::NotFound("app"))?;
    let dev = state.catalog.developer(app.developer_id).await?;
    let shown = Shown {
        secret: None,
        console: true,
        range: range(req.query_string())?,
    };
    render(&state, &op.nav("developers"), &app, &dev.email, shown).await
}

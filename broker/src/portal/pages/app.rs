//! An app's page (`/portal/apps/{app}` for its developer, `/portal/admin/apps/{app}` for
//! operators): its settings and effective scopes and rate plan, its products and their
//! approval, its credentials (a new secret is shown once, with a copy button), and its traffic
//! over a chosen range. The developer's actions: a new secret, revoking one, subscribing to a
//! product.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use tessera_shared::catalog::Audience;
use tessera_shared::model::App;
use uuid::Uuid;

use crate::portal::actions::{new_secret, NewSecret};
use crate::portal::cards::{AppCard, CredRow, SubRow};
use crate::portal::error::PortalError;
use crate::portal::form::invalid;
use crate::portal::session::{Posted, Signed};
use crate::portal::traffic::{range, traffic, Traffic};
use crate::portal::view::{ok, see_other, Nav};
use crate::state::AppState;
use crate::usage::Filter;

#[derive(Template)]
#[template(path = "portal/app.html")]
struct AppPage {
    nav: Nav,
    app: AppCard,
    secret: Option<NewSecret>,
    credentials: Vec<CredRow>,
    subscriptions: Vec<SubRow>,
    /// Products it may still subscribe to: (name, display name).
    available: Vec<(String, String)>,
    console: bool,
    /// Where its forms post.
    base: String,
    traffic_title: &'static str,
    traffic: Traffic,
}

/// What else the page shows: a secret just made, the console's actions, the traffic range.
#[derive(Debug)]
pub struct Shown {
    pub secret: Option<NewSecret>,
    pub console: bool,
    pub range: &'static str,
}

/// The page of `app`, for `nav`'s visitor.
pub async fn render(
    state: &AppState,
    nav: &Nav,
    app: &App,
    developer_email: &str,
    shown: Shown,
) -> Result<HttpResponse, PortalError> {
    let filter = Filter {
        app_id: Some(app.id),
        ..Filter::default()
    };
    let traffic = traffic(state, filter, shown.range, false).await?;
    let products = state.catalog.products().await?;
    let available = products
        .iter()
        .filter(|p| shown.console || p.visibility.open_to(nav.operator))
        .filter(|p| app.subscription(&p.name).is_none())
        .map(|p| (p.name.clone(), p.display_name.clone()))
        .collect();
    let base = if shown.console {
        format!("/portal/admin/apps/{}", app.id)
    } else {
        own_page(app)
    };
    Ok(ok(&AppPage {
        nav: nav.clone(),
        app: AppCard::of(app, developer_email),
        secret: shown.secret,
        credentials: app.credentials.iter().map(CredRow::of).collect(),
        subscriptions: app.subscriptions.iter().map(SubRow::of).collect(),
        available,
        console: shown.console,
        base,
        traffic_title: "Traffic",
        traffic,
    }))
}

/// The developer's page of `app`, where its actions lead back to.
fn own_page(app: &App) -> String {
    format!("/portal/apps/{}", app.id)
}

/// The developer's own app named by the path (anyone else's is not found).
async fn own(signed: &Signed, state: &AppState, id: &str) -> Result<App, PortalError> {
    let id = Uuid::parse_str(id).map_err(|_| PortalError::NotFound("app"))?;
    Ok(state.catalog.app(signed.developer.id, id).await?)
}

pub async fn page(
    req: HttpRequest,
    signed: Signed,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let app = own(&signed, &state, &path).await?;
    let shown = Shown {
        secret: None,
        console: false,
        range: range(req.query_string())?,
    };
    render(
        &state,
        &signed.nav("apps"),
        &app,
        &signed.developer.email,
        shown,
    )
    .await
}

/// A new secret (rotation), shown once on the page it answers with.
pub async fn create_secret(
    posted: Posted,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let s = &posted.signed;
    let app = own(s, &state, &path).await?;
    let secret = new_secret(&state, &app).await?;
    let app = own(s, &state, &path).await?;
    let shown = Shown {
        secret: Some(secret),
        console: false,
        range: "1h",
    };
    render(&state, &s.nav("apps"), &app, &s.developer.email, shown).await
}

pub async fn revoke_secret(
    posted: Posted,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let app = own(&posted.signed, &state, &path.0).await?;
    state
        .catalog
        .revoke_credential(app.developer_id, app.id, &path.1)
        .await?;
    Ok(see_other(&own_page(&app)))
}

pub async fn subscribe(
    posted: Posted,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let s = &posted.signed;
    let app = own(s, &state, &path).await?;
    let product = posted.form.text("product");
    let who = Audience::Developer {
        operator: s.session.operator,
    };
    match state
        .catalog
        .subscribe(app.developer_id, app.id, &product, who)
        .await
    {
        Err(tessera_shared::error::CatalogError::NotFound("product")) => {
            Err(invalid("product", "no such product"))
        }
        other => other.map_err(PortalError::from).map(|_| ()),
    }?;
    Ok(see_other(&own_page(&app)))
}

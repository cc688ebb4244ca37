//! The records as the portal's pages show them: products, apps, their credentials and
//! subscriptions, developers — plain strings for the templates, never a secret hash.

use tessera_shared::model::{App, Credential, Developer, DeveloperStatus, Status};
use tessera_shared::product::{Approval, Product, Subscription};

use super::view::{plan, when};

fn status(s: Status) -> &'static str {
    match s {
        Status::Approved => "approved",
        Status::Revoked => "revoked",
    }
}

/// An app's standing as shown: `suspended` when its developer is.
pub fn app_status(a: &App) -> &'static str {
    if a.developer_suspended {
        "suspended"
    } else {
        status(a.status)
    }
}

#[derive(Debug)]
pub struct ProductCard {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub scopes: Vec<String>,
    pub plan: String,
    pub approval: &'static str,
    pub visibility: &'static str,
}

impl ProductCard {
    pub fn of(p: &Product) -> Self {
        ProductCard {
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            scopes: p.scopes.iter().map(str::to_string).collect(),
            plan: plan(&p.rate_plan),
            approval: approval(p.approval),
            visibility: p.visibility.as_str(),
        }
    }
}

fn approval(a: Approval) -> &'static str {
    match a {
        Approval::Auto => "auto",
        Approval::Manual => "manual",
    }
}

#[derive(Debug)]
pub struct SubRow {
    pub product: String,
    pub status: &'static str,
}

impl SubRow {
    pub fn of(s: &Subscription) -> Self {
        SubRow {
            product: s.product.clone(),
            status: s.status.as_str(),
        }
    }
}

/// An app in a list.
#[derive(Debug)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    /// Its newest live credential's client_id (or its first).
    pub client_id: String,
    pub status: &'static str,
    pub subscriptions: Vec<SubRow>,
    pub plan: String,
}

impl AppRow {
    pub fn of(a: &App) -> Self {
        let live = a
            .credentials
            .iter()
            .rev()
            .find(|c| c.status == Status::Approved);
        AppRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            client_id: live
                .or(a.credentials.first())
                .map(|c| c.client_id.clone())
                .unwrap_or_default(),
            status: app_status(a),
            subscriptions: a.subscriptions.iter().map(SubRow::of).collect(),
            plan: plan(&a.effective_rate_plan()),
        }
    }
}

/// An app on its own page.
#[derive(Debug)]
pub struct AppCard {
    pub id: String,
    pub developer_id: String,
    pub developer_email: String,
    pub name: String,
    pub status: &'static str,
    pub grant_types: Vec<&'static str>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub plan: String,
    pub created: String,
}

impl AppCard {
    pub fn of(a: &App, developer_email: &str) -> Self {
        AppCard {
            id: a.id.to_string(),
            developer_id: a.developer_id.to_string(),
            developer_email: developer_email.to_string(),
            name: a.name.clone(),
            status: app_status(a),
            grant_types: a.grant_types.iter().map(|g| g.as_str()).collect(),
            redirect_uris: a
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            scopes: a.effective_scopes().iter().map(str::to_string).collect(),
            plan: plan(&a.effective_rate_plan()),
            created: when(a.created_at),
        }
    }
}

#[derive(Debug)]
pub struct CredRow {
    pub client_id: String,
    pub status: &'static str,
    pub created: String,
}

impl CredRow {
    pub fn of(c: &Credential) -> Self {
        CredRow {
            client_id: c.client_id.clone(),
            status: status(c.status),
            created: when(c.created_at),
        }
    }
}

#[derive(Debug)]
pub struct DeveloperRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub status: &'static str,
    pub apps: usize,
    pub created: String,
}

impl DeveloperRow {
    pub fn of(d: &Developer, apps: usize) -> Self {
        DeveloperRow {
            id: d.id.to_string(),
            email: d.email.clone(),
            name: format!("{} {}", d.first_name, d.last_name),
            status: match d.status {
                DeveloperStatus::Active => "active",
                DeveloperStatus::Suspended => "suspended",
            },
            apps,
            created: when(d.created_at),
        }
    }
}

/// One option of a select.
#[derive(Debug)]
pub struct Opt {
    pub value: &'static str,
    pub selected: bool,
}

fn options(all: &[&'static str], chosen: &str) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt {
            value: v,
            selected: *v == chosen,
        })
        .collect()
}

/// A product as the console's edit form shows it (empty: the new-product form).
#[derive(Debug)]
pub struct ProductForm {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub scopes: String,
    pub spike_arrest: String,
    pub quota_limit: String,
    pub periods: Vec<Opt>,
    pub approvals: Vec<Opt>,
    pub visibilities: Vec<Opt>,
    pub subscribers: usize,
}

const PERIODS: [&str; 4] = ["minute", "hour", "day", "month"];
const APPROVALS: [&str; 2] = ["auto", "manual"];
const VISIBILITIES: [&str; 3] = ["public", "internal", "private"];

impl ProductForm {
    pub fn blank() -> Self {
        ProductForm {
            name: String::new(),
            display_name: String::new(),
            description: String::new(),
            scopes: String::new(),
            spike_arrest: String::new(),
            quota_limit: String::new(),
            periods: options(&PERIODS, "minute"),
            approvals: options(&APPROVALS, "auto"),
            visibilities: options(&VISIBILITIES, "public"),
            subscribers: 0,
        }
    }

    pub fn of(p: &Product, subscribers: usize) -> Self {
        let quota = p.rate_plan.quota;
        ProductForm {
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            scopes: p.scopes.to_string(),
            spike_arrest: p
                .rate_plan
                .spike_arrest
                .map(String::from)
                .unwrap_or_default(),
            quota_limit: quota.map(|q| q.limit.to_string()).unwrap_or_default(),
            periods: options(&PERIODS, quota.map_or("minute", |q| q.period.as_str())),
            approvals: options(&APPROVALS, approval(p.approval)),
            visibilities: options(&VISIBILITIES, p.visibility.as_str()),
            subscribers,
        }
    }
}

//! JSON shapes of registry records as the admin API shows them: credentials without their
//! secret hashes.

use serde::Serialize;
use tessera_shared::model::{App, Credential, Status};
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialView<'a> {
    pub client_id: &'a str,
    #[schema(value_type = String)]
    pub status: Status,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// Present only in the response that created the credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<&'a str>,
}

impl<'a> CredentialView<'a> {
    pub fn new(c: &'a Credential, secret: Option<&'a str>) -> Self {
        CredentialView {
            client_id: &c.client_id,
            status: c.status,
            created_at: c.created_at,
            expires_at: c.expires_at,
            client_secret: secret,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppView<'a> {
    pub id: Uuid,
    pub developer_id: Uuid,
    pub name: &'a str,
    pub redirect_uris: Vec<&'a str>,
    pub post_logout_redirect_uris: Vec<&'a str>,
    pub grant_types: Vec<&'static str>,
    pub scopes: Vec<&'a str>,
    #[schema(value_type = Object)]
    pub attributes: &'a std::collections::BTreeMap<String, String>,
    #[schema(value_type = String)]
    pub status: Status,
    pub public: bool,
    /// `none` for a public app; absent when either secret method is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<&'static str>,
    pub pkce_required: bool,
    pub token_exchange_clients: &'a [String],
    /// Every token request must carry a DPoP proof (RFC 9449).
    pub dpop_required: bool,
    /// Upstream providers its users may log in through, its default first (empty: every one).
    pub upstreams: &'a [String],
    /// The RFC 7591 `client_name` of a dynamically registered app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<&'a str>,
    pub application_type: &'static str,
    pub allowed_origins: &'a [String],
    /// Absent: `tokens.refresh_idle_secs` applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_idle_secs: Option<u64>,
    #[schema(value_type = Object)]
    pub rate_plan: &'a tessera_shared::rate::RatePlan,
    /// Its subscriptions to API products (each with a copy of what the product grants).
    #[schema(value_type = Vec<Object>)]
    pub subscriptions: &'a [tessera_shared::product::Subscription],
    /// Its own scopes and those of its approved products: what its tokens may hold.
    pub effective_scopes: Vec<String>,
    /// Its own rate plan completed from its approved products: what the proxy applies.
    #[schema(value_type = Object)]
    pub effective_rate_plan: tessera_shared::rate::RatePlan,
    /// Its developer is suspended: the app is refused whatever its status.
    pub developer_suspended: bool,
    pub credentials: Vec<CredentialView<'a>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl<'a> AppView<'a> {
    /// `secret`: the (client_id, secret) of a credential created by this very request.
    pub fn new(app: &'a App, secret: Option<(&'a str, &'a str)>) -> Self {
        AppView {
            id: app.id,
            developer_id: app.developer_id,
            name: &app.name,
            redirect_uris: app.redirect_uris.iter().map(|u| u.as_str()).collect(),
            post_logout_redirect_uris: app
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect(),
            grant_types: app.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: app.scopes.iter().collect(),
            attributes: &app.attributes,
            status: app.status,
            public: app.public,
            token_endpoint_auth_method: if app.public {
                Some("none")
            } else {
                app.auth_method.map(|m| m.as_str())
            },
            pkce_required: app.pkce_required,
            token_exchange_clients: &app.token_exchange_clients,
            dpop_required: app.dpop_required,
            upstreams: &app.upstreams,
            client_name: app.client_name.as_deref(),
            application_type: app.application_type.as_str(),
            allowed_origins: &app.allowed_origins,
            refresh_idle_secs: app.refresh_idle_secs,
            rate_plan: &app.rate_plan,
            subscriptions: &app.subscriptions,
            effective_scopes: app.effective_scopes().iter().map(str::to_string).collect(),
            effective_rate_plan: app.effective_rate_plan(),
            developer_suspended: app.developer_suspended,
            credentials: app
                .credentials
                .iter()
                .map(|c| {
                    let s = secret.filter(|(id, _)| *id == c.client_id).map(|(_, s)| s);
                    CredentialView::new(c, s)
                })
                .collect(),
            created_at: app.created_at,
            updated_at: app.updated_at,
        }
    }
}

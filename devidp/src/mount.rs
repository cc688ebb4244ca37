//! [`Mounted`]: the provider as `tessera dev` runs it — on the broker's own listener, under
//! `{broker}/dev-idp`, with the walk-through's landing page at `{broker}/dev/callback` — and what
//! the broker's `[upstream]` section needs to use it.
//!
//! The broker does not know the provider is there: its `[upstream]` simply names
//! `{broker}/dev-idp` as the issuer, and the routes are added to its application by whoever
//! builds it ([`Mounted::routes`]), who must say so loudly: the provider lets demo users in with
//! demo passwords.

use actix_web::web;
use serde_json::json;

use crate::{DevIdp, DevIdpConfig, DevIdpError};

/// Where the provider is mounted on the broker.
pub const PATH: &str = "/dev-idp";
/// The broker's client at the provider.
pub const CLIENT_ID: &str = "tessera-broker";

/// The provider and the client secret the broker authenticates to it with.
#[derive(Debug, Clone)]
pub struct Mounted {
    idp: DevIdp,
    secret: Secret,
}

/// The broker's client secret at the provider: random per start, never printed.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Mounted {
    /// The demo provider ([`DevIdpConfig::demo`]) for the broker whose issuer is `broker`:
    /// its issuer is `{broker}/dev-idp`, and its one client (the broker) redirects to
    /// `{broker}/callback` (user logins) and `{broker}/portal/callback` (the portal's sign-in),
    /// hears of ended sessions at `{broker}/backchannel_logout` and comes back from a logout to
    /// `{broker}/end_session/callback`.
    pub fn demo(broker: &str) -> Result<Self, DevIdpError> {
        let broker = broker.trim_end_matches('/');
        let secret = Secret(tessera_shared::crypto::random_string::<32>());
        let mut cfg = DevIdpConfig::demo(
            &format!("{broker}{PATH}"),
            CLIENT_ID,
            &secret.0,
            vec![
                format!("{broker}/callback"),
                format!("{broker}/portal/callback"),
            ],
        );
        for client in &mut cfg.clients {
            client.backchannel_logout_uri = Some(format!("{broker}/backchannel_logout"));
            client.post_logout_redirect_uris = vec![format!("{broker}/end_session/callback")];
        }
        let idp = DevIdp::new(cfg)?;
        Ok(Mounted { idp, secret })
    }

    pub fn idp(&self) -> &DevIdp {
        &self.idp
    }

    /// The broker's `[upstream]` members that point it at this provider (`issuer`,
    /// `client_id`, `client_secret`), to layer under the rest of its configuration.
    pub fn upstream(&self) -> serde_json::Value {
        json!({
            "issuer": self.idp.issuer(),
            "client_id": CLIENT_ID,
            "client_secret": self.secret.0,
        })
    }

    /// The routes to add to the broker's application: the provider under `/dev-idp`, and
    /// `/dev/callback`.
    pub fn routes(&self) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + Sync + 'static {
        let idp = self.idp.clone();
        move |cfg: &mut web::ServiceConfig| {
            let idp = idp.clone();
            cfg.service(web::scope(PATH).configure(move |c| idp.configure(c)))
                .route(
                    "/dev/callback",
                    // Only shows what it was sent: HEAD too (RFC 9110 §9.1).
                    tessera_shared::method::get_or_head().to(crate::landing::landing),
                );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_client_hears_of_logouts_at_the_broker() {
        let mounted = Mounted::demo("http://127.0.0.1:8080/").unwrap();
        let client = &mounted.idp().inner.cfg.clients[0];
        assert_eq!(
            client.backchannel_logout_uri.as_deref(),
            Some("http://127.0.0.1:8080/backchannel_logout")
        );
        assert_eq!(
            client.post_logout_redirect_uris,
            ["http://127.0.0.1:8080/end_session/callback"]
        );
    }
}

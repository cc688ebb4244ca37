//! The rules an app's client settings must follow, in one place: the admin API and RFC 7591/7592
//! registration apply them when an app is created or changed, and the token endpoint asks
//! [`may_use`] before every grant.
//!
//! * Redirect URIs: at most [`MAX_REDIRECT_URIS`], each absolute, without a fragment
//!   ([`RedirectUri`]): `https`, `http` on the loopback interface by IP literal (`127.0.0.1`,
//!   `[::1]`; never `localhost`, RFC 8252 §8.3), or — for a native app only — a private-use
//!   scheme in reverse domain name form (RFC 8252 §7.1); the authorization code grant needs at
//!   least one (RFC 6749 §3.1.2, RFC 7591 §2).
//! * Grant types: known ones only (each API says which it offers), each once.
//! * A public client (RFC 6749 §2.1: it has no secret) uses only the authorization code,
//!   refresh token and device code grants, authenticates with `none` (no secret method), and
//!   always uses PKCE (RFC 9700 §2.1.1). A native app (`application_type = native`) is a public
//!   client (RFC 8252 §8.4, §8.5: a secret shipped in an app is no secret).
//! * Allowed web origins (CORS): at most [`MAX_ORIGINS`], each an origin exactly as a browser
//!   sends it in `Origin` — `https://host[:port]`, or `http` on loopback for development.
//!
//! A broken rule is a [`Broken`]: the member at fault and why, never the value sent. Each API
//! answers it in its own shape.

use tessera_shared::catalog::NewApp;
use tessera_shared::error::CatalogError;
use tessera_shared::model::{
    App, ApplicationType, GrantType, RedirectKind, RedirectUri, SecretMethod,
};

/// Most redirect URIs one app may register (each at most
/// [`tessera_shared::model::MAX_REDIRECT_URI_BYTES`]).
pub const MAX_REDIRECT_URIS: usize = 20;

/// Most web origins one app may allow, and the longest one.
pub const MAX_ORIGINS: usize = 20;
pub const MAX_ORIGIN_BYTES: usize = 256;

/// The grants a public client may use.
const PUBLIC_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

/// A broken rule: the member at fault and a message that never repeats the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub field: String,
    pub message: String,
    /// About the redirect URIs (RFC 7591 §3.2.2 answers `invalid_redirect_uri` then).
    pub redirect: bool,
}

impl From<Broken> for CatalogError {
    fn from(b: Broken) -> Self {
        CatalogError::invalid(b.field, b.message)
    }
}

fn broken(field: impl Into<String>, message: impl Into<String>) -> Broken {
    Broken {
        field: field.into(),
        message: message.into(),
        redirect: false,
    }
}

/// What the rules look at: an app's client settings, as they are or are about to be.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub public: bool,
    pub grant_types: &'a [GrantType],
    pub redirect_uris: &'a [RedirectUri],
    pub auth_method: Option<SecretMethod>,
    pub pkce_required: bool,
    pub application_type: ApplicationType,
}

/// The settings of an [`App`] or a [`NewApp`]: the same members, read the same way.
macro_rules! client_of {
    ($app:expr) => {
        Client {
            public: $app.public,
            grant_types: &$app.grant_types,
            redirect_uris: &$app.redirect_uris,
            auth_method: $app.auth_method,
            pkce_required: $app.pkce_required,
            application_type: $app.application_type,
        }
    };
}

impl<'a> Client<'a> {
    /// An app about to be created.
    pub fn of_new(app: &'a NewApp) -> Self {
        client_of!(app)
    }

    /// An app as it is (or will be stored).
    pub fn of(app: &'a App) -> Self {
        client_of!(app)
    }
}

/// The redirect URIs, checked one by one.
pub fn redirect_uris(v: &[String]) -> Result<Vec<RedirectUri>, Broken> {
    uri_list("redirect_uris", v)
}

/// The post-logout redirect URIs (OpenID Connect RP-Initiated Logout 1.0 §3.1), checked as
/// redirect URIs are (absolute, no fragment, https or loopback), one by one.
pub fn post_logout_redirect_uris(v: &[String]) -> Result<Vec<RedirectUri>, Broken> {
    uri_list("post_logout_redirect_uris", v)
}

fn uri_list(name: &str, v: &[String]) -> Result<Vec<RedirectUri>, Broken> {
    let bad = |field: String, message: String| Broken {
        field,
        message,
        redirect: true,
    };
    if v.len() > MAX_REDIRECT_URIS {
        let message = format!("at most {MAX_REDIRECT_URIS}");
        return Err(bad(name.into(), message));
    }
    v.iter()
        .enumerate()
        .map(|(i, u)| {
            let field = || format!("{name}[{i}]");
            let uri = RedirectUri::try_from(u.clone()).map_err(|m| bad(field(), m))?;
            if uri.kind() == RedirectKind::OtherLoopback {
                let why = "a loopback redirect URI names 127.0.0.1 or [::1], not localhost or \
                           another address (RFC 8252 §8.3)";
                return Err(bad(field(), why.into()));
            }
            Ok(uri)
        })
        .collect()
}

/// The allowed web origins: each exactly as a browser serializes it (`scheme://host[:port]`,
/// lower case, no default port, no path), `https` or `http` on loopback.
pub fn allowed_origins(v: &[String]) -> Result<Vec<String>, Broken> {
    if v.len() > MAX_ORIGINS {
        return Err(broken("allowed_origins", format!("at most {MAX_ORIGINS}")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, o) in v.iter().enumerate() {
        let why = "an origin is scheme://host[:port] exactly as a browser sends it (https, or \
                   http on loopback), without a path or a trailing slash";
        let parsed = (o.len() <= MAX_ORIGIN_BYTES)
            .then(|| url::Url::parse(o).ok())
            .flatten();
        let ok = parsed.as_ref().is_some_and(|u| {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && loopback);
            scheme_ok && u.origin().ascii_serialization() == *o
        });
        if !ok {
            return Err(broken(format!("allowed_origins[{i}]"), why));
        }
        if !out.contains(o) {
            out.push(o.clone());
        }
    }
    Ok(out)
}

/// The grant types, each one of `offered`, repeats dropped.
pub fn grant_types(v: &[String], offered: &[GrantType]) -> Result<Vec<GrantType>, Broken> {
    let mut out = Vec::new();
    for (i, g) in v.iter().enumerate() {
        let Some(g) = GrantType::parse(g).filter(|g| offered.contains(g)) else {
            let names: Vec<&str> = offered.iter().map(|g| g.as_str()).collect();
            let message = format!("unsupported; supported: {}", names.join(", "));
            return Err(broken(format!("grant_types[{i}]"), message));
        };
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

/// The rules between the settings (see the module documentation).
pub fn check(c: &Client<'_>) -> Result<(), Broken> {
    if c.grant_types.contains(&GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
        return Err(Broken {
            field: "redirect_uris".into(),
            message: "at least one is required for authorization_code".into(),
            redirect: true,
        });
    }
    let native = c.application_type == ApplicationType::Native;
    if !native {
        if let Some(i) = (c.redirect_uris.iter()).position(|u| u.kind() == RedirectKind::PrivateUse)
        {
            return Err(Broken {
                field: format!("redirect_uris[{i}]"),
                message: "a private-use URI scheme is for native apps only \
                          (application_type native, RFC 8252 §7.1)"
                    .into(),
                redirect: true,
            });
        }
    }
    if !c.public {
        if native {
            return Err(broken(
                "application_type",
                "a native app is a public client: it cannot keep a secret (RFC 8252 §8.5)",
            ));
        }
        return Ok(());
    }
    if c.grant_types.iter().any(|g| !PUBLIC_GRANTS.contains(g)) {
        return Err(broken(
            "grant_types",
            "a public client may only use authorization_code, refresh_token and device_code",
        ));
    }
    if c.auth_method.is_some() {
        return Err(broken(
            "token_endpoint_auth_method",
            "a public client authenticates with none",
        ));
    }
    if !c.pkce_required {
        return Err(broken("pkce_required", "a public client always uses PKCE"));
    }
    Ok(())
}

/// Whether `app` may use `grant` at the token endpoint: it was granted, and a public client
/// only ever uses the code and refresh grants (apps stored before a rule held are held to it
/// here too).
pub fn may_use(app: &App, grant: GrantType) -> bool {
    app.grant_types.contains(&grant) && (!app.public || PUBLIC_GRANTS.contains(&grant))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(n: usize) -> Vec<RedirectUri> {
        let v: Vec<String> = (0..n).map(|i| format!("https://a.example/{i}")).collect();
        redirect_uris(&v).unwrap()
    }

    #[test]
    fn public_clients_use_code_and_refresh_only_with_pkce_and_no_secret() {
        let code = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        let ok = Client {
            public: true,
            grant_types: &code,
            redirect_uris: &uris(1),
            auth_method: None,
            pkce_required: true,
            application_type: ApplicationType::Web,
        };
        assert_eq!(check(&ok), Ok(()));
        let cc = [GrantType::ClientCredentials];
        let field = |c: Client<'_>| check(&c).unwrap_err().field;
        assert_eq!(
            field(Client {
                grant_types: &cc,
                ..ok
            }),
            "grant_types"
        );
        let basic = Some(SecretMethod::ClientSecretBasic);
        let with_secret = Client {
            auth_method: basic,
            ..ok
        };
        assert_eq!(field(with_secret), "token_endpoint_auth_method");
        let no_pkce = Client {
            pkce_required: false,
            ..ok
        };
        assert_eq!(field(no_pkce), "pkce_required");
        let no_uri = check(&Client {
            redirect_uris: &[],
            ..ok
        })
        .unwrap_err();
        assert!(no_uri.redirect && no_uri.field == "redirect_uris");
        // A confidential client may do all of that but the missing redirect URI.
        let confidential = Client {
            public: false,
            grant_types: &cc,
            pkce_required: false,
            ..ok
        };
        assert_eq!(
            check(&Client {
                auth_method: basic,
                ..confidential
            }),
            Ok(())
        );
    }

    #[test]
    fn native_apps_are_public_and_only_they_use_private_use_schemes() {
        let code = [GrantType::AuthorizationCode];
        let custom = redirect_uris(&["com.example.app:/cb".to_string()]).unwrap();
        let native = Client {
            public: true,
            grant_types: &code,
            redirect_uris: &custom,
            auth_method: None,
            pkce_required: true,
            application_type: ApplicationType::Native,
        };
        assert_eq!(check(&native), Ok(()));
        let web = Client {
            application_type: ApplicationType::Web,
            ..native
        };
        let refused = check(&web).unwrap_err();
        assert!(refused.redirect && refused.field == "redirect_uris[0]");
        let confidential = Client {
            public: false,
            ..native
        };
        assert_eq!(check(&confidential).unwrap_err().field, "application_type");
        let localhost = redirect_uris(&["http://localhost:8000/cb".to_string()]).unwrap_err();
        assert_eq!(localhost.field, "redirect_uris[0]");
    }

    #[test]
    fn origins_are_exact_serialized_origins() {
        let ok = |o: &str| allowed_origins(&[o.to_string()]).is_ok();
        assert!(ok("https://spa.example.com"));
        assert!(ok("https://spa.example.com:8443"));
        assert!(ok("http://127.0.0.1:5173"));
        assert!(ok("http://localhost:3000"));
        for bad in [
            "https://spa.example.com/",
            "https://spa.example.com/app",
            "https://SPA.example.com",
            "https://spa.example.com:443",
            "http://spa.example.com",
            "*",
            "null",
            "com.example.app://x",
            "https://user@spa.example.com",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn lists_are_checked_member_by_member() {
        let many: Vec<String> = (0..=MAX_REDIRECT_URIS)
            .map(|i| format!("https://a/{i}"))
            .collect();
        assert_eq!(redirect_uris(&many).unwrap_err().field, "redirect_uris");
        let bad = vec![
            "https://a/".to_string(),
            "http://app.example/cb".to_string(),
        ];
        assert_eq!(redirect_uris(&bad).unwrap_err().field, "redirect_uris[1]");
        let asked = vec![
            "refresh_token".into(),
            "password".into(),
            "refresh_token".into(),
        ];
        let offered = [GrantType::RefreshToken];
        assert_eq!(
            grant_types(&asked, &offered).unwrap_err().field,
            "grant_types[1]"
        );
        let got = grant_types(&asked, GrantType::ALL).unwrap();
        assert_eq!(got, vec![GrantType::RefreshToken, GrantType::Password]);
    }
}

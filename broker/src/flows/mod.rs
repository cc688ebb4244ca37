//! The broker's OAuth flows: the rules of each endpoint, in OAuth terms. Handlers (`oauth`,
//! `admin`) read the request, call one flow, and render what it returns; flows never see an
//! HTTP request, and are the only code that decides what a request may do.
//!
//! # Layout
//! * [`authorize`] — [`authorize::AuthorizeRequest`]: `/authorize`, checked and started;
//!   [`callback`] — `/callback`: the upstream's answer, the login completed with a code;
//!   [`logins`] — [`logins::Logins`], the pending logins and codes in between.
//!   [`login_start`] — the upstream leg both `/authorize` and the device flow start a login with;
//!   [`upstream_choice`] — which upstream provider a login goes to (`idp_hint`, `login_hint`).
//! * [`device`] — the device authorization grant (RFC 8628): the device's request, the user
//!   code entered, the login and the user's decision (the poll is a grant, under [`grants`]).
//! * [`client_auth`] — RFC 6749 §2.3.1 client authentication, with its failure back-off.
//! * [`token`] — `POST /token`: the grant dispatch and the response; [`grants`] — one file per
//!   grant; [`scope`] — the scope rules; [`dpop`] — the RFC 9449 proof of a token request
//!   and the key its tokens are bound to.
//! * [`end_session`] — an app logs its user out (OpenID Connect RP-Initiated Logout 1.0), the
//!   upstream session too.
//! * [`backchannel_logout`] — the upstream ends a session (OpenID Connect Back-Channel Logout
//!   1.0): every login of it is revoked.
//! * [`introspection`] (RFC 7662) and [`revocation`] (RFC 7009); [`discovery`] — the RFC 8414
//!   and OpenID Connect Discovery document.
//! * [`registration`] — RFC 7591 registration and the RFC 7592 configuration endpoint, with
//!   [`client_metadata`], the metadata they read and answer.
//! * [`client_rules`] — the rules of an app's client settings, applied by the admin API,
//!   registration and the token endpoint alike; [`cors`] — which web origins may read a
//!   client's answers.

pub mod authorize;
pub mod backchannel_logout;
pub mod callback;
pub mod client_auth;
pub mod client_metadata;
pub mod client_rules;
pub mod cors;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod end_session;
pub mod grants;
pub mod introspection;
pub mod login_start;
pub mod logins;
pub mod registration;
pub mod revocation;
pub mod scope;
pub mod token;
pub mod upstream_choice;

use std::borrow::Cow;

use tessera_shared::oauth::OAuthError;

use crate::ratelimit::Refusal;

/// Why a browser step of a login (`/authorize`, `/callback`) stops; the handler renders it.
#[derive(Debug)]
pub enum LoginError {
    /// An HTML error page: there is no redirect URI to trust (RFC 6749 §4.1.2.1).
    Page {
        status: u16,
        title: &'static str,
        detail: Cow<'static, str>,
    },
    /// A rate limit refused the request: the 429 page.
    Limited(Refusal),
    /// Back to the app's redirect URI with `error`, the app's exact `state`, and `iss`.
    Redirect {
        redirect_uri: String,
        error: OAuthError,
        state: Option<String>,
    },
}

impl LoginError {
    pub fn page(status: u16, title: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        LoginError::Page {
            status,
            title,
            detail: detail.into(),
        }
    }

    /// The page of a request that needs user login on a broker without `[upstream]`.
    pub fn not_configured() -> Self {
        Self::page(404, "Not available", "user login is not configured")
    }

    /// The page of a store that could not answer.
    pub fn unavailable() -> Self {
        Self::page(503, "Temporarily unavailable", "please retry shortly")
    }
}

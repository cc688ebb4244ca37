//! Caps on every request parameter the broker stores or echoes ([`super::Form::check`] applies
//! them) (DESIGN: no anonymous input
//! makes Redis or a process grow without bound).
//!
//! Each endpoint family has one table: a byte cap per known parameter, one for any other
//! parameter (ignored, but still bounded), and one for the whole query string or body. Over a
//! cap is `invalid_request` naming the parameter from the table — never the input — and
//! nothing is stored. Beneath these, actix-web refuses a request head (request line and
//! headers) over 128 KiB with 431 and more than 96 headers with 400, and bodies are capped by
//! `server.max_body_bytes`.

/// A cap table.
#[derive(Debug)]
pub struct Caps {
    /// (parameter, most bytes of its decoded value).
    pub params: &'static [(&'static str, usize)],
    /// Most bytes of any parameter not in `params`.
    pub other: usize,
}

/// Most bytes of the raw (still percent-encoded) query string of `/authorize` and `/callback`;
/// longer is 414.
pub const MAX_QUERY_BYTES: usize = 8192;

/// `GET /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
pub const AUTHORIZE: Caps = Caps {
    params: &[
        ("client_id", 128),
        ("redirect_uri", crate::model::MAX_REDIRECT_URI_BYTES),
        ("response_type", 64),
        ("scope", 1024),
        ("state", 1024),
        ("nonce", 256),
        ("code_challenge", 128),
        ("code_challenge_method", 16),
        ("login_hint", 256),
        ("idp_hint", 64),
        ("prompt", 64),
        ("max_age", 16),
        ("response_mode", 32),
    ],
    other: 1024,
};

/// `/end_session` (OpenID Connect RP-Initiated Logout 1.0 §2) and its callback.
pub const END_SESSION: Caps = Caps {
    params: &[
        ("id_token_hint", 8192),
        ("client_id", 128),
        (
            "post_logout_redirect_uri",
            crate::model::MAX_REDIRECT_URI_BYTES,
        ),
        ("state", 1024),
        ("logout_hint", 256),
        ("ui_locales", 256),
    ],
    other: 1024,
};

/// `GET /callback`: what the upstream sends back (its `state` is the broker's own, 43 bytes).
pub const CALLBACK: Caps = Caps {
    params: &[
        ("state", 64),
        ("code", 2048),
        ("error", 128),
        ("error_description", 1024),
        ("iss", 2048),
    ],
    other: 1024,
};

/// Form bodies of `/token`, `/introspect`, `/revoke` and `/backchannel_logout`.
pub const FORM: Caps = Caps {
    params: &[
        ("grant_type", 128),
        ("client_id", 128),
        ("client_secret", 256),
        ("code", 128),
        ("redirect_uri", crate::model::MAX_REDIRECT_URI_BYTES),
        ("code_verifier", 128),
        ("refresh_token", 128),
        ("scope", 1024),
        ("username", 256),
        ("password", 1024),
        ("subject_token", 8192),
        ("subject_token_type", 128),
        ("requested_token_type", 128),
        ("actor_token", 8192),
        ("actor_token_type", 128),
        ("audience", 2048),
        ("resource", 2048),
        ("token", 4096),
        ("token_type_hint", 64),
        ("device_code", 128),
        ("logout_token", 8192),
    ],
    other: 1024,
};

/// The broker's device pages (RFC 8628 §3.3): the user code entered, and the user's decision
/// with its form token.
pub const DEVICE: Caps = Caps {
    params: &[("user_code", 32), ("csrf", 64), ("decision", 16)],
    other: 256,
};

impl Caps {
    /// The table's own spelling of `name`, when it is a known parameter.
    pub fn known(&self, name: &str) -> Option<&'static str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, _)| *n)
    }

    /// The cap of `name`, and the table's own spelling of it when it is a known parameter.
    pub fn cap(&self, name: &str) -> (Option<&'static str>, usize) {
        match self.params.iter().find(|(n, _)| *n == name) {
            Some((n, max)) => (Some(*n), *max),
            None => (None, self.other),
        }
    }
}

//! The OAuth 2.0 wire format, as both OAuth servers of this workspace read and answer it — the
//! broker and the development identity provider (`tessera-devidp`): the error response
//! (RFC 6749 §5.2) and its HTTP shape, strict form reading with a cap on every parameter, HTTP
//! Basic client credentials (RFC 6749 §2.3.1) and PKCE (RFC 7636). The only HTTP-aware corner of
//! this crate; the domain and storage code never sees a request.
//!
//! # Layout
//! * [`error`] — [`OAuthError`], [`ErrorCode`], [`Challenge`]; [`response`] — the error as an
//!   actix response ([`OAuthResponse`]).
//! * [`form`] — [`Form`]: strict `application/x-www-form-urlencoded` reading; [`caps`] — the
//!   byte caps of every parameter.
//! * [`basic`] — the `client_id:client_secret` of an HTTP Basic header.
//! * [`pkce`] — RFC 7636 S256 challenges and verifiers.
//! * [`dpop`] — RFC 9449 DPoP proofs: the validator the broker and the proxy share.

pub mod basic;
pub mod caps;
pub mod dpop;
pub mod error;
pub mod form;
pub mod pkce;
pub mod response;

pub use caps::Caps;
pub use error::{Challenge, ErrorCode, OAuthError};
pub use form::Form;
pub use response::OAuthResponse;

//! User tokens — the ones a person's login stands behind: authorization code redemption
//! ([`codes`]), refresh rotation ([`refresh`]), the password grant ([`password`]), token
//! exchange ([`exchange`]), and revocation of users, logins and apps across all of them
//! ([`revocation`]).

mod codes;
mod exchange;
mod password;
mod refresh;
mod revocation;

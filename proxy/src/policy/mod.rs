//! The per-route policies, in the order the pipeline applies them: [`ip`], [`spike`], [`auth`]
//! (with [`jwt`]), [`scope`], [`quota`], [`threat`].

pub mod auth;
pub mod ip;
pub mod jwt;
pub mod quota;
pub mod scope;
pub mod spike;
pub mod threat;

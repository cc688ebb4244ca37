//! The portal's handlers, one file per page (and its forms): parse, call the catalog or the
//! portal's actions, render.

pub mod app;
pub mod apps;
pub mod auth;
pub mod console;
pub mod console_actions;
pub mod products;

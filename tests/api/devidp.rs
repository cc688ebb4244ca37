//! The development identity provider over HTTP (being written).

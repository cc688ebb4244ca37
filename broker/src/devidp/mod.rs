//! The development identity provider (being written).

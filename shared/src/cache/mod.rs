//! What the in-process token caches share — the proxy's (`tessera_proxy::cache`) and the
//! broker's introspection cache (issue 11, P4): the compact table they keep entries in
//! ([`table`]) and the rules that keep such a cache honest ([`honest`]): used only while the
//! revocation subscription is up, flushed when it is lost, and no insert by a lookup that
//! raced an announcement.

pub mod honest;
pub mod table;

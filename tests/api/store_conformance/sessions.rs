//! Portal sessions and sign-ins: stored for their TTL, read back, ended; a sign-in is taken
//! once.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::Store;

use super::{cluster_store, memory_store, redis_store};

conformance!(
    sessions_live_and_end,
    signins_are_taken_once,
    entries_expire
);

async fn sessions_live_and_end(s: Arc<dyn Store>) {
    s.session_put("h1", "{\"a\":1}", 60).await.unwrap();
    assert_eq!(
        s.session_get("h1").await.unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(s.session_get("h2").await.unwrap(), None);
    s.session_put("h1", "{\"a\":2}", 60).await.unwrap();
    assert_eq!(
        s.session_get("h1").await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    s.session_delete("h1").await.unwrap();
    s.session_delete("h1").await.unwrap();
    assert_eq!(s.session_get("h1").await.unwrap(), None);
}

async fn signins_are_taken_once(s: Arc<dyn Store>) {
    s.signin_put("st", "rec", 60).await.unwrap();
    // A session and a sign-in of the same name are different things.
    assert_eq!(s.session_get("st").await.unwrap(), None);
    assert_eq!(s.signin_take("st").await.unwrap().as_deref(), Some("rec"));
    assert_eq!(s.signin_take("st").await.unwrap(), None);
}

async fn entries_expire(s: Arc<dyn Store>) {
    s.session_put("short", "x", 1).await.unwrap();
    s.signin_put("short", "y", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.session_get("short").await.unwrap(), None);
    assert_eq!(s.signin_take("short").await.unwrap(), None);
}

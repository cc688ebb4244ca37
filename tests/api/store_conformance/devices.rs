//! RFC 8628 device authorizations: the one-way steps (pending → authenticated → approved or
//! denied → consumed), user codes claimed once, the client binding and the polling pace.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::{DevicePoll, DeviceStatus, Store};

use super::{cluster_store, memory_store, redis_store};

async fn device_authorizations_move_one_way(s: Arc<dyn Store>) {
    assert!(s
        .device_put("d1", "u1", "c1", "{rec}", 1, 60)
        .await
        .unwrap());
    // A user code is handed to one device only.
    assert!(!s
        .device_put("d2", "u1", "c1", "{other}", 1, 60)
        .await
        .unwrap());
    let (device, st) = s.device_by_user_code("u1").await.unwrap().unwrap();
    assert_eq!((device.as_str(), st.status), ("d1", DeviceStatus::Pending));
    assert_eq!(st.record, "{rec}");
    assert!(s.device_by_user_code("u2").await.unwrap().is_none());
    // Deciding before anyone logged in changes nothing.
    assert!(!s.device_decide("d1", "u1", true).await.unwrap());
    assert!(s.device_authenticate("d1", "{id}", "bh").await.unwrap());
    // A second login for the same code loses.
    assert!(!s.device_authenticate("d1", "{id2}", "bh2").await.unwrap());
    let (_, st) = s.device_by_user_code("u1").await.unwrap().unwrap();
    assert_eq!(st.status, DeviceStatus::Authenticated);
    assert_eq!(
        (st.identity.as_deref(), st.browser_hash.as_deref()),
        (Some("{id}"), Some("bh"))
    );
    assert_eq!(
        s.device_poll("d1", "c1", 0).await.unwrap(),
        DevicePoll::Pending
    );
    assert!(s.device_decide("d1", "u1", true).await.unwrap());
    assert!(
        !s.device_decide("d1", "u1", false).await.unwrap(),
        "decided once"
    );
    // The user code is forgotten once decided.
    assert!(s.device_by_user_code("u1").await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(1050)).await;
    // Another client's poll changes nothing.
    assert_eq!(
        s.device_poll("d1", "c2", 0).await.unwrap(),
        DevicePoll::OtherClient
    );
    let approved = DevicePoll::Approved {
        record: "{rec}".into(),
        identity: "{id}".into(),
    };
    assert_eq!(s.device_poll("d1", "c1", 0).await.unwrap(), approved);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(
        s.device_poll("d1", "c1", 0).await.unwrap(),
        DevicePoll::Consumed
    );
    assert_eq!(
        s.device_poll("nope", "c1", 0).await.unwrap(),
        DevicePoll::Gone
    );
}

async fn polling_sooner_than_the_interval_slows_down(s: Arc<dyn Store>) {
    assert!(s
        .device_put("d1", "u1", "c1", "{rec}", 1, 60)
        .await
        .unwrap());
    assert_eq!(
        s.device_poll("d1", "c1", 0).await.unwrap(),
        DevicePoll::Pending
    );
    assert_eq!(
        s.device_poll("d1", "c1", 0).await.unwrap(),
        DevicePoll::SlowDown(6)
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    // 6 s now: still too soon, and 5 s more.
    assert_eq!(
        s.device_poll("d1", "c1", 0).await.unwrap(),
        DevicePoll::SlowDown(11)
    );
    // A denial is what every later poll on time says.
    assert!(s
        .device_put("d3", "u3", "c1", "{rec}", 1, 60)
        .await
        .unwrap());
    assert!(s.device_authenticate("d3", "{id}", "bh").await.unwrap());
    assert!(s.device_decide("d3", "u3", false).await.unwrap());
    assert_eq!(
        s.device_poll("d3", "c1", 0).await.unwrap(),
        DevicePoll::Denied
    );
    // With slack, a poll just short of the interval is on time.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        s.device_poll("d3", "c1", 200).await.unwrap(),
        DevicePoll::Denied
    );
}

conformance!(
    device_authorizations_move_one_way,
    polling_sooner_than_the_interval_slows_down
);

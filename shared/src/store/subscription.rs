//! The revocation subscription kept honest: a subscriber only reads, so a connection whose peer
//! went away silently (a NAT or firewall dropping its state, a frozen or partitioned Redis)
//! never fails by itself, and announcements made meanwhile are lost while the subscriber still
//! trusts its cache. The store's other heartbeat (PING on the command connection) cannot see
//! this: it travels on another TCP connection.
//!
//! So the subscribed connection itself is pinged (RESP2 allows PING while subscribed) every
//! [`PING_EVERY`], and must answer within the store's command timeout; otherwise, or when the
//! connection ends, the stream ends — which tells the subscriber to flush and resubscribe.
//! A lost subscription is thus noticed within `PING_EVERY + store.command_timeout_ms`. TCP
//! keepalive and `TCP_USER_TIMEOUT` ([`tcp_settings`]) back this up for peers that vanish.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSub;
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};

use super::{Announcement, RevocationStream};

/// How often the subscribed connection is pinged.
pub const PING_EVERY: Duration = Duration::from_millis(250);

/// Keepalive probes after 15 s of silence, every 5 s, 3 of them; unacknowledged data fails the
/// connection after 10 s.
pub fn tcp_settings() -> TcpSettings {
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(15))
        .with_interval(Duration::from_secs(5))
        .with_retries(3);
    TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive)
        .set_user_timeout(Duration::from_secs(10))
}

/// The announcements of a subscribed `pubsub`, ending when the connection is lost or stops
/// answering pings within `deadline`.
pub fn watch(pubsub: PubSub, deadline: Duration) -> RevocationStream {
    let (mut sink, mut stream) = pubsub.split();
    let (tx, rx) = tokio::sync::mpsc::channel::<Announcement>(1024);
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(PING_EVERY);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                m = stream.next() => match m {
                    Some(msg) => {
                        let payload = msg.get_payload::<String>().ok();
                        if let Some(r) = payload.and_then(|p| Announcement::decode(&p)) {
                            if tx.send(r).await.is_err() {
                                break;
                            }
                        }
                    }
                    None => break,
                },
                _ = beat.tick() => {
                    let pong = tokio::time::timeout(deadline, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        break;
                    }
                }
                _ = tx.closed() => break,
            }
        }
        // Dropping the sink and the stream closes the connection; dropping `tx` ends the
        // subscriber's stream.
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    }))
}

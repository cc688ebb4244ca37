//! A loopback TCP relay between the proxy and Redis that a test controls: it forwards every
//! connection both ways, notes which ones subscribed (a `SUBSCRIBE` went through), and can
//! freeze those — stop forwarding a single byte either way without closing anything, as a
//! NAT or firewall that dropped the connection's state, or a partitioned Redis, would. One
//! subscription alone can be frozen too, by the order in which they subscribed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{spawn_proxy_with, Setup, TestProxy};

/// A proxy with `routes` on `s`'s broker, whose Redis connections all go through a relay, with
/// short store deadlines ([`short_deadlines`]).
pub async fn relayed_proxy(s: &Setup, routes: Value) -> (Relay, TestProxy) {
    let redis_addr = s.broker.redis_url.trim_start_matches("redis://");
    let relay = Relay::start(redis_addr.to_string()).await;
    let proxy = spawn_proxy_with(&s.broker, routes, |c| {
        c["store"]["url"] = json!(relay.url());
        short_deadlines(c);
    })
    .await;
    (relay, proxy)
}

/// Sets `store.command_timeout_ms` to 500 ms (and connecting to 300 ms) in a broker's or
/// proxy's configuration: the tests over a relay measure what that deadline bounds (a frozen
/// subscription is noticed within 250 ms + the command timeout), so they keep it short rather
/// than the tests' generous [`crate::helpers::STORE_TIMEOUT_MS`].
pub fn short_deadlines(cfg: &mut Value) {
    cfg["store"]["command_timeout_ms"] = json!(500);
    cfg["store"]["connect_timeout_ms"] = json!(300);
}

pub struct Relay {
    pub port: u16,
    /// The id of the next connection.
    next_id: Arc<AtomicU64>,
    /// Subscribed connections with an id below this are frozen.
    frozen_below: Arc<AtomicU64>,
    /// Subscriptions so far, and the one frozen alone (by its order; `u64::MAX`: none).
    subscriptions: Arc<AtomicU64>,
    frozen_one: Arc<AtomicU64>,
}

/// What every connection's pumps share: which connections are frozen.
#[derive(Clone)]
struct Freeze {
    below: Arc<AtomicU64>,
    subscriptions: Arc<AtomicU64>,
    one: Arc<AtomicU64>,
}

/// One connection's subscription: its order among the relay's subscriptions, once it has one.
#[derive(Clone)]
struct Subscribed(Arc<AtomicU64>);

impl Subscribed {
    const NOT: u64 = u64::MAX;

    fn order(&self) -> Option<u64> {
        Some(self.0.load(Ordering::SeqCst)).filter(|&o| o != Self::NOT)
    }
}

/// One direction of one connection.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    id: u64,
    subscribed: Subscribed,
    freeze: Freeze,
    upstream: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        if upstream
            && buf[..n]
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"SUBSCRIBE"))
            && subscribed.order().is_none()
        {
            let order = freeze.subscriptions.fetch_add(1, Ordering::SeqCst);
            subscribed.0.store(order, Ordering::SeqCst);
        }
        let frozen = subscribed.order().is_some_and(|o| {
            id < freeze.below.load(Ordering::SeqCst) || o == freeze.one.load(Ordering::SeqCst)
        });
        if frozen {
            // Frozen: keep both sockets open, forward nothing, ever.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Relay {
    /// Relays 127.0.0.1:<port> to `target` (`host:port`).
    pub async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let frozen_below = Arc::new(AtomicU64::new(0));
        let next_id = Arc::new(AtomicU64::new(0));
        let subscriptions = Arc::new(AtomicU64::new(0));
        let frozen_one = Arc::new(AtomicU64::new(Subscribed::NOT));
        let ids = next_id.clone();
        let freeze = Freeze {
            below: frozen_below.clone(),
            subscriptions: subscriptions.clone(),
            one: frozen_one.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let id = ids.fetch_add(1, Ordering::SeqCst);
                let subscribed = Subscribed(Arc::new(AtomicU64::new(Subscribed::NOT)));
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, id, subscribed.clone(), freeze.clone(), true));
                tokio::spawn(pump(sr, cw, id, subscribed, freeze.clone(), false));
            }
        });
        Relay {
            port,
            next_id,
            frozen_below,
            subscriptions,
            frozen_one,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes every subscribed connection open now; later ones are relayed normally.
    pub fn freeze_subscriptions(&self) {
        let open = self.next_id.load(Ordering::SeqCst);
        self.frozen_below.store(open, Ordering::SeqCst);
    }

    /// Freezes the `n`th connection to subscribe (from 0) alone, whether now or later.
    pub fn freeze_subscription(&self, n: u64) {
        self.frozen_one.store(n, Ordering::SeqCst);
    }

    /// Connections that have subscribed so far.
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(Ordering::SeqCst)
    }
}

//! A loopback TCP relay between the proxy and Redis that a test controls: it forwards every
//! connection both ways, notes which ones subscribed (a `SUBSCRIBE` went through), and can
//! freeze those — stop forwarding a single byte either way without closing anything, as a
//! NAT or firewall that dropped the connection's state, or a partitioned Redis, would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Relay {
    pub port: u16,
    /// The id of the next connection.
    next_id: Arc<AtomicU64>,
    /// Subscribed connections with an id below this are frozen.
    frozen_below: Arc<AtomicU64>,
}

/// One direction of one connection.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    id: u64,
    subscribed: Arc<AtomicBool>,
    frozen_below: Arc<AtomicU64>,
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
        {
            subscribed.store(true, Ordering::SeqCst);
        }
        if subscribed.load(Ordering::SeqCst) && id < frozen_below.load(Ordering::SeqCst) {
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
        let (frozen, ids) = (frozen_below.clone(), next_id.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let id = ids.fetch_add(1, Ordering::SeqCst);
                let subscribed = Arc::new(AtomicBool::new(false));
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, id, subscribed.clone(), frozen.clone(), true));
                tokio::spawn(pump(sr, cw, id, subscribed, frozen.clone(), false));
            }
        });
        Relay {
            port,
            next_id,
            frozen_below,
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
}

//! A single Redis server's command connection, one per thread that runs its own
//! current-thread runtime (each actix worker of the proxy and the broker), created lazily on
//! that thread's first command (issue 11, direction 1: shared-nothing workers).
//!
//! Why: a [`ConnectionManager`] is driven by a task of the runtime that first used it. Shared
//! by every worker, that task ran on another thread than most callers, so each command cost two
//! cross-thread wake-ups (worker → driver, driver → worker) and the context switches that go
//! with them. A worker's own connection is driven by a task of the worker's own runtime: the
//! command, the socket and the answer never leave the worker's thread.
//!
//! * Work on a multi-thread runtime (background tasks: the revocation follower's heartbeat,
//!   the analytics writer) and outside any runtime uses the one shared connection, as before.
//! * Each per-thread connection is a [`ConnectionManager`] made with the same client and
//!   settings as the shared one: the same connect and response timeouts, the same background
//!   reconnection (the retry runs on the worker's runtime too).
//! * An entry is tied to the runtime that made it (its [`tokio::runtime::Id`]): a thread that
//!   runs another runtime later (tests do) gets a new connection instead of one whose driver
//!   died with the old runtime; entries of dropped stores are dropped on the next miss.
//!
//! Connections per process: one per worker thread that sends a command, plus the shared one,
//! plus the revocation subscriptions' own (docs/scaling.md).

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::runtime::{Handle, RuntimeFlavor};

/// What a thread's connection is made from (the shared connection's client and settings).
pub struct Maker {
    client: redis::Client,
    config: ConnectionManagerConfig,
}

/// One thread's connection for one store, and the runtime it belongs to.
struct Own {
    maker: Weak<Maker>,
    runtime: tokio::runtime::Id,
    conn: ConnectionManager,
}

thread_local! {
    static OWN: RefCell<Vec<Own>> = const { RefCell::new(Vec::new()) };
}

/// The command connection to one server: the shared one, and the means to make this thread's.
pub struct Single {
    shared: ConnectionManager,
    maker: Arc<Maker>,
    /// The connection this handle settled on at its first command (a handle is cloned per
    /// store call, on the caller's thread).
    picked: Option<ConnectionManager>,
}

impl Clone for Single {
    /// A clone picks again: it may be used on another thread.
    fn clone(&self) -> Self {
        Single {
            shared: self.shared.clone(),
            maker: self.maker.clone(),
            picked: None,
        }
    }
}

impl Single {
    /// A connection to `client`'s server with `config`; nothing is connected until a command.
    pub fn new(client: redis::Client, config: ConnectionManagerConfig) -> redis::RedisResult<Self> {
        let shared = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Single {
            shared,
            maker: Arc::new(Maker { client, config }),
            picked: None,
        })
    }

    /// The connection for a command sent from here: this thread's own on a current-thread
    /// runtime, else the shared one.
    pub fn conn(&mut self) -> &mut ConnectionManager {
        if self.picked.is_none() {
            self.picked = self.own();
        }
        match &mut self.picked {
            Some(c) => c,
            None => &mut self.shared,
        }
    }

    /// The shared connection (`SELECT`ed database and the like are the same on every one).
    pub fn shared(&self) -> &ConnectionManager {
        &self.shared
    }

    /// This thread's connection, made on first use; `None` where the shared one serves.
    fn own(&self) -> Option<ConnectionManager> {
        let rt = Handle::try_current().ok()?;
        if rt.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return None;
        }
        let runtime = rt.id();
        let me = Arc::downgrade(&self.maker);
        OWN.try_with(|own| {
            let mut own = own.try_borrow_mut().ok()?;
            if let Some(o) = own
                .iter()
                .find(|o| o.runtime == runtime && o.maker.ptr_eq(&me))
            {
                return Some(o.conn.clone());
            }
            // A miss: drop what belongs to a dropped store or to a runtime gone from here.
            own.retain(|o| o.runtime == runtime && o.maker.strong_count() > 0);
            let m = &self.maker;
            let conn =
                ConnectionManager::new_lazy_with_config(m.client.clone(), m.config.clone()).ok()?;
            own.push(Own {
                maker: me,
                runtime,
                conn: conn.clone(),
            });
            Some(conn)
        })
        .ok()
        .flatten()
    }
}

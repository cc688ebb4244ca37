//! A real local Redis Cluster for tests: `redis-server` processes in cluster mode on free ports
//! of 127.0.0.1 (each with its cluster bus on a second free port, `--cluster-port`), joined by
//! `redis-cli --cluster create … --cluster-replicas N --cluster-yes`.
//!
//! One shared cluster per test binary (3 masters, 3 replicas: [`shared_cluster_nodes`]), which
//! tests share through key prefixes of their own; or an owned one ([`RedisCluster::start`]) for
//! a test that kills nodes (owned clusters take turns: one up at a time). Like the single server (`redis_server.rs`), every node is spawned
//! with `PR_SET_PDEATHSIG` and dies with its owner. `TESSERA_TEST_CLUSTER_NODES` (comma
//! separated URLs) replaces the shared cluster with an existing one.
//!
//! `redis-cli` (Debian: redis-tools) must be installed: without it these helpers panic, so the
//! cluster tests fail loudly rather than skip.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::redis_server::{free_port, shipped_user, try_spawn_child};

/// How a cluster's nodes are reached over TLS: the CA and client certificate files (PEM) that
/// `redis-cli` and the store use, and the node certificate the servers present.
#[derive(Clone, Debug)]
pub struct ClusterTls {
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
}

/// One node: its client port (the TLS port on a TLS cluster), and the plain port the helpers
/// poll on.
pub struct Node {
    pub port: u16,
    plain: u16,
    child: Option<Child>,
}

pub struct RedisCluster {
    pub nodes: Vec<Node>,
    dir: PathBuf,
    tls: Option<ClusterTls>,
    /// An owned cluster's turn ([`OWNED_TURN`]), held until it is dropped.
    _turn: Option<MutexGuard<'static, ()>>,
}

/// Owned clusters run one at a time, so that the test binary never has more than the shared
/// cluster and one owned cluster up: 12 nodes at most on a 2-core CI machine, where a starved
/// node would miss its cluster-node-timeout and fail over by itself.
static OWNED_TURN: Mutex<()> = Mutex::new(());

/// The `redis-server` arguments of a cluster node: fast failure detection for tests.
fn node_args(node_timeout_ms: u64, bus: u16, tls: Option<(&ClusterTls, u16)>) -> Vec<String> {
    let mut a: Vec<String> = [
        "--cluster-enabled",
        "yes",
        "--cluster-node-timeout",
        &node_timeout_ms.to_string(),
        "--cluster-port",
        &bus.to_string(),
        "--appendonly",
        "no",
    ]
    .map(String::from)
    .to_vec();
    if let Some((t, tls_port)) = tls {
        for (k, v) in [
            ("--tls-port", tls_port.to_string()),
            ("--tls-cert-file", t.cert_file.clone()),
            ("--tls-key-file", t.key_file.clone()),
            ("--tls-ca-cert-file", t.ca_file.clone()),
            ("--tls-cluster", "yes".into()),
            ("--tls-replication", "yes".into()),
        ] {
            a.push(k.into());
            a.push(v);
        }
    }
    a
}

impl RedisCluster {
    /// `masters` masters with `replicas` replicas each, failure detection after
    /// `node_timeout_ms`; over TLS (mutual: the nodes demand client certificates) with `tls`.
    pub fn start(
        masters: usize,
        replicas: usize,
        node_timeout_ms: u64,
        tls: Option<ClusterTls>,
    ) -> Self {
        // A test that panicked with its cluster leaves the lock poisoned, not held.
        let turn = OWNED_TURN.lock().unwrap_or_else(|e| e.into_inner());
        let mut cluster = Self::start_with(masters, replicas, node_timeout_ms, tls, Vec::new());
        cluster._turn = Some(turn);
        cluster
    }

    /// As [`Self::start`], with `extra` arguments for every node (ACL users…).
    pub fn start_with(
        masters: usize,
        replicas: usize,
        node_timeout_ms: u64,
        tls: Option<ClusterTls>,
        extra: Vec<String>,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("tessera-cluster-{}", free_port()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut nodes = Vec::new();
        while nodes.len() < masters * (1 + replicas) {
            let (plain, bus) = (free_port(), free_port());
            let port = if tls.is_some() { free_port() } else { plain };
            let node_dir = dir.join(plain.to_string());
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let mut args = node_args(node_timeout_ms, bus, tls.as_ref().map(|t| (t, port)));
            args.extend(extra.iter().cloned());
            // A port taken in between: try other ones.
            if let Some(child) = try_spawn_child(plain, &node_dir, &args) {
                nodes.push(Node {
                    port,
                    plain,
                    child: Some(child),
                });
            }
        }
        let cluster = RedisCluster {
            nodes,
            dir,
            tls,
            _turn: None,
        };
        cluster.create(replicas);
        cluster
    }

    fn cli(&self) -> Command {
        let mut cmd = Command::new("redis-cli");
        if let Some(t) = &self.tls {
            cmd.args(["--tls", "--cacert", &t.ca_file, "--cert", &t.cert_file])
                .args(["--key", &t.key_file]);
        }
        cmd
    }

    fn create(&self, replicas: usize) {
        let addrs: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = self
            .cli()
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli must be installed (apt-get install redis-tools)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let start = Instant::now();
        while !self.converged() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the cluster did not converge"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every live node sees the cluster ok, and every replica is in sync with its master.
    pub fn converged(&self) -> bool {
        self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
            let info = self.info(n.plain, "CLUSTER", "INFO");
            let repl = self.info(n.plain, "INFO", "replication");
            info.contains("cluster_state:ok")
                && (repl.contains("role:master") || repl.contains("master_link_status:up"))
        })
    }

    /// A command's text answer on one node's plain port ("" when it fails).
    fn info(&self, plain: u16, cmd: &str, arg: &str) -> String {
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{plain}")) else {
            return String::new();
        };
        let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(500)) else {
            return String::new();
        };
        redis::cmd(cmd).arg(arg).query(&mut c).unwrap_or_default()
    }

    /// The seed node URLs (`rediss://` on a TLS cluster).
    pub fn urls(&self) -> Vec<String> {
        self.urls_as("")
    }

    /// The seed node URLs with `user:password@` (empty: none).
    pub fn urls_as(&self, credentials: &str) -> Vec<String> {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        self.nodes
            .iter()
            .map(|n| format!("{scheme}://{credentials}127.0.0.1:{}", n.port))
            .collect()
    }

    /// The client port of the master serving `key`'s slot now.
    pub fn master_of(&self, key: &str) -> u16 {
        let live = self
            .nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a live node");
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", live.plain)).unwrap();
        let mut c = client.get_connection().unwrap();
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut c)
            .unwrap();
        slots(&mut c)
            .into_iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&slot))
            .expect("slot served")
            .2
    }
}

/// `CLUSTER SLOTS` as (first slot, last slot, master's port): `[[first, last, [host, port,
/// id], replicas...], ...]`.
fn slots(c: &mut redis::Connection) -> Vec<(u16, u16, u16)> {
    let all: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(c).unwrap();
    all.into_iter()
        .map(|e| {
            let lo: u16 = redis::from_redis_value(e[0].clone()).unwrap();
            let hi: u16 = redis::from_redis_value(e[1].clone()).unwrap();
            let m: Vec<redis::Value> = redis::from_redis_value(e[2].clone()).unwrap();
            (lo, hi, redis::from_redis_value(m[1].clone()).unwrap())
        })
        .collect()
}

impl RedisCluster {
    /// Kills the node on client port `port` with SIGKILL, as a crash would.
    pub fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("node");
        if let Some(mut c) = node.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the node on client port `port`: a frozen node
    /// keeps its connections open and answers nothing, as a hung or partitioned server.
    #[allow(unsafe_code)]
    pub fn freeze(&self, port: u16, frozen: bool) {
        let node = self.nodes.iter().find(|n| n.port == port).expect("node");
        let pid = node.child.as_ref().expect("live node").id() as libc::pid_t;
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    /// The client ports of the nodes holding a subscribed (pub/sub) client now.
    pub fn subscribed_nodes(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .filter(|n| {
                let list = self.info(n.plain, "CLIENT", "LIST");
                list.lines()
                    .any(|l| l.contains("cmd=subscribe") || l.contains(" sub=1"))
            })
            .map(|n| n.port)
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `nodes` as the shipped ACL's `user` (`broker` or `proxy`) of the shared cluster.
pub fn as_user(nodes: &[String], user: &str) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n.replacen("://", &format!("://{user}:{ACL_PASSWORD}@"), 1))
        .collect()
}

/// The password of the shared cluster's `broker` and `proxy` users (the shipped ACL's).
pub const ACL_PASSWORD: &str = "cluster-acl-password-0123456789";

/// The seed node URLs of the Redis Cluster every test of this binary shares (3 masters, 3
/// replicas), started on first use. Its nodes also have the `broker` and `proxy` users of the
/// shipped `redis/redis.conf` ([`ACL_PASSWORD`]); without credentials, tests are the default
/// user.
pub fn shared_cluster_nodes() -> Vec<String> {
    static NODES: OnceLock<Vec<String>> = OnceLock::new();
    NODES
        .get_or_init(|| {
            if let Ok(nodes) = std::env::var("TESSERA_TEST_CLUSTER_NODES") {
                return nodes.split(',').map(str::to_string).collect();
            }
            let (tx, rx) = mpsc::channel();
            // As for the shared server: the nodes die with the thread that spawned them, so
            // it must live as long as the process.
            std::thread::spawn(move || {
                let mut users = shipped_user("broker", ACL_PASSWORD);
                users.extend(shipped_user("proxy", ACL_PASSWORD));
                let cluster = RedisCluster::start_with(3, 1, 5_000, None, users);
                let _ = tx.send(cluster.urls());
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("cluster thread")
        })
        .clone()
}

//! A real `redis-server` for tests, on a free port of 127.0.0.1.
//!
//! One shared instance per test binary (`shared_redis_url`), or an owned one that a test may stop
//! and restart (`RedisServer`). Either dies with the test process: the child is spawned with
//! `PR_SET_PDEATHSIG`, from a thread that lives as long as its owner. `TESSERA_TEST_REDIS_URL`
//! replaces the shared instance with an existing server.
//!
//! Owned servers run with the persistence settings of the shipped `redis/redis.conf`
//! ([`shipped_persistence`]: AOF, its `appendfsync`, `noeviction`...), read from the file, so
//! that what the tests prove about restarts holds for the configuration operators deploy.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// How long a test's own Redis connection waits to connect and for each answer.
const RAW_DEADLINE: Duration = Duration::from_secs(30);

/// A connection to the Redis at `url` for a test's own reads and writes. The redis crate's
/// defaults (1 s to connect, 500 ms per answer) fail a test whenever the machine stalls Redis
/// or the test longer than that, which a loaded 2-core machine does: `redis_memory`'s fill
/// step failed so (`INFO`/`SET` timed out), reproduced by freezing Redis for 800 ms.
pub async fn connect(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(RAW_DEADLINE))
        .set_response_timeout(Some(RAW_DEADLINE));
    redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// The directives of the shipped `redis/redis.conf` that decide what survives a crash and what
/// happens when memory is full, as `redis-server` arguments (`--appendfsync everysec` ...).
pub fn shipped_persistence() -> Vec<String> {
    const KEPT: &[&str] = &[
        "appendonly",
        "appendfsync",
        "appendfilename",
        "appenddirname",
        "aof-use-rdb-preamble",
        "aof-load-truncated",
        "no-appendfsync-on-rewrite",
        "auto-aof-rewrite-percentage",
        "auto-aof-rewrite-min-size",
        "maxmemory-policy",
    ];
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/redis/redis.conf");
    let conf = std::fs::read_to_string(path).expect("redis/redis.conf is readable");
    let mut args = Vec::new();
    for line in conf.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        if KEPT.contains(&name) {
            args.push(format!("--{name}"));
            args.extend(words.map(|w| w.trim_matches('"').to_string()));
        }
    }
    assert!(
        args.iter().any(|a| a == "--appendfsync"),
        "redis.conf sets appendfsync"
    );
    args
}

/// `--user NAME …` as the shipped `redis/redis.conf` defines that user, with `password`
/// instead of its placeholder.
pub fn shipped_user(name: &str, password: &str) -> Vec<String> {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/redis/redis.conf"))
        .expect("redis/redis.conf");
    let line = conf
        .lines()
        .find(|l| l.starts_with(&format!("user {name} ")))
        .unwrap_or_else(|| panic!("redis.conf has a {name} user"));
    let mut args = vec!["--user".to_string()];
    args.extend(line.split_whitespace().skip(1).map(|w| {
        if w.starts_with('>') {
            format!(">{password}")
        } else {
            w.to_string()
        }
    }));
    args
}

/// Spawns Redis on `port` with `args`; `None` when it exits at once (the port was taken).
#[allow(unsafe_code)]
pub fn try_spawn_child(port: u16, dir: &PathBuf, args: &[String]) -> Option<Child> {
    let mut cmd = Command::new("redis-server");
    cmd.arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--daemonize", "no", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it only asks the
    // kernel to kill this child when the spawning thread exits, so no redis-server outlives us.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)");
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if ping(port) {
            return Some(child);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns Redis on a free port, trying another one if the chosen port is taken in between.
fn spawn_on_free_port(dir_name: &str, args: &[String]) -> (u16, PathBuf, Child) {
    for _ in 0..5 {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("{dir_name}-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        if let Some(child) = try_spawn_child(port, &dir, args) {
            return (port, dir, child);
        }
    }
    panic!("redis-server could not start on a free port");
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok() && buf.starts_with(b"+PONG")
}

/// The URL of the Redis every test of this binary shares.
pub fn shared_redis_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TESSERA_TEST_REDIS_URL") {
            return url;
        }
        let (tx, rx) = mpsc::channel();
        // The child must be spawned from a thread that never exits before the process does,
        // because PDEATHSIG follows the spawning thread, not the process.
        std::thread::spawn(move || {
            let args = ["--appendonly", "no"].map(String::from);
            let (port, _dir, mut child) = spawn_on_free_port("tessera-redis", &args);
            let _ = tx.send(format!("redis://127.0.0.1:{port}"));
            // Blocks as long as Redis runs, which keeps this thread (and so Redis) alive.
            let _ = child.wait();
        });
        rx.recv().expect("redis thread")
    })
    .clone()
}

/// A Redis of one test's own, with the shipped persistence settings (an append-only file), so
/// that a restart keeps what production would keep.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With `extra` arguments after the shipped ones (e.g. `--maxmemory 4mb`).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut args = shipped_persistence();
        args.extend(extra.iter().map(|a| a.to_string()));
        let (port, dir, child) = spawn_on_free_port("tessera-redis-own", &args);
        RedisServer {
            port,
            dir,
            args,
            child: Some(child),
        }
    }

    /// Calls of `command` (lower case, e.g. `evalsha`) so far: `INFO commandstats`.
    pub async fn command_calls(&self, command: &str) -> u64 {
        self.commands().await.get(command).copied().unwrap_or(0)
    }

    /// Calls of every command run so far, by lower-case name (`INFO commandstats`).
    pub async fn commands(&self) -> std::collections::BTreeMap<String, u64> {
        let mut c = connect(&self.url()).await.unwrap();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut c)
            .await
            .unwrap();
        info.lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.strip_prefix("calls=")?.split(',').next()?;
                Some((name.to_string(), calls.parse().ok()?))
            })
            .collect()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Waits until Redis has written every acknowledged write to its append-only file
    /// (`INFO persistence`: `aof_buffer_length:0`), so that a SIGKILL then loses none of them.
    ///
    /// With `appendfsync everysec`, Redis answers a write before it is written when a
    /// background fsync is still running: it postpones the AOF write (up to 2 s) and replies
    /// anyway (`flushAppendOnlyFile` in Redis's `aof.c`). On a busy disk a SIGKILL then loses
    /// acknowledged writes, e.g. the app a test registered just before (its client is unknown
    /// after the restart: a legitimate `invalid_client`). A test about something else than that
    /// window calls this before [`RedisServer::stop`].
    pub async fn wait_aof_written(&self) {
        let mut c = connect(&self.url()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query_async(&mut c)
                .await
                .unwrap();
            assert!(info.contains("aof_enabled:1"), "no append-only file");
            if info.lines().any(|l| l.trim() == "aof_buffer_length:0") {
                return;
            }
            assert!(Instant::now() < deadline, "the AOF write stayed postponed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills Redis with SIGKILL (no shutdown, no final fsync), as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.child = try_spawn_child(self.port, &self.dir, &self.args);
        assert!(
            self.child.is_some(),
            "redis-server could not restart on its port"
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! Reloading the route table on SIGHUP, through the real `tessera proxy` binary: a new route
//! takes effect, a broken file changes nothing (and is counted as refused), and connections
//! open across a reload are kept.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::redis_server::free_port;

/// A `tessera proxy` process, killed when dropped (a failed assertion too).
pub(super) struct ProxyProcess {
    child: Child,
    pub(super) public: String,
    pub(super) status: String,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyProcess {
    pub(super) fn start(config: &Path, log: &Path) -> Self {
        let text = std::fs::read_to_string(config).unwrap();
        let listen = text
            .lines()
            .find_map(|l| l.strip_prefix("listen = "))
            .unwrap()
            .trim_matches('"');
        let status = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["proxy", "--config"])
            .arg(config)
            .args(["--status", &status])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // Nothing from this environment may override the file.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TESSERA_") {
                cmd.env_remove(k);
            }
        }
        ProxyProcess {
            child: cmd.spawn().expect("tessera proxy starts"),
            public: format!("http://{listen}"),
            status: format!("http://{status}"),
        }
    }

    #[allow(unsafe_code)]
    fn hangup(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid, which `Drop` has not reaped yet.
        let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
        assert_eq!(rc, 0, "kill -HUP {pid}");
    }

    pub(super) async fn wait_until_healthy(&mut self, http: &reqwest::Client, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(exit) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("tessera proxy exited ({exit}):\n{log}");
            }
            let url = format!("{}/healthz", self.status);
            if let Ok(res) = http.get(url).send().await {
                if res.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tessera proxy not healthy within 20 s");
    }
}

/// The proxy's configuration file: the broker's store and pepper, then `routes`.
fn config_file(broker: &TestApp, listen: u16, routes: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:{listen}\"\nworkers = 1\n\n\
         [store]\nurl = \"{}\"\nprefix = \"{}\"\n\n\
         [security]\npepper = \"{}\"\n\n[log]\nlevel = \"warn\"\n\n{routes}",
        broker.redis_url,
        broker.prefix,
        crate::helpers::PEPPER,
    )
}

fn echo_route(name: &str, upstream: &str) -> String {
    format!(
        "[[routes]]\nname = \"{name}\"\npath = \"/{name}\"\nupstream = \"{upstream}\"\n\
         auth = {{ kind = \"none\" }}\n\n"
    )
}

async fn status_of(http: &reqwest::Client, url: String) -> StatusCode {
    http.get(url).send().await.expect("request").status()
}

/// One HTTP/1.1 keep-alive connection, read by hand: a dropped connection fails the next call.
struct KeptAlive {
    sock: TcpStream,
}

impl KeptAlive {
    async fn get(&mut self, path: &str) -> u16 {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        self.sock.write_all(req.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let b = self.sock.read_u8().await.expect("connection kept open");
            head.push(b);
        }
        let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
        assert!(!head.contains("connection: close"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap_or_else(|| panic!("no content-length: {head}"))
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0; len];
        self.sock.read_exact(&mut body).await.expect("body");
        head[9..12].parse().unwrap()
    }
}

/// Polls the status-port metric line starting with `line` until it reads `value`.
async fn wait_for_metric(http: &reqwest::Client, status: &str, line: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = http
            .get(format!("{status}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let now = page
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .map(str::trim);
        if now == Some(value) {
            return;
        }
        assert!(Instant::now() < deadline, "{line} is {now:?}, not {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sighup_reloads_the_routes_keeps_connections_and_refuses_a_broken_file() {
    let broker = spawn_app().await;
    let echo = spawn_echo();
    let upstream = format!("{echo}/backend");
    let dir = tempfile::tempdir().unwrap();
    let (path, log) = (dir.path().join("proxy.toml"), dir.path().join("proxy.log"));
    let listen = free_port();
    let write = |routes: &str| std::fs::write(&path, config_file(&broker, listen, routes)).unwrap();
    write(&echo_route("a", &upstream));
    let mut proxy = ProxyProcess::start(&path, &log);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    proxy.wait_until_healthy(&http, &log).await;
    let url = |p: &str| format!("{}{p}", proxy.public);
    let mut kept = KeptAlive {
        sock: TcpStream::connect(proxy.public.trim_start_matches("http://"))
            .await
            .unwrap(),
    };
    assert_eq!(status_of(&http, url("/a")).await, StatusCode::OK);
    assert_eq!(status_of(&http, url("/b")).await, StatusCode::NOT_FOUND);
    assert_eq!(kept.get("/a").await, 200);
    assert_eq!(kept.get("/b").await, 404);

    // A new route, announced by SIGHUP.
    write(&(echo_route("a", &upstream) + &echo_route("b", &upstream)));
    proxy.hangup();
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_of(&http, url("/b")).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "/b not routed 5 s after SIGHUP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_of(&http, url("/a")).await, StatusCode::OK);
    assert_eq!(
        kept.get("/b").await,
        200,
        "the old connection sees the new table"
    );
    assert_eq!(kept.get("/a").await, 200);
    let ok = "tessera_proxy_config_reloads_total{outcome=\"ok\"}";
    let refused = "tessera_proxy_config_reloads_total{outcome=\"refused\"}";
    wait_for_metric(&http, &proxy.status, ok, "1").await;

    // Broken files change nothing: an upstream that is not HTTP, then an unknown key.
    let broken = [
        echo_route("a", &upstream) + &echo_route("b", "ftp://x"),
        echo_route("a", &upstream) + &echo_route("b", &upstream) + "bogus = 1\n",
    ];
    for (n, file) in broken.iter().enumerate() {
        write(file);
        proxy.hangup();
        wait_for_metric(&http, &proxy.status, refused, &(n + 1).to_string()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for p in ["/a", "/b"] {
            assert_eq!(status_of(&http, url(p)).await, StatusCode::OK, "{p}");
            assert_eq!(kept.get(p).await, 200, "{p}");
        }
    }
    wait_for_metric(&http, &proxy.status, ok, "1").await;
    let exited = proxy.child.try_wait().unwrap();
    assert!(exited.is_none(), "the proxy exited: {exited:?}");
}

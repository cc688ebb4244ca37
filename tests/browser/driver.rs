//! chromedriver and the browser: each test starts its own chromedriver on a free port
//! ([`Chromedriver`], killed by its PID when dropped — and by the kernel should the test
//! thread die first: `PR_SET_PDEATHSIG`), and one headless Chromium session with its own
//! profile directory, always closed ([`in_chromium`]).

use std::future::Future;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::redis_server::free_port;

const MISSING: &str = "chromium and chromedriver must be installed \
                       (Debian: apt-get install chromium chromium-driver; .ci/run does it)";

/// A running chromedriver, killed (by PID) when dropped.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits (up to 20 s) until it listens.
    pub fn start() -> Chromedriver {
        let port = free_port();
        let mut cmd = Command::new("chromedriver");
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it asks the
        // kernel to kill chromedriver if the spawning (test) thread ends before the guard.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver: {e}. {MISSING}"));
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A headless Chromium session with the profile directory `profile`.
    pub async fn browser(&self, profile: &tempfile::TempDir) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "args": args, "binary": chromium() },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session: {e}. {MISSING}"))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `test` with a headless Chromium session of its own (chromedriver, a fresh profile),
/// then closes the session and stops chromedriver, also when `test` panics: a failing test
/// leaves `target/screenshots/{failure}.png` and its panic is passed on.
pub async fn in_chromium<F, Fut>(failure: &str, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let _ = std::fs::remove_file(screenshots().join(format!("{failure}.png")));
    let driver = Chromedriver::start();
    let profile = tempfile::tempdir().expect("a profile directory");
    let c = driver.browser(&profile).await;
    let outcome = std::panic::AssertUnwindSafe(test(c.clone()))
        .catch_unwind()
        .await;
    if outcome.is_err() {
        shot(&c, failure).await;
    }
    let _ = c.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Debian's Chromium binary.
fn chromium() -> String {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("no /usr/bin/chromium. {MISSING}")
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

/// Saves the page as `target/screenshots/{name}.png`.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("saved");
}

/// Saves the element `css` matches as `target/screenshots/{name}.png`.
pub async fn shot_of(c: &Client, css: &str, name: &str) {
    let png = find(c, css).await.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("saved");
}

/// Waits (up to 10 s) until `css` matches an element, and returns it.
pub async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// The text of the element `css` matches.
pub async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.unwrap()
}

/// The text of the element `css` matches, once it is not empty (up to 15 s).
pub async fn text_when_written(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = text(c, css).await;
        if !text.is_empty() {
            return text;
        }
        let at = c.current_url().await.map(String::from).unwrap_or_default();
        assert!(Instant::now() < deadline, "{css} still empty on {at}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

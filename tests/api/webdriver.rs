//! A headless Chromium driven over the W3C WebDriver protocol (chromedriver), for the tests that
//! need a real browser's CORS, cookies and redirects (`spa_browser.rs`). The protocol is a few
//! JSON calls; they are spoken here with reqwest rather than through a WebDriver crate, whose
//! TLS stack would add an aws-lc build to the tests.
//!
//! `chromedriver` and `chromium` must be installed (`.ci/run` installs them when missing); the
//! tests fail, never skip, without them. The browser session and chromedriver are ended when the
//! [`Browser`] is dropped, also when a test fails.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: std::process::Child,
    port: u16,
    base: String,
    http: reqwest::Client,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver is required for this test ({e})"));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut b = Browser {
            driver,
            port,
            base: String::new(),
            http: reqwest::Client::new(),
            profile,
        };
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(b.http.get(&status).send().await, Ok(r) if r.status().is_success()) {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut options = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions",
            format!("--user-data-dir={}", b.profile.path().display()),
        ]});
        if let Ok(bin) = std::env::var("CHROME_BIN") {
            options["binary"] = json!(bin);
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}});
        let url = format!("http://127.0.0.1:{port}/session");
        let res: Value = b
            .http
            .post(url)
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let id = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"));
        b.base = format!("http://127.0.0.1:{port}/session/{id}");
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("JSON");
        if res["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", res["value"]);
        }
        res["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/url", None).await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// The element `css` selects, waiting for it to appear (up to 10 s).
    pub async fn find(&self, css: &str) -> String {
        let body = json!({"using": "css selector", "value": css});
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let res = self
                .http
                .post(format!("{}/element", self.base))
                .json(&body)
                .send()
                .await;
            if let Ok(res) = res {
                let v: Value = res.json().await.unwrap_or_default();
                if let Some(id) = v["value"][ELEMENT].as_str() {
                    return id.to_string();
                }
            }
            let at = self.url().await;
            assert!(Instant::now() < deadline, "no {css} on {at}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        let path = format!("/element/{el}/value");
        self.call(reqwest::Method::POST, &path, Some(json!({ "text": text })))
            .await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        let path = format!("/element/{el}/click");
        self.call(reqwest::Method::POST, &path, Some(json!({})))
            .await;
    }

    /// The text of `css` once it is not empty (up to 15 s).
    pub async fn text_of(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let el = self.find(css).await;
            let text = self
                .call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
                .await;
            match text.as_str() {
                Some(t) if !t.is_empty() => return t.to_string(),
                _ => {}
            }
            let at = self.url().await;
            assert!(Instant::now() < deadline, "{css} still empty on {at}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    /// Ends the session (closing Chromium) with a blocking request, then stops chromedriver.
    fn drop(&mut self) {
        if let Some(path) = self
            .base
            .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
        {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let req = format!(
                    "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    self.port
                );
                let _ = s.write_all(req.as_bytes());
                let _ = std::io::Read::read(&mut s, &mut [0u8; 1024]);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

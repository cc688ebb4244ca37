//! Test helpers: start the real broker on port 0 against a real Redis, and talk to it over HTTP.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tessera_broker::config::BrokerConfig;
use tessera_broker::Application;

#[allow(unused_imports)]
pub use crate::redis_server::{shared_redis_url, RedisServer};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijkl";
pub const PEPPER: &str = "test-pepper-0123456789abcdefghijklmnopqrs";
pub const IAT: &str = "test-initial-access-token-0123456789abcdef";

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    /// The status listener (`/metrics`, `/healthz`, `/readyz`).
    pub status: String,
    pub http: reqwest::Client,
    pub prefix: String,
    pub redis_url: String,
}

/// A registered app with its first credential.
#[derive(Debug, Clone)]
pub struct Client {
    pub developer_id: String,
    pub app_id: String,
    pub id: String,
    pub secret: String,
}

/// A fresh P-256 key for the broker to sign id_tokens with: its PKCS#8 PEM (so a test can sign
/// broker-shaped tokens), and the file holding it (alive as long as the handle).
pub fn ec_signing_key() -> (String, tempfile::NamedTempFile) {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use std::io::Write;
    let pem = p256::SecretKey::random(&mut rand::rngs::OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap()
        .to_string();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pem.as_bytes()).unwrap();
    (pem, file)
}

/// `store.command_timeout_ms` and `store.connect_timeout_ms` of the tests' brokers and
/// proxies: generous, because a loaded 2-core machine can stall Redis or the test process for
/// over a second, and a shorter deadline then fails an unrelated test with a 503. Nothing a
/// passing run does waits for it: a stopped Redis refuses connections at once. Tests of what the
/// deadline bounds (a frozen subscription noticed within 250 ms + the command timeout) set a
/// short one themselves (`gateway::relay`, `introspection_cache::relayed_broker`).
pub const STORE_TIMEOUT_MS: u64 = 10_000;

/// Default test configuration on `redis_url`, with a key prefix of its own.
pub fn test_config(redis_url: &str) -> Value {
    json!({
        "server": {
            "listen": "127.0.0.1:0",
            "status_listen": "127.0.0.1:0",
            "issuer": "http://localhost",
            "workers": 1,
        },
        "store": {
            "url": redis_url,
            "prefix": format!("test:{}:", uuid::Uuid::new_v4().simple()),
            "command_timeout_ms": STORE_TIMEOUT_MS,
            "connect_timeout_ms": STORE_TIMEOUT_MS,
        },
        "admin": { "token": ADMIN_TOKEN },
        "security": { "pepper": PEPPER },
        "log": { "level": "warn" },
    })
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&shared_redis_url(), |_| {}).await
}

/// Starts the broker with the test configuration, changed by `tweak`, on `redis_url`.
pub async fn spawn_app_with(redis_url: &str, tweak: impl FnOnce(&mut Value)) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    spawn_app_on(listener, redis_url, tweak).await
}

/// As [`spawn_app_with`], on a listener the caller bound (so its port can be in the issuer).
pub async fn spawn_app_on(
    listener: std::net::TcpListener,
    redis_url: &str,
    tweak: impl FnOnce(&mut Value),
) -> TestApp {
    spawn_app_mounting(listener, redis_url, tweak, None).await
}

/// As [`spawn_app_on`], with `mount`'s routes added to the broker (as `tessera dev` adds the
/// development identity provider's).
pub async fn spawn_app_mounting(
    listener: std::net::TcpListener,
    redis_url: &str,
    tweak: impl FnOnce(&mut Value),
    mount: Option<tessera_broker::startup::Mount>,
) -> TestApp {
    let mut cfg = test_config(redis_url);
    tweak(&mut cfg);
    let prefix = cfg["store"]["prefix"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // `tweak` may have pointed the store elsewhere.
    let redis_url = cfg["store"]["url"]
        .as_str()
        .unwrap_or(redis_url)
        .to_string();
    let config = BrokerConfig::load(cfg, None).expect("valid test configuration");
    let app = Application::build_mounting(config, listener, mount).expect("broker starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let status = format!("http://127.0.0.1:{}", app.status_port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        status,
        // Like a browser: keeps cookies (the broker's login cookie binds a login to it).
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("http client"),
        prefix,
        redis_url,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The Prometheus text of the status listener.
    pub async fn metrics(&self) -> String {
        metrics_at(&self.http, &self.status).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_patch(&self, path: &str, body: Value) -> Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Revokes `c`'s app through the admin API, and asserts it was.
    pub async fn revoke_app(&self, c: &Client) {
        let path = format!("/admin/developers/{}/apps/{}", c.developer_id, c.app_id);
        let res = self.admin_patch(&path, json!({"status": "revoked"})).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    pub async fn admin_get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_delete(&self, path: &str) -> Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request")
    }

    pub async fn create_developer(&self) -> String {
        let email = format!("dev-{}@example.com", uuid::Uuid::new_v4().simple());
        let res = self
            .admin_post(
                "/admin/developers",
                json!({"email": email, "first_name": "Ada", "last_name": "Lovelace"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        json_of(res).await["id"].as_str().expect("id").to_string()
    }

    /// A developer and an app created with `app` as the JSON body (a `name` is added).
    pub async fn create_client(&self, mut app: Value) -> Client {
        let dev = self.create_developer().await;
        if app.get("name").is_none() {
            app["name"] = json!(format!("app-{}", uuid::Uuid::new_v4().simple()));
        }
        let res = self
            .admin_post(&format!("/admin/developers/{dev}/apps"), app)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body = json_of(res).await;
        let cred = &body["credentials"][0];
        Client {
            developer_id: dev,
            app_id: body["id"].as_str().expect("app id").to_string(),
            id: cred["client_id"].as_str().expect("client_id").to_string(),
            // A public app's credential has no secret.
            secret: cred["client_secret"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// An app allowed client_credentials with scopes `read write`.
    pub async fn default_client(&self) -> Client {
        self.create_client(json!({"scopes": ["read", "write"], "attributes": {"tier": "gold"}}))
            .await
    }

    /// POST a form with HTTP Basic client authentication.
    pub async fn post_form(&self, path: &str, c: &Client, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .basic_auth(&c.id, Some(&c.secret))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn token(&self, c: &Client, form: &[(&str, &str)]) -> Response {
        self.post_form("/token", c, form).await
    }

    /// A client_credentials access token for `c` (asserting success).
    pub async fn access_token(&self, c: &Client) -> String {
        let res = self.token(c, &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.status(), StatusCode::OK);
        json_of(res).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn introspect(&self, c: &Client, token: &str) -> Value {
        let res = self.post_form("/introspect", c, &[("token", token)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        json_of(res).await
    }

    pub async fn is_active(&self, c: &Client, token: &str) -> bool {
        self.introspect(c, token).await["active"] == json!(true)
    }

    /// A store on this app's Redis and key prefix: what the broker reads, written from outside
    /// (as the proxy's analytics emitter does).
    pub fn store(&self) -> std::sync::Arc<dyn tessera_shared::store::Store> {
        tessera_shared::store::open(&tessera_shared::config::StoreConfig {
            url: self.redis_url.clone(),
            prefix: self.prefix.clone(),
            command_timeout_ms: STORE_TIMEOUT_MS,
            connect_timeout_ms: STORE_TIMEOUT_MS,
            ..Default::default()
        })
        .expect("store on the app's Redis")
    }

    /// A raw connection to this app's Redis, for checking what is (and is not) stored.
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        crate::redis_server::connect(&self.redis_url)
            .await
            .expect("redis connection")
    }
}

impl TestApp {
    /// Every key under this app's prefix with its value as text (strings; hash fields and
    /// values, set members and list items joined by newlines), sorted by key: what an attacker
    /// with a dump of Redis would see.
    pub async fn stored(&self) -> Vec<(String, String)> {
        let mut c = self.redis().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut c)
            .await
            .unwrap();
        let mut out = Vec::new();
        for k in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&k)
                .query_async(&mut c)
                .await
                .unwrap();
            let parts: Vec<String> = match kind.as_str() {
                "string" => {
                    let v: Option<String> =
                        redis::cmd("GET").arg(&k).query_async(&mut c).await.unwrap();
                    // None: expired since `TYPE` (a rate limiter's key lives milliseconds).
                    let Some(v) = v else { continue };
                    vec![v]
                }
                "hash" => redis::cmd("HGETALL")
                    .arg(&k)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                "set" => redis::cmd("SMEMBERS")
                    .arg(&k)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                "list" => redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
                _ => vec![format!("<{kind}>")],
            };
            out.push((k, parts.join("\n")));
        }
        out.sort();
        out
    }
}

impl TestApp {
    /// [`TestApp::stored`] without the rate limiters' counters (`rl:`, `bo:`, `quota:` keys:
    /// fixed-size numbers, one per limiter and subject, that expire): the records a request
    /// stored on behalf of its caller.
    pub async fn stored_records(&self) -> Vec<(String, String)> {
        let counters = ["rl:", "bo:", "quota:"].map(|k| format!("{}{k}", self.prefix));
        let mut all = self.stored().await;
        all.retain(|(k, _)| !counters.iter().any(|c| k.starts_with(c.as_str())));
        all
    }
}

/// The Prometheus text of the status listener at `status` (broker's or proxy's).
pub async fn metrics_at(http: &reqwest::Client, status: &str) -> String {
    http.get(format!("{status}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The whole seconds of an answer's `Retry-After` (RFC 9110 §10.2.3, the delay form).
pub fn retry_after(res: &Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn json_of(res: Response) -> Value {
    res.json().await.expect("JSON body")
}

/// Asserts an RFC 6749 §5.2 error response: status and `error` code.
pub async fn assert_oauth_error(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    let body = json_of(res).await;
    assert_eq!(body["error"], json!(code), "body: {body}");
    assert!(body["error_description"].is_string());
    body
}

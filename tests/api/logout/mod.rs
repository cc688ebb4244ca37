//! Upstream logout reaches every token: OpenID Connect Back-Channel Logout 1.0 from the
//! development identity provider (standing in for Okta) to the broker, down to the proxy's
//! cache; and what the broker refuses as a logout token.

mod backchannel;
mod bad_tokens;
mod old_hint;
mod registration;
mod rp_initiated;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::gateway::{echoed, route, spawn_echo, spawn_proxy, TestProxy};
use crate::helpers::*;
use crate::world::*;

/// Where the app wants its users after logging out (registered for the app).
pub const APP_LOGGED_OUT: &str = "http://127.0.0.1:9/app/logged-out";

/// A deployment with alice logged in: the broker and the dev IdP (which knows the broker's
/// back-channel logout URI), a code-flow app, the proxy in front of the echo backend.
pub struct Scene {
    pub w: World,
    pub c: Client,
    pub proxy: TestProxy,
}

pub async fn scene() -> Scene {
    scene_with(|_| {}).await
}

/// As [`scene`], the broker's configuration changed by `tweak` first.
pub async fn scene_with(tweak: impl FnOnce(&mut Value)) -> Scene {
    let w = spawn_world_with(tweak).await;
    let c = code_client(&w, json!({"post_logout_redirect_uris": [APP_LOGGED_OUT]})).await;
    let echo = spawn_echo();
    let proxy = spawn_proxy(
        &w.app,
        json!([route("orders", "/orders", &echo, json!({}))]),
    )
    .await;
    Scene { w, c, proxy }
}

impl Scene {
    /// Alice logs in through the app (a new session at the dev IdP) and the proxy lets her
    /// access token through: her token response.
    pub async fn alice_logs_in(&self) -> Value {
        let tokens = alice_tokens(&self.w, &self.c, "read").await;
        echoed(self.proxy.get("/orders", &access(&tokens)).await).await;
        tokens
    }

    /// POSTs `logout_token` to the broker's back-channel logout endpoint, as the upstream does.
    pub async fn send_logout_token(&self, logout_token: &str) -> reqwest::Response {
        self.w
            .app
            .http
            .post(self.w.app.url("/backchannel_logout"))
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .unwrap()
    }

    /// Whether `tokens` still work: introspection and a refresh (which rotates them: the
    /// fresh pair is returned when it worked).
    pub async fn refresh(&self, tokens: &Value) -> Option<Value> {
        let rt = tokens["refresh_token"].as_str().unwrap();
        let res = self
            .w
            .app
            .token(
                &self.c,
                &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            )
            .await;
        match res.status() {
            StatusCode::OK => Some(json_of(res).await),
            _ => {
                assert_oauth_error(res, 400, "invalid_grant").await;
                None
            }
        }
    }

    /// The upstream login index in Redis: `ulog:` keys and their members (family ids, or
    /// the "ended" marker), sorted and joined by newlines.
    pub async fn login_index(&self) -> Vec<(String, String)> {
        let mut c = self.w.app.redis().await;
        let pattern = format!("{}ulog:*", self.w.app.prefix);
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut c)
            .await
            .unwrap();
        let mut out = Vec::new();
        for k in keys {
            let mut members: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&k)
                .query_async(&mut c)
                .await
                .unwrap();
            members.sort();
            out.push((k, members.join("\n")));
        }
        out.sort();
        out
    }

    /// The stored family hash of `family` (its fields and values joined by newlines).
    pub async fn family(&self, family: &str) -> Option<String> {
        let mut c = self.w.app.redis().await;
        let key = format!("{}fam:{{{family}}}", self.w.app.prefix);
        let fields: Vec<String> = redis::cmd("HGETALL")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        (!fields.is_empty()).then(|| fields.join("\n"))
    }
}

pub fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_string()
}

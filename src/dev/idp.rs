//! The development identity provider as the broker's upstream, mounted on the broker's own
//! listener under `{issuer}/dev-idp` ([`tessera_devidp::Mounted`]): for `tessera dev`, and for
//! `tessera broker --dev-idp` (benchmarks of the user grants without an Okta). The broker does
//! not know it is there: its `[upstream]` names the provider like any other.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use tessera_broker::config::BrokerConfig;
use tessera_devidp::Mounted;

/// Just `server.issuer`, read through the same layers as the whole configuration.
#[derive(Debug, Default, Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    server: ServerIssuer,
}

#[derive(Debug, Default, Deserialize)]
struct ServerIssuer {
    #[serde(default)]
    issuer: String,
}

/// The broker's configuration (`defaults`, the file, the environment) with the provider as its
/// upstream: the provider is made for the broker's issuer as the layers set it, and its
/// `issuer`, `client_id` and `client_secret` go under the file's `[upstream]` (the other members
/// of `defaults`' `[upstream]` are kept). A file naming another upstream still wins.
pub fn with_dev_idp(
    mut defaults: serde_json::Value,
    file: Option<&Path>,
) -> anyhow::Result<(BrokerConfig, Mounted)> {
    let layers: IssuerOnly = tessera_shared::config::load(defaults.clone(), file, &["server"])?;
    let issuer = layers.server.issuer.trim_end_matches('/');
    let idp = Mounted::demo(issuer)
        .context("mounting the development identity provider (server.issuer is required)")?;
    let mut upstream = idp.upstream();
    if let (Some(up), Some(own)) = (
        upstream.as_object_mut(),
        defaults.get("upstream").and_then(|u| u.as_object()),
    ) {
        for (k, v) in own {
            up.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    defaults["upstream"] = upstream;
    Ok((BrokerConfig::load(defaults, file)?, idp))
}

/// Says loudly that the provider is mounted (after telemetry is set up).
pub fn warn(idp: &Mounted) {
    tracing::warn!(
        issuer = idp.idp().issuer(),
        "DEVELOPMENT IDENTITY PROVIDER mounted as the upstream: demo users log in with demo \
         passwords. Never use this in production."
    );
}

//! The claim mapping: which upstream claims become token attributes, and under which names
//! (`[upstream.claims]`, e.g. `DealershipLocation = "dealership"`).

use std::collections::BTreeMap;

use crate::config::UpstreamConfig;

/// Picks and renames the configured claims; claims not configured are dropped.
pub fn map(
    cfg: &UpstreamConfig,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    cfg.claims
        .iter()
        .filter_map(|(from, to)| claims.get(from).map(|v| (to.clone(), v.clone())))
        .collect()
}

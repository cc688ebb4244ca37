//! Where the revocation subscription connects.
//!
//! One Redis: that server. A Redis Cluster: any one node, master or replica — announcements are
//! published with the cluster-wide `PUBLISH` (from inside the scripts that revoke, whichever
//! slot they run on), which Redis Cluster forwards over the cluster bus to every node, so one
//! subscription hears every revocation. Sharded pub/sub (`SPUBLISH`) would need one
//! subscription per shard and a channel in the revoked key's slot; it was measured against
//! this and not chosen (docs/scaling.md, "Revocations on a cluster").
//!
//! The node is picked at random among those the cluster reports healthy (so proxies spread
//! over the nodes), falling back to the seed nodes; the subscription itself is watched
//! ([`crate::store::subscription`]): when its node dies or stops answering pings, the stream
//! ends, the subscriber flushes, and the next subscription goes to another node.

use std::time::Duration;

use redis::aio::PubSub;
use redis::{ConnectionAddr, ConnectionInfo, TlsCertificates};

use super::conn::Origin;
use super::RedisStore;
use crate::error::StoreError;
use crate::store::subscription;

impl RedisStore {
    /// A pub/sub connection to the deployment (not yet subscribed).
    pub(super) async fn pubsub(&self) -> Result<PubSub, StoreError> {
        match &self.origin {
            Origin::Single(client) => connect(client, self.connect_timeout).await,
            Origin::Cluster { seeds, certs } => {
                let Some(seed) = seeds.first() else {
                    return Err(StoreError::Unavailable("no cluster seed node".into()));
                };
                let mut c = self.conn.clone();
                let nodes = c.cluster_nodes().await.ok().flatten().unwrap_or_default();
                let mut found = healthy_nodes(&nodes);
                let start = random_index(found.len());
                found.rotate_left(start);
                let addrs = found
                    .into_iter()
                    .map(|(host, port)| like_seed(seed.addr(), host, port))
                    .chain(seeds.iter().map(|s| s.addr().clone()));
                let mut last = StoreError::Unavailable("no cluster node to subscribe to".into());
                for addr in addrs {
                    let client = node_client(seed.clone().set_addr(addr), certs)?;
                    match connect(&client, self.connect_timeout).await {
                        Ok(p) => return Ok(p),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }
}

async fn connect(client: &redis::Client, timeout: Duration) -> Result<PubSub, StoreError> {
    tokio::time::timeout(timeout, client.get_async_pubsub())
        .await
        .map_err(|_| StoreError::Unavailable("pub/sub connection timed out".into()))?
        .map_err(StoreError::from)
}

/// A client for one node, with the seeds' credentials, TCP settings and TLS.
fn node_client(
    info: ConnectionInfo,
    certs: &Option<TlsCertificates>,
) -> Result<redis::Client, StoreError> {
    let info = info.set_tcp_settings(subscription::tcp_settings());
    Ok(match certs {
        Some(certs) => redis::Client::build_with_tls(info, certs.clone())?,
        None => redis::Client::open(info)?,
    })
}

/// `host:port` in the seed's kind of address (plain TCP or TLS).
fn like_seed(seed: &ConnectionAddr, host: String, port: u16) -> ConnectionAddr {
    match seed {
        ConnectionAddr::TcpTls { .. } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        },
        _ => ConnectionAddr::Tcp(host, port),
    }
}

/// The nodes of a `CLUSTER NODES` answer that are connected and not failing, as host and port.
pub fn healthy_nodes(nodes: &str) -> Vec<(String, u16)> {
    nodes
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, flags, link) = (f.get(1)?, f.get(2)?, f.get(7)?);
            let bad = ["fail", "fail?", "handshake", "noaddr"];
            if *link != "connected" || flags.split(',').any(|fl| bad.contains(&fl)) {
                return None;
            }
            // `ip:port@cport[,hostname]`; an IPv6 address holds colons itself.
            let (host, port) = addr.split('@').next()?.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            (!host.is_empty()).then(|| Some((host.to_string(), port.parse().ok()?)))?
        })
        .collect()
}

fn random_index(len: usize) -> usize {
    let mut b = [0u8; 4];
    match (len, getrandom::fill(&mut b)) {
        (0, _) | (_, Err(_)) => 0,
        _ => u32::from_le_bytes(b) as usize % len,
    }
}

#[cfg(test)]
mod tests {
    use super::healthy_nodes;

    #[test]
    fn only_connected_healthy_nodes_are_candidates() {
        let nodes = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master,fail - 0 0 2 disconnected 5461-10922
c3 127.0.0.1:7002@17002 slave a1 0 0 3 connected
d4 :0@0 master,noaddr - 0 0 4 disconnected
e5 ::1:7004@17004,node-e slave a1 0 0 5 connected
";
        assert_eq!(
            healthy_nodes(nodes),
            vec![
                ("127.0.0.1".to_string(), 7000),
                ("127.0.0.1".to_string(), 7002),
                ("::1".to_string(), 7004),
            ]
        );
    }
}

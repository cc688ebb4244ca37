//! The command connection to Redis, whichever deployment the configuration names: one
//! self-reconnecting multiplexed connection to a single server ([`ConnectionManager`]), or the
//! redis crate's cluster client ([`ClusterConnection`]: one multiplexed connection per node,
//! routing by hash slot, following MOVED/ASK redirects and refreshing the topology when it
//! changes). Both speak TLS (rustls) when the URLs are `rediss://`.
//!
//! Every store method works on a clone of [`Conn`], which is cheap (a handle), and the few
//! commands that mean something else on a cluster (`INFO`, readiness) are routed here. On a
//! single server, a command sent from a worker's own runtime goes on that worker's own
//! connection ([`per_thread`]: no cross-thread hop per command).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, TlsCertificates, Value};

use crate::config::{StoreConfig, StoreTarget};
use crate::error::StoreError;
use crate::store::subscription;

use super::per_thread::{self, Single};

/// The command connection.
#[derive(Clone)]
pub enum Conn {
    Single(Single),
    Cluster(ClusterConnection),
}

/// How [`Conn`] was made: what the revocation subscription needs to open connections of its
/// own to the same deployment.
#[derive(Clone)]
pub enum Origin {
    Single(redis::Client),
    Cluster {
        /// The seed nodes, parsed (their credentials and TLS mode are every node's).
        seeds: Vec<redis::ConnectionInfo>,
        certs: Option<TlsCertificates>,
    },
}

/// Opens the command connection the configuration names, lazily: nothing is connected until
/// the first command, so a service starts (not ready) while Redis is down, and heals later.
pub fn open(cfg: &StoreConfig) -> Result<(Conn, Origin), StoreError> {
    let certs = cfg
        .tls_certificates()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let connect = Duration::from_millis(cfg.connect_timeout_ms);
    let response = Duration::from_millis(cfg.command_timeout_ms);
    match cfg.target() {
        StoreTarget::Single(url) => {
            let info = url
                .into_connection_info()?
                .set_tcp_settings(subscription::tcp_settings());
            let client = match certs {
                Some(certs) => redis::Client::build_with_tls(info, certs)?,
                None => redis::Client::open(info)?,
            };
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(connect))
                .set_response_timeout(Some(response))
                // Reconnection is retried in the background; requests made meanwhile fail fast.
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            let conn = per_thread::Single::new(client.clone(), config)?;
            Ok((Conn::Single(conn), Origin::Single(client)))
        }
        StoreTarget::Cluster(nodes) => {
            let seeds = nodes
                .iter()
                .map(|n| n.as_str().into_connection_info())
                .collect::<Result<Vec<_>, _>>()?;
            let mut builder = ClusterClientBuilder::new(seeds.clone())
                .connection_timeout(connect)
                .response_timeout(response)
                // The whole request, redirects and retries included, ends with the command
                // timeout: a slot whose master is down answers 503 in time, not late.
                .overall_response_timeout(Some(response))
                .tcp_settings(subscription::tcp_settings())
                .retries(4)
                .min_retry_wait(20)
                .max_retry_wait(200);
            if let Some(certs) = certs.clone() {
                builder = builder.certs(certs);
            }
            let client: ClusterClient = builder.build()?;
            let config = ClusterConfig::new()
                .set_connection_timeout(connect)
                .set_response_timeout(response);
            let conn = client.get_pending_async_connection_with_config(config);
            Ok((Conn::Cluster(conn), Origin::Cluster { seeds, certs }))
        }
        StoreTarget::Memory | StoreTarget::None => Err(StoreError::Unavailable(
            "the Redis store needs store.url or store.cluster_nodes".into(),
        )),
    }
}

impl Conn {
    /// `INFO <section>` of every master: one node's text on a single server.
    pub async fn info_of_masters(&mut self, section: &str) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("INFO");
        cmd.arg(section);
        match self {
            Conn::Single(c) => Ok(vec![cmd.query_async(c.conn()).await?]),
            Conn::Cluster(c) => {
                let all = RoutingInfo::MultiNode((
                    MultipleNodeRoutingInfo::AllMasters,
                    Some(ResponsePolicy::Special),
                ));
                let by_node = c.route_command(cmd, all).await?;
                Ok(match by_node {
                    Value::Map(pairs) => pairs
                        .into_iter()
                        .filter_map(|(_, v)| redis::from_redis_value::<String>(v).ok())
                        .collect(),
                    other => vec![redis::from_redis_value(other).map_err(redis::RedisError::from)?],
                })
            }
        }
    }

    /// `CLUSTER NODES` as one node sees it (`None` on a single server).
    pub async fn cluster_nodes(&mut self) -> Result<Option<String>, StoreError> {
        match self {
            Conn::Single(_) => Ok(None),
            Conn::Cluster(c) => Ok(Some(
                redis::cmd("CLUSTER").arg("NODES").query_async(c).await?,
            )),
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.conn().req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.conn().req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.shared().get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

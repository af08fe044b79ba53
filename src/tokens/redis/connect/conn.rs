//! One handle over the two kinds of connection: a multiplexed connection
//! to a single node (a server, or the primary a Sentinel named) and a
//! cluster connection that routes each command by its keys' slot.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value};

/// A cheap-to-clone connection: every clone shares the same socket(s).
#[derive(Clone)]
pub enum RedisConn {
    /// One server.
    Node(MultiplexedConnection),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

/// A node that holds a share of the keys (for SCAN, which walks one node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Primary {
    /// The only node of a non-cluster deployment.
    Only,
    /// A cluster primary at this address.
    At {
        /// Its host as the cluster announces it.
        host: String,
        /// Its port.
        port: u16,
    },
}

// === impl RedisConn ===

impl RedisConn {
    /// The nodes that together hold every key: the one node, or each
    /// cluster primary (from `CLUSTER SLOTS`).
    pub async fn primaries(&mut self) -> RedisResult<Vec<Primary>> {
        let RedisConn::Cluster(c) = self else {
            return Ok(vec![Primary::Only]);
        };
        let slots = c
            .route_command(
                &redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?;
        let mut primaries = Vec::new();
        for range in array(slots) {
            // [start, end, [host, port, id, …], replicas…]
            let Some(primary) = array(range).into_iter().nth(2) else {
                continue;
            };
            let mut node = array(primary).into_iter();
            let (Some(host), Some(port)) = (node.next(), node.next()) else {
                continue;
            };
            let (Ok(host), Ok(port)) = (
                String::from_redis_value(&host),
                u16::from_redis_value(&port),
            ) else {
                continue;
            };
            let at = Primary::At { host, port };
            if !primaries.contains(&at) {
                primaries.push(at);
            }
        }
        Ok(primaries)
    }

    /// Runs `cmd` on `node` (a command without keys, such as SCAN).
    pub async fn query_on<T: FromRedisValue>(
        &mut self,
        node: &Primary,
        cmd: &Cmd,
    ) -> RedisResult<T> {
        match (self, node) {
            (RedisConn::Cluster(c), Primary::At { host, port }) => {
                let routing = SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                };
                let value = c
                    .route_command(cmd, RoutingInfo::SingleNode(routing))
                    .await?;
                T::from_redis_value(&value)
            }
            (conn, _) => cmd.query_async(conn).await,
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Node(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Node(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Node(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// The items of an array reply (RESP2 or RESP3), nothing for any other.
fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        _ => Vec::new(),
    }
}

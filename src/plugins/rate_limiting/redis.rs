//! The `redis` policy: counters in Redis, shared by every replica, with
//! Kong's keys' lifetimes and Kong's two modes. With `sync_rate` -1 every
//! request increments each window's key (`INCR`, expiring with the window)
//! and reads the count before it. Otherwise the first request of a window
//! reads Redis the same way and later ones count locally; the local
//! increments are written in one pipeline `sync_rate` seconds later, and the
//! next request after a write reads Redis again.

mod connect;
mod count;

use super::sharded::{Expiring, Sharded};
use super::window::Now;
use super::{Usage, Used};
use crate::model::plugin::rate_limiting::{Period, RateLimitingConfig, RedisConfig};
use crate::tokens::redis::connect::RedisConn;
use parking_lot::RwLock;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

/// Adds a batch of local increments; a key created here expires when its
/// window ends (Kong's sync script).
const SYNC_SCRIPT: &str = r#"
local key, value, expiration = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local exists = redis.call("exists", key)
redis.call("incrby", key, value)
if not exists or exists == 0 then
  redis.call("expireat", key, expiration)
end
"#;

/// Servers a thread remembers by their whole record, so that a request
/// finds its connection without building the record's URL.
const REMEMBERED: usize = 8;

/// Batched keys kept at most per Redis server.
const BATCH_CAPACITY: usize = 1 << 18;

/// Why Redis could not answer; never carries the password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisError {
    /// Connecting or a command failed.
    #[error("redis: {0}")]
    Failed(String),
}

/// Every Redis server the `redis` instances of this process use.
pub(crate) struct RedisCounters {
    servers: RwLock<HashMap<String, Arc<Server>>>,
}

/// One server (host, port, database, user): its connection and the local
/// counts of the batched mode.
struct Server {
    link: connect::Link,
    /// How this server counts ([`count::Counting`]), or unknown until asked.
    counting: AtomicU8,
    batch: Sharded<Cached>,
    /// A write of the batch is scheduled.
    pending: AtomicBool,
}

/// Kong's `cur_usage`/`cur_delta` for one key.
struct Cached {
    /// The count Redis had when this process last read it.
    usage: i64,
    /// Counted here since, not yet written.
    delta: i64,
    /// When the key's window ends (seconds since the epoch).
    expire_at: u64,
}

impl Expiring for Cached {
    fn expired(&self, now: u64) -> bool {
        now >= self.expire_at
    }
}

// === impl RedisCounters ===

impl RedisCounters {
    /// No servers yet; each is connected on first use.
    pub(crate) fn new() -> Self {
        Self {
            servers: RwLock::new(HashMap::new()),
        }
    }

    /// Counts a request under `key` (the instance and identifier) and
    /// answers the usage before it.
    pub(crate) async fn hit(
        &self,
        config: &RateLimitingConfig,
        key: &str,
        now: &Now,
    ) -> Result<Usage, RedisError> {
        let server = self.server(&config.redis);
        if config.realtime() {
            let keys: Vec<_> = config
                .limits
                .iter()
                .map(|&(p, _)| (p, redis_key(key, now, p)))
                .collect();
            let before = server.incr(&keys).await?;
            let used = config
                .limits
                .iter()
                .zip(before)
                .map(|(&(period, limit), b)| Used {
                    period,
                    limit,
                    before: b as f64,
                })
                .collect();
            return Ok(Usage::new(used));
        }
        server.batched(config, key, now).await
    }

    fn server(&self, redis: &RedisConfig) -> Arc<Server> {
        thread_local! {
            static NEAR: RefCell<Vec<(RedisConfig, Arc<Server>)>> = const { RefCell::new(Vec::new()) };
        }
        let near = NEAR.with_borrow(|near| {
            near.iter()
                .find(|(config, _)| config == redis)
                .map(|(_, server)| server.clone())
        });
        if let Some(server) = near {
            return server;
        }
        let server = self.shared_server(redis);
        NEAR.with_borrow_mut(|near| {
            if near.len() >= REMEMBERED {
                near.clear();
            }
            near.push((redis.clone(), server.clone()));
        });
        server
    }

    fn shared_server(&self, redis: &RedisConfig) -> Arc<Server> {
        // The whole record (password included) keys the server: instances
        // differing in any part get their own connection. Never logged.
        let id = connect::url(redis);
        if let Some(server) = self.servers.read().get(&id) {
            return server.clone();
        }
        self.servers
            .write()
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Server {
                    link: connect::Link::new(redis),
                    counting: AtomicU8::new(count::UNKNOWN),
                    batch: Sharded::new(BATCH_CAPACITY),
                    pending: AtomicBool::new(false),
                })
            })
            .clone()
    }
}

// === impl Server ===

impl Server {
    /// The batched mode (`sync_rate` ≥ 0.02).
    async fn batched(
        self: &Arc<Self>,
        config: &RateLimitingConfig,
        key: &str,
        now: &Now,
    ) -> Result<Usage, RedisError> {
        let secs = now.ms / 1000;
        let keys: Vec<_> = config
            .limits
            .iter()
            .map(|&(p, _)| (p, redis_key(key, now, p)))
            .collect();
        let cached = |k: &str| self.batch.with(k, secs, Cached::missing, |c| c.count());
        let mut counts: Vec<Option<i64>> = keys.iter().map(|(_, k)| cached(k)).collect();
        // Keys read (and so incremented) in Redis by this request.
        let read_now: Vec<bool> = counts.iter().map(Option::is_none).collect();
        let missing: Vec<_> = keys
            .iter()
            .zip(&read_now)
            .filter(|(_, read)| **read)
            .map(|(k, _)| k.clone())
            .collect();
        if !missing.is_empty() {
            let mut read = self.incr(&missing).await?.into_iter();
            for ((period, k), count) in keys.iter().zip(counts.iter_mut()) {
                if count.is_some() {
                    continue;
                }
                let Some(before) = read.next() else {
                    break;
                };
                let expire_at = now.expires(*period);
                // Redis already holds this request. (Kong stores the count
                // before it with a delta of -1, so until the next sync its
                // local view is one request short.)
                self.batch.with(k, secs, Cached::missing, |c| {
                    if c.expire_at == 0 {
                        *c = Cached {
                            usage: before + 1,
                            delta: 0,
                            expire_at,
                        };
                    } else {
                        // Another request read it first; ours is in Redis too.
                        c.usage += 1;
                    }
                });
                *count = Some(before);
            }
        }
        let used = config
            .limits
            .iter()
            .zip(&counts)
            .map(|(&(period, limit), c)| Used {
                period,
                limit,
                before: c.unwrap_or_default() as f64,
            })
            .collect();
        let usage = Usage::new(used);
        if usage.stop.is_none() {
            let mut counted = false;
            for ((_, k), read) in keys.iter().zip(&read_now) {
                if !read {
                    self.batch.with(k, secs, Cached::missing, |c| c.delta += 1);
                    counted = true;
                }
            }
            if counted {
                self.schedule(config);
            }
        }
        Ok(usage)
    }

    /// Writes the batch `sync_rate` seconds from now, unless a write is
    /// already scheduled (it will carry these counts too).
    fn schedule(self: &Arc<Self>, config: &RateLimitingConfig) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let server = self.clone();
        let delay = Duration::from_secs_f64(config.sync_rate.max(0.0));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // Cleared before draining: a count added after the drain
            // schedules the next write.
            server.pending.store(false, Ordering::Release);
            if let Err(e) = server.flush().await {
                tracing::error!(error = %e, "rate-limiting: failed to sync counters to redis");
            }
        });
    }

    /// Writes every local count and forgets the cache, so the next request
    /// reads Redis again (Kong clears its tables after a sync, failed or not).
    async fn flush(&self) -> Result<(), RedisError> {
        let mut pipe = ::redis::pipe();
        let mut any = false;
        for (key, cached) in self.batch.drain() {
            if cached.delta == 0 || cached.expire_at == 0 {
                continue;
            }
            any = true;
            pipe.cmd("EVAL")
                .arg(SYNC_SCRIPT)
                .arg(1)
                .arg(&*key)
                .arg(cached.delta)
                .arg(cached.expire_at)
                .ignore();
        }
        if !any {
            return Ok(());
        }
        self.run(|mut c| async move { pipe.query_async::<()>(&mut c).await })
            .await
    }

    /// Runs one operation on the server's connection.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisError>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, ::redis::RedisError>>,
    {
        self.link.run(op).await
    }
}

// === impl Cached ===

impl Cached {
    /// A placeholder for a key not read from Redis yet (`expire_at` 0).
    fn missing() -> Self {
        Self {
            usage: 0,
            delta: 0,
            expire_at: 0,
        }
    }

    /// Kong's local usage: what Redis had plus what was counted here.
    fn count(&self) -> Option<i64> {
        (self.expire_at != 0).then_some(self.usage + self.delta)
    }
}

/// Kong's key layout, `ratelimit:<scope>:<identifier>:<period_date>:<period>`,
/// with the plugin instance's id as the scope (Kong uses its route and
/// service ids).
fn redis_key(key: &str, now: &Now, period: Period) -> String {
    // Built by hand: every request of the synchronous mode builds one.
    use std::fmt::Write;
    let (start, name) = (now.start_ms(period), period.name());
    let mut out = String::with_capacity(key.len() + name.len() + 32);
    out.push_str("ratelimit:");
    out.push_str(key);
    out.push(':');
    let _ = write!(out, "{start}:");
    out.push_str(name);
    out
}

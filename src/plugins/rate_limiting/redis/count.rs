//! Counting one request in Redis: every window's key incremented and its
//! count before read in one round trip, a new key expiring with its window
//! (Kong's script, or its equivalent without Lua on Redis 7).

use super::{RedisError, Server};
use crate::model::plugin::rate_limiting::Period;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;

/// Increments a window's key and answers the count before the increment;
/// a new key expires with its window (Kong's script).
const INCR_SCRIPT: &str = r#"
local key, expiration = KEYS[1], ARGV[1]
local result = redis.call("incr", key)
if result == 1 then
  redis.call("expire", key, expiration)
end
return result - 1
"#;

/// Kong's increment script, sent by its SHA-1 (`EVALSHA`): Redis would
/// otherwise hash the whole script on every request.
static INCR: LazyLock<::redis::Script> = LazyLock::new(|| ::redis::Script::new(INCR_SCRIPT));

/// How a server counts a window: Redis 7 takes `EXPIRE … NX`, so `INCR`
/// and `EXPIRE NX` in one round trip do what Kong's script does, with
/// about a sixth less of the server's CPU per request (no Lua call);
/// older servers run Kong's script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counting {
    ExpireNx,
    Script,
}

impl Counting {
    /// What the probe's answer says: an answer is Redis 7, a refusal
    /// (`ERR` wrong number of arguments, `NOPERM`) an older or restricted
    /// server; anything else (no answer, `LOADING`, `READONLY`…) is not
    /// known yet.
    fn from_probe(answer: ::redis::RedisResult<i64>) -> ::redis::RedisResult<Self> {
        match answer {
            Ok(_) => Ok(Self::ExpireNx),
            Err(e)
                if e.kind() == ::redis::ErrorKind::ResponseError || e.code() == Some("NOPERM") =>
            {
                Ok(Self::Script)
            }
            Err(e) => Err(e),
        }
    }
}

/// [`Server::counting`]'s states.
pub(super) const UNKNOWN: u8 = 0;
const EXPIRE_NX: u8 = 1;
const SCRIPT: u8 = 2;

/// The key `EXPIRE NX` is tried on: no window's key (those carry four
/// more `:`-separated parts), and never created by the probe.
const PROBE_KEY: &str = "ratelimit:expire-nx-probe";

// === impl Server ===

impl Server {
    /// Counts a request in every window's key and answers each count
    /// before it, in one round trip.
    pub(super) async fn incr(&self, keys: &[(Period, String)]) -> Result<Vec<i64>, RedisError> {
        match self.counting().await? {
            Counting::ExpireNx => {
                let counted = self.incr_expire_nx(keys).await;
                if counted.is_err() {
                    // Perhaps a server replaced by an older one: ask again.
                    self.counting.store(UNKNOWN, Ordering::Relaxed);
                }
                counted
            }
            Counting::Script => self.incr_script(keys).await,
        }
    }

    /// How this server counts, asked once: `EXPIRE … NX` on a key no
    /// window uses answers 0 on Redis 7 and an error on older servers (or
    /// where an ACL refuses it).
    async fn counting(&self) -> Result<Counting, RedisError> {
        match self.counting.load(Ordering::Relaxed) {
            EXPIRE_NX => return Ok(Counting::ExpireNx),
            SCRIPT => return Ok(Counting::Script),
            _ => {}
        }
        let probe = self
            .run(|mut c| async move {
                let answer = ::redis::cmd("EXPIRE")
                    .arg(PROBE_KEY)
                    .arg(1)
                    .arg("NX")
                    .query_async::<i64>(&mut c)
                    .await;
                Counting::from_probe(answer)
            })
            .await?;
        let code = match probe {
            Counting::ExpireNx => EXPIRE_NX,
            Counting::Script => SCRIPT,
        };
        self.counting.store(code, Ordering::Relaxed);
        Ok(probe)
    }

    /// `INCR` and `EXPIRE NX` per key in one pipeline: what Kong's script
    /// does (a new key expires with its window), without starting Lua.
    async fn incr_expire_nx(&self, keys: &[(Period, String)]) -> Result<Vec<i64>, RedisError> {
        let mut pipe = ::redis::Pipeline::with_capacity(2 * keys.len());
        for (period, key) in keys {
            // Sized up front: a command's argument buffers would otherwise
            // grow several times on every request.
            let mut incr = ::redis::Cmd::with_capacity(2, 8 + key.len());
            incr.arg("INCR").arg(key);
            let mut expire = ::redis::Cmd::with_capacity(4, 24 + key.len());
            expire
                .arg("EXPIRE")
                .arg(key)
                .arg(period.seconds())
                .arg("NX");
            pipe.add_command(incr).add_command(expire).ignore();
        }
        let counts = self
            .run(|mut c| async move { pipe.query_async::<Vec<i64>>(&mut c).await })
            .await?;
        Ok(counts.into_iter().map(|count| count - 1).collect())
    }

    /// Kong's increment script on every key, by its hash; a server that
    /// does not know the script yet (new, restarted, or `SCRIPT FLUSH`ed)
    /// is given it and asked again.
    async fn incr_script(&self, keys: &[(Period, String)]) -> Result<Vec<i64>, RedisError> {
        // Sized up front: a command's argument buffers would otherwise
        // grow several times on every request.
        let command = |period: &Period, key: &String| {
            let mut cmd = ::redis::Cmd::with_capacity(5, 64 + key.len());
            cmd.arg("EVALSHA")
                .arg(INCR.get_hash())
                .arg(1)
                .arg(key)
                .arg(period.seconds());
            cmd
        };
        if let [(period, key)] = keys {
            // One window (the usual case): one command, no pipeline.
            let cmd = command(period, key);
            return self
                .run(|mut c| async move {
                    match cmd.query_async::<i64>(&mut c).await {
                        Err(e) if e.kind() == ::redis::ErrorKind::NoScriptError => {
                            INCR.load_async(&mut c).await?;
                            cmd.query_async::<i64>(&mut c).await
                        }
                        answered => answered,
                    }
                })
                .await
                .map(|count| vec![count]);
        }
        let mut pipe = ::redis::Pipeline::with_capacity(keys.len());
        for (period, key) in keys {
            pipe.add_command(command(period, key));
        }
        self.run(|mut c| async move {
            match pipe.query_async::<Vec<i64>>(&mut c).await {
                Err(e) if e.kind() == ::redis::ErrorKind::NoScriptError => {
                    INCR.load_async(&mut c).await?;
                    pipe.query_async::<Vec<i64>>(&mut c).await
                }
                answered => answered,
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::redis::{ErrorKind, RedisError};

    #[test]
    fn the_probe_answer_decides_how_a_server_counts() {
        assert_eq!(Counting::from_probe(Ok(0)).unwrap(), Counting::ExpireNx);
        // Redis 6's answer to a fourth argument, and an ACL's refusal.
        let older = RedisError::from((
            ErrorKind::ResponseError,
            "An error was signalled by the server",
            "wrong number of arguments for 'expire' command".to_string(),
        ));
        assert_eq!(Counting::from_probe(Err(older)).unwrap(), Counting::Script);
        let refused = ::redis::make_extension_error("NOPERM".into(), None);
        assert_eq!(
            Counting::from_probe(Err(refused)).unwrap(),
            Counting::Script
        );
        // No answer, or a server not ready: asked again next time.
        for transient in [
            RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            RedisError::from((ErrorKind::BusyLoadingError, "loading")),
            RedisError::from((ErrorKind::ReadOnly, "replica")),
        ] {
            assert!(Counting::from_probe(Err(transient)).is_err());
        }
    }
}

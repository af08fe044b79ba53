//! The Lua scripts that change token rows. Each runs atomically in Redis,
//! so every replica sees a row, its refresh index and its credential's
//! bookkeeping change together.
//!
//! Keys carry a Redis Cluster hash tag (see `super::key`): a row and its
//! refresh index are tagged by the first byte of the access token's hash,
//! a credential's sets by the first byte of the SHA-1 of its id
//! (`redis.sha1hex`, the one digest Redis's Lua has). In a cluster, tokens
//! are drawn so the two agree (`super::tag`), so every key a script touches
//! (its rows, their indexes, the credential's sets and the rows it evicts)
//! lives in one slot; elsewhere the tags are only names.
//!
//! Per credential (keys named by the credential id, which is no secret):
//! - `cred:<id>`: sorted set of the access-token hashes of its rows, scored
//!   by issue time (Redis `TIME`, microseconds: one clock for every
//!   replica), so the oldest is the first;
//! - `cred-expiry:<id>`: the same members scored by row deadline (`inf`
//!   for rows kept until deleted), so rows Redis has expired are forgotten
//!   before counting.
//!
//! Both sets expire with the last of their rows (`EXPIREAT` the largest
//! deadline, or no expiry while a row has none).
//!
//! Every script takes the key prefix as `ARGV[1]`.

use ::redis::Script;

/// Functions shared by the scripts.
const PRELUDE: &str = r"
-- Redis before 5 replicates scripts verbatim and refuses writes after
-- TIME unless told to replicate effects; from 7 on this is a no-op.
redis.replicate_commands()
local P = ARGV[1]
local function tagged(kind, hash)
  return P .. '{' .. string.sub(hash, 1, 2) .. '}:' .. kind .. ':' .. hash
end
local function put(k, v, deadline)
  if deadline ~= '0' then redis.call('SET', k, v, 'EXAT', deadline) else redis.call('SET', k, v) end
end
-- Deletes a row and its refresh index; returns the decoded row ({} when
-- it does not decode), or nil when there was no row.
local function drop_row(access_hash)
  local row_key = tagged('token', access_hash)
  local row = redis.call('GET', row_key)
  if not row then return nil end
  redis.call('DEL', row_key)
  local ok, t = pcall(cjson.decode, row)
  if not ok or type(t) ~= 'table' then return {} end
  if type(t.refresh_hash) == 'string' then
    local idx = tagged('refresh', t.refresh_hash)
    if redis.call('GET', idx) == access_hash then redis.call('DEL', idx) end
  end
  return t
end
local function sets(credential)
  local base = P .. '{' .. string.sub(redis.sha1hex(credential), 1, 2) .. '}:'
  return base .. 'cred:' .. credential, base .. 'cred-expiry:' .. credential
end
local function expire_with_rows(credential)
  local issued, expiry = sets(credential)
  local last = redis.call('ZRANGE', expiry, -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  if last[2] == 'inf' then
    redis.call('PERSIST', issued)
    redis.call('PERSIST', expiry)
  else
    redis.call('EXPIREAT', issued, last[2])
    redis.call('EXPIREAT', expiry, last[2])
  end
end
local function untrack(credential, access_hash)
  local issued, expiry = sets(credential)
  redis.call('ZREM', issued, access_hash)
  redis.call('ZREM', expiry, access_hash)
  expire_with_rows(credential)
end
-- Makes room for one more row of `credential` (evicting its oldest while
-- it holds `max`), then counts `access_hash`. Returns how many live rows
-- were evicted.
local function track(credential, access_hash, deadline, max)
  local issued, expiry = sets(credential)
  local now = redis.call('TIME')
  local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', '(' .. now[1])
  for _, member in ipairs(gone) do
    redis.call('ZREM', issued, member)
    redis.call('ZREM', expiry, member)
  end
  local evicted = 0
  while redis.call('ZCARD', issued) >= max do
    local oldest = redis.call('ZPOPMIN', issued)
    redis.call('ZREM', expiry, oldest[1])
    if drop_row(oldest[1]) then evicted = evicted + 1 end
  end
  local issued_at = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('ZADD', issued, issued_at, access_hash)
  redis.call('ZADD', expiry, deadline == '0' and 'inf' or deadline, access_hash)
  expire_with_rows(credential)
  return evicted
end
";

/// Stores a row. KEYS: row, refresh index. ARGV: prefix, row JSON, access
/// hash, deadline ('0' = none), '1' when the row has a refresh token,
/// credential id, per-credential maximum. Returns the number evicted.
const INSERT: &str = r"
local evicted = track(ARGV[6], ARGV[3], ARGV[4], tonumber(ARGV[7]))
put(KEYS[1], ARGV[2], ARGV[4])
if ARGV[5] == '1' then put(KEYS[2], ARGV[3], ARGV[4]) end
return evicted
";

/// Deletes a row and its refresh index. KEYS: row. ARGV: prefix.
const DELETE: &str = r"
local access_hash = string.sub(KEYS[1], -64)
local t = drop_row(access_hash)
if not t then return 0 end
if type(t.credential_id) == 'string' then untrack(t.credential_id, access_hash) end
return 1
";

/// The refresh step. KEYS: old row, old refresh index, new row, new refresh
/// index. ARGV: prefix, old access hash, new row JSON, new access hash,
/// deadline ('0' = none), '1' when the new row has a refresh token, old
/// credential id, new credential id, per-credential maximum.
const REPLACE: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
untrack(ARGV[7], ARGV[2])
track(ARGV[8], ARGV[4], ARGV[5], tonumber(ARGV[9]))
put(KEYS[3], ARGV[3], ARGV[5])
if ARGV[6] == '1' then put(KEYS[4], ARGV[4], ARGV[5]) end
return 1
";

/// The scripts of one store.
#[derive(Clone)]
pub(super) struct Scripts {
    /// See [`INSERT`].
    pub(super) insert: Script,
    /// See [`DELETE`].
    pub(super) delete: Script,
    /// See [`REPLACE`].
    pub(super) replace: Script,
}

// === impl Scripts ===

impl Scripts {
    pub(super) fn new() -> Self {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Self {
            insert: with_prelude(INSERT),
            delete: with_prelude(DELETE),
            replace: with_prelude(REPLACE),
        }
    }
}

//! Scans over the Redis key space: counting rows, removing the rows and
//! codes of deleted credentials, and the Admin API's view of the store
//! (`/oauth2_tokens`): rows by their id (the SHA-256 of the access token,
//! which is also their key), in id order so that a page's last id is the
//! next page's offset. A diagnostic path, never on a request.

use super::record::{TokenRecord, credential_of, parse, to_json};
use super::{PREFIX, RedisStore, SCAN_COUNT, key};
use crate::tokens::{StoreError, TokenChange, TokenSummary};
use ::redis::AsyncCommands;
use std::collections::HashSet;

// === impl RedisStore ===

impl RedisStore {
    /// Number of token rows (a SCAN over the key space).
    pub async fn len(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        self.scan("token", |keys| {
            n += keys.len();
            true
        })
        .await?;
        Ok(n)
    }

    /// Whether no token rows are stored.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len().await? == 0)
    }

    /// Up to `limit` rows whose id sorts after `after`, in id order.
    pub async fn list_tokens(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TokenSummary>, StoreError> {
        let mut ids = Vec::new();
        self.scan("token", |batch| {
            ids.extend(
                batch
                    .iter()
                    .filter_map(|k| k.rsplit(':').next())
                    .filter(|id| after.is_none_or(|a| *id > a))
                    .map(str::to_string),
            );
            true
        })
        .await?;
        ids.sort();
        ids.dedup();
        ids.truncate(limit);
        let keys: Vec<String> = ids.iter().map(|id| key("token", id)).collect();
        let rows = self.get_many(&keys).await?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .filter_map(|(id, raw)| Some(parse::<TokenRecord>(&raw?)?.summary(id)))
            .collect())
    }

    /// The row whose id is `id`.
    pub async fn token_by_id(&self, id: &str) -> Result<Option<TokenSummary>, StoreError> {
        let row_key = key("token", id);
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(row_key).await })
            .await?;
        Ok(raw
            .and_then(|r| parse::<TokenRecord>(&r))
            .map(|record| record.summary(id.to_string())))
    }

    /// Deletes the row whose id is `id` (and its refresh index) at once;
    /// whether there was one.
    pub async fn delete_by_id(&self, id: &str) -> Result<bool, StoreError> {
        if self.token_by_id(id).await?.is_none() {
            return Ok(false);
        }
        self.delete_row(key("token", id)).await?;
        Ok(true)
    }

    /// Changes the row whose id is `id`, keeping its expiry; a row deleted
    /// meanwhile stays deleted (`SET … XX`). The row is sealed under its
    /// access token, so `access` is needed ([`StoreError::NeedsToken`]
    /// without it), and a row that does not authenticate is absent.
    pub async fn update_by_id(
        &self,
        id: &str,
        change: &TokenChange,
        access: Option<&str>,
    ) -> Result<Option<TokenSummary>, StoreError> {
        let row_key = key("token", id);
        let read_key = row_key.clone();
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(read_key).await })
            .await?;
        let Some(mut record) = raw.and_then(|r| parse::<TokenRecord>(&r)) else {
            return Ok(None);
        };
        let Some(access) = access else {
            return Err(StoreError::NeedsToken);
        };
        if !record.verify(&self.keys, access) {
            return Ok(None);
        }
        change.apply(
            &mut record.expires_in,
            &mut record.scope,
            &mut record.authenticated_userid,
        );
        record.reseal(&self.keys, access);
        let json = to_json(&record)?;
        let stored: Option<String> = self
            .run(move |mut c| async move {
                ::redis::cmd("SET")
                    .arg(row_key)
                    .arg(json)
                    .arg("XX")
                    .arg("KEEPTTL")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(stored.map(|_| record.summary(id.to_string())))
    }

    /// Deletes rows and codes of credentials not in `keep`.
    pub async fn retain_credentials(&self, keep: &HashSet<String>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for kind in ["token", "code"] {
            let mut keys = Vec::new();
            self.scan(kind, |batch| {
                keys.extend(batch.iter().cloned());
                true
            })
            .await?;
            for chunk in keys.chunks(SCAN_COUNT) {
                let rows = self.get_many(chunk).await?;
                for (k, raw) in chunk.iter().zip(rows) {
                    let Some(credential) = raw.as_deref().and_then(credential_of) else {
                        continue;
                    };
                    if keep.contains(&credential) {
                        continue;
                    }
                    removed += 1;
                    let k = k.clone();
                    if kind == "token" {
                        self.delete_row(k).await?;
                    } else {
                        self.run(move |mut c| async move { c.del::<_, i64>(k).await })
                            .await?;
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Calls `each` with batches of keys `<prefix>{..}:<kind>:*` until it
    /// returns false or the scan ends: over the one server, or over each
    /// cluster primary in turn (SCAN walks one node).
    async fn scan(
        &self,
        kind: &str,
        mut each: impl FnMut(&[String]) -> bool,
    ) -> Result<(), StoreError> {
        let pattern = format!("{PREFIX}{{??}}:{kind}:*");
        let primaries = self.run(|mut c| async move { c.primaries().await }).await?;
        for node in primaries {
            let mut cursor: u64 = 0;
            loop {
                let cmd = ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .clone();
                let node = node.clone();
                let (next, keys): (u64, Vec<String>) = self
                    .run(move |mut c| async move { c.query_on(&node, &cmd).await })
                    .await?;
                if !each(&keys) {
                    return Ok(());
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(())
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.run(
            move |mut c| async move { ::redis::cmd("MGET").arg(&keys).query_async(&mut c).await },
        )
        .await
    }
}

//! Scans over the Redis key space: counting and listing rows for the Admin
//! API, and removing the rows and codes of deleted credentials.

use super::record::{TokenRecord, credential_of, parse};
use super::{PREFIX, RedisStore, SCAN_COUNT};
use crate::tokens::{StoreError, TokenSummary};
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

    /// Up to `limit` rows, newest first among those found.
    pub async fn list_tokens(&self, limit: usize) -> Result<Vec<TokenSummary>, StoreError> {
        let mut keys = Vec::new();
        self.scan("token", |batch| {
            keys.extend(batch.iter().cloned());
            keys.len() < limit
        })
        .await?;
        keys.truncate(limit);
        let rows = self.get_many(&keys).await?;
        let mut out: Vec<TokenSummary> = keys
            .iter()
            .zip(rows)
            .filter_map(|(k, raw)| {
                let record = parse::<TokenRecord>(&raw?)?;
                let id = k.rsplit(':').next()?.to_string();
                Some(record.summary(id))
            })
            .collect();
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
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

    /// Calls `each` with batches of keys `<prefix><kind>:*` until it returns
    /// false or the scan ends.
    async fn scan(
        &self,
        kind: &str,
        mut each: impl FnMut(&[String]) -> bool,
    ) -> Result<(), StoreError> {
        let pattern = format!("{PREFIX}{kind}:*");
        let mut cursor: u64 = 0;
        loop {
            let pattern = pattern.clone();
            let (next, keys): (u64, Vec<String>) = self
                .run(move |mut c| async move {
                    ::redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if !each(&keys) || next == 0 {
                return Ok(());
            }
            cursor = next;
        }
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

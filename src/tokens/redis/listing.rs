//! The Admin API's view of the Redis store (`/oauth2_tokens`): rows by
//! their id (the SHA-256 of the access token, which is also their key), in
//! id order so that a page's last id is the next page's offset. Listing
//! scans the key space: a diagnostic path, never on a request.

use super::{RedisStore, StoreError, TokenRecord, TokenSummary, key, parse, to_json};
use crate::tokens::TokenChange;
use ::redis::AsyncCommands;

// === impl RedisStore ===

impl RedisStore {
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
    /// meanwhile stays deleted (`SET … XX`).
    pub async fn update_by_id(
        &self,
        id: &str,
        change: &TokenChange,
    ) -> Result<Option<TokenSummary>, StoreError> {
        let row_key = key("token", id);
        let read_key = row_key.clone();
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(read_key).await })
            .await?;
        let Some(mut record) = raw.and_then(|r| parse::<TokenRecord>(&r)) else {
            return Ok(None);
        };
        change.apply(
            &mut record.expires_in,
            &mut record.scope,
            &mut record.authenticated_userid,
        );
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
}

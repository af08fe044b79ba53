//! GETs of referenced Secrets. At most [`IN_FLIGHT`] at once, which is also
//! the start-up pacing: 10,000 referenced Secrets are read a few at a time
//! (streams of the one API-server connection, see `connect`) instead of as
//! one burst, and API
//! Priority and Fairness sees a steady trickle. A failed GET is retried
//! with backoff (429 is waited out below this, see `throttle`) and given up
//! when the Secret is no longer referenced.

use super::Shared;
use crate::objects::ObjectKey;
use crate::objects::Secret;
use crate::objects::secret::K8sSecret;
use crate::source::cluster::backoff::WatchBackoff;
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use kube::runtime::utils::Backoff;
use kube::{Api, Client};
use std::time::Duration;
use tokio::sync::Semaphore;

/// GETs in flight at once.
pub(crate) const IN_FLIGHT: usize = 8;

/// Retry delays of a failed GET: a Secret kingress may not read (RBAC)
/// fails every time, so retries slow down further than a watch's.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_CAP: Duration = Duration::from_secs(30);

/// Reads every key sent on `keys` until the sender is gone.
pub(super) async fn run(client: Client, shared: &Shared, keys: UnboundedReceiver<ObjectKey>) {
    let permits = Semaphore::new(IN_FLIGHT);
    keys.for_each_concurrent(None, |key| read(&client, shared, &permits, key))
        .await;
}

/// GETs one Secret until it answers (present or 404) or is no longer wanted.
async fn read(client: &Client, shared: &Shared, permits: &Semaphore, key: ObjectKey) {
    let api: Api<K8sSecret> = Api::namespaced(client.clone(), &key.0);
    let mut backoff = WatchBackoff::new(RETRY_FIRST, RETRY_CAP);
    loop {
        if !shared.tracker.lock().is_wanted(&key) {
            return;
        }
        let answer = {
            // Held for the request only: a Secret that keeps failing must
            // not hold a slot while it waits to retry.
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            api.get_opt(&key.1).await
        };
        match answer {
            Ok(secret) => {
                backoff.reset();
                let secret = secret.map(Secret::from);
                let step = shared.tracker.lock().fetched(&key, secret);
                shared.apply(step);
                return;
            }
            Err(error) => {
                tracing::warn!(namespace = %key.0, name = %key.1, %error, "cannot read referenced secret; retrying");
                tokio::time::sleep(backoff.next().unwrap_or(RETRY_CAP)).await;
            }
        }
    }
}

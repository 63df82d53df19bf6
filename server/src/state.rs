//! Shared handles for handlers. Read models here are caches of projections of the log,
//! rebuilt on start and kept current by a subscription; nothing authoritative lives in memory.

use std::sync::{Arc, RwLock};

use schalter_events::catalogue::Catalogue;
use schalter_events::projection::Projection;
use schalter_events::store::{Store, StoreError};
use tokio::sync::watch;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    catalogue: Arc<RwLock<Catalogue>>,
    /// Flips to true when the server shuts down; long-lived responses (SSE) end on it.
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// Folds the whole log into the in-memory projections and returns the position reached.
    pub async fn load(store: Store, shutdown: watch::Receiver<bool>) -> Result<(AppState, i64), StoreError> {
        let state = AppState {
            store,
            catalogue: Arc::default(),
            shutdown,
        };
        let mut position = 0;
        loop {
            let batch = state.store.read_all(position, 1000).await?;
            let Some(last) = batch.last() else { break };
            position = last.position;
            state.apply(&batch);
        }
        Ok((state, position))
    }

    pub fn catalogue(&self) -> std::sync::RwLockReadGuard<'_, Catalogue> {
        self.catalogue.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn apply(&self, events: &[schalter_events::RecordedEvent]) {
        let mut catalogue = self.catalogue.write().unwrap_or_else(|e| e.into_inner());
        for e in events {
            if let Err(err) = Projection::apply(&mut *catalogue, e) {
                tracing::error!(error = %err, "catalogue projection skipped an unreadable event");
            }
        }
    }

    /// Keeps the projections current, also with events appended by other server instances.
    pub fn follow(&self, from: i64) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let mut subscription = self.store.subscribe_from(None, from);
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    batch = subscription.next_batch() => match batch {
                        Ok(batch) => state.apply(&batch),
                        Err(e) => {
                            tracing::warn!(error = %e, "projection follower could not read the log; retrying");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        }
                    },
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

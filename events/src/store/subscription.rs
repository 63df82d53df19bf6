//! Subscriptions: catch-up from the store, then live from this process's writes or wake-ups.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::appender::Written;
use super::{Store, StoreError};
use crate::event::RecordedEvent;

const UNSETTLED_RETRY: Duration = Duration::from_millis(5);

/// Catch-up, then live: delivers every committed event once, in position order.
pub struct Subscription {
    pub(super) store: Store,
    pub(super) name: Option<String>,
    pub(super) position: i64,
    pub(super) buffer: VecDeque<RecordedEvent>,
    pub(super) wake: watch::Receiver<i64>,
    pub(super) written: broadcast::Receiver<Written>,
    /// A batch received from `written` while waiting, not yet looked at.
    pub(super) offered: Option<Written>,
    pub(super) batch_size: i64,
    /// Safety net should a wake-up be lost (e.g. a dropped LISTEN connection).
    pub(super) poll: Duration,
}

impl Subscription {
    /// The position of the last event handed out.
    pub fn position(&self) -> i64 {
        self.position
    }

    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        if self.buffer.is_empty() {
            let batch = self.next_batch().await?;
            self.buffer.extend(batch);
        }
        let event = self.buffer.pop_front().expect("next_batch never returns empty");
        self.position = event.position;
        Ok(event)
    }

    /// Waits until at least one event after the current position exists and returns a batch.
    /// Positions of a returned batch count as handed out.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        if !self.buffer.is_empty() {
            let batch: Vec<_> = self.buffer.drain(..).collect();
            self.position = batch.last().map(|e| e.position).unwrap_or(self.position);
            return Ok(batch);
        }
        loop {
            // Mark the wake-up seen before reading, so a commit after the read still wakes us.
            self.wake.borrow_and_update();
            if let Some(batch) = self.next_written() {
                self.position = batch.last().map(|e| e.position).unwrap_or(self.position);
                return Ok(batch);
            }
            let batch = self.store.read_all(self.position, self.batch_size).await?;
            if let Some(last) = batch.last() {
                self.position = last.position;
                return Ok(batch);
            }
            if *self.wake.borrow() > self.position {
                // Committed but not yet settled (PostgreSQL: an older transaction still runs and
                // may hold an earlier position); its end may bring no wake-up of its own.
                tokio::time::sleep(UNSETTLED_RETRY).await;
                continue;
            }
            tokio::select! {
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        // The store is closing; fall back to polling until the caller stops.
                        tokio::time::sleep(self.poll).await;
                    }
                }
                offered = self.written.recv() => self.offered = offered.ok(),
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// The next batch this process wrote, if it follows the current position without a gap
    /// (so nothing committed in between can be missing). `None`: read the database.
    fn next_written(&mut self) -> Option<Vec<RecordedEvent>> {
        loop {
            let batch = match self.offered.take() {
                Some(batch) => batch,
                None => self.written.try_recv().ok()?,
            };
            let (first, last) = (batch.first()?.position, batch.last()?.position);
            if last <= self.position {
                continue; // already read from the database
            }
            let gapless = batch.windows(2).all(|w| w[1].position == w[0].position + 1);
            if first != self.position + 1 || !gapless {
                return None;
            }
            return Some(batch.iter().map(|e| self.store.upcasters.upcast(e.clone())).collect());
        }
    }

    /// Stores the current position as this subscriber's checkpoint.
    pub async fn save_checkpoint(&self) -> Result<(), StoreError> {
        match &self.name {
            Some(name) => self.store.save_checkpoint(name, self.position).await,
            None => Ok(()),
        }
    }
}

//! Group commit: the one writer of a process, and the queue of appends waiting for it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::{now, AppendOutcome, AppendRequest, EventStore, StoreError};
use crate::event::RecordedEvent;

/// One batch's events in position order.
pub(super) type Written = Arc<Vec<RecordedEvent>>;

/// Few: a subscriber that falls further behind reads from the database, and memory stays small.
pub(super) const WRITTEN_BATCHES_KEPT: usize = 16;

pub(super) struct AppendJob {
    pub(super) request: AppendRequest,
    pub(super) reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Appends waiting while a batch is being written form the next batch, up to this many.
const MAX_BATCH: usize = 256;

/// Group commit: one writer per process takes every append that is waiting and writes them in
/// one transaction, so one commit (one fsync, one lock hold) acknowledges many appends. Under no
/// load a batch is a single append and nothing waits for company.
pub(super) fn spawn_appender(
    backend: Arc<dyn EventStore>,
    written: broadcast::Sender<Written>,
) -> mpsc::Sender<AppendJob> {
    let (sender, mut jobs) = mpsc::channel::<AppendJob>(4 * MAX_BATCH);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (requests, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|j| (j.request, j.reply)).unzip();
            let recorded_at = now();
            match backend.append_batch(&requests, recorded_at).await {
                Ok(results) => {
                    let mut events = Vec::new();
                    let mut last = None;
                    for (request, result) in requests.iter().zip(&results) {
                        if let Ok(outcome) = result {
                            events.extend(recorded(request, outcome, recorded_at));
                            last = last.max(Some(outcome.last_position));
                        }
                    }
                    if !events.is_empty() {
                        // No subscriber listening is not an error: they read the database.
                        let _ = written.send(Arc::new(events));
                    }
                    if let Some(last) = last {
                        backend.committed(last);
                    }
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, appends = requests.len(), "a batch of appends failed");
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
                    }
                }
            }
        }
    });
    sender
}

/// The events an append wrote, as a read would return them: positions from the outcome (in
/// order, without gaps, or nothing is offered), versions counted back from each stream's
/// version after the append.
fn recorded(request: &AppendRequest, outcome: &AppendOutcome, recorded_at: DateTime<Utc>) -> Vec<RecordedEvent> {
    let count = request.events.len() as i64;
    if outcome.duplicate || outcome.last_position - outcome.first_position + 1 != count {
        return Vec::new();
    }
    let mut remaining: HashMap<&str, i64> = HashMap::new();
    for event in &request.events {
        *remaining.entry(event.stream.as_str()).or_default() += 1;
    }
    let mut events = Vec::with_capacity(request.events.len());
    for (event, position) in request.events.iter().zip(outcome.first_position..) {
        let Some(after) = outcome.streams.iter().find(|s| s.stream == event.stream) else {
            return Vec::new();
        };
        let left = remaining.get_mut(event.stream.as_str()).expect("counted above");
        *left -= 1;
        events.push(RecordedEvent {
            position,
            stream: event.stream.clone(),
            version: after.version - *left,
            event_type: event.event_type.clone(),
            schema: event.schema,
            data: event.data.clone(),
            metadata: request.metadata.clone(),
            recorded_at,
        });
    }
    events
}

pub(super) fn appender_stopped() -> StoreError {
    StoreError::Unavailable("the appender has stopped".into())
}

/// An append that is queued; its outcome arrives once its batch is committed (or failed).
pub struct Submitted(pub(super) oneshot::Receiver<Result<AppendOutcome, StoreError>>);

impl Submitted {
    pub async fn outcome(self) -> Result<AppendOutcome, StoreError> {
        self.0.await.map_err(|_| appender_stopped())?
    }
}

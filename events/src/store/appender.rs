//! Group commit: the writer of a process, and the queue of appends waiting for it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::{now, AppendOutcome, AppendRequest, EventStore, StoreError};
use crate::event::{Expectation, RecordedEvent};

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

/// A batch goes while another is in flight only with at least this many appends; fewer wait for
/// a batch to finish and go with whatever has gathered by then. A call costs PostgreSQL about
/// four appends' worth of work besides its appends, so under load many small batches in parallel
/// spend the database's CPU on calls where a few larger ones spend it on appends (8 writers:
/// batches of 1.7–1.8 gave 5,041–5,520 appends/s, batches of 3.9 gave 6,881–7,466; BENCHMARKS.md
/// "Fuller batches"). An append arriving while nothing is in flight still goes at once.
const MIN_COMPANY: usize = 4;

/// Appends taken off the queue but not yet in a batch; beyond this the queue pushes back.
const MAX_WAITING: usize = 4 * MAX_BATCH;

/// Group commit: one writer per process takes every append that is waiting and writes them in
/// one transaction, so one commit (one fsync, one lock hold) acknowledges many appends. Under no
/// load a batch is a single append and nothing waits for company. Where the backend lets
/// transactions overlap (PostgreSQL), up to [`EventStore::parallel_batches`] batches are in
/// flight at once, each further one only with company ([`MIN_COMPANY`]); an append that shares
/// a stream or a command id with one in flight waits for it, so appends to one stream are still
/// written in the order they were queued.
pub(super) fn spawn_appender(
    backend: Arc<dyn EventStore>,
    written: broadcast::Sender<Written>,
) -> mpsc::Sender<AppendJob> {
    let (sender, jobs) = mpsc::channel::<AppendJob>(4 * MAX_BATCH);
    tokio::spawn(run(backend, written, jobs));
    sender
}

async fn run(backend: Arc<dyn EventStore>, written: broadcast::Sender<Written>, mut jobs: mpsc::Receiver<AppendJob>) {
    let lanes = backend.parallel_batches().max(1);
    let mut waiting: VecDeque<AppendJob> = VecDeque::new();
    let mut incoming = Vec::with_capacity(MAX_BATCH);
    let mut busy: HashSet<String> = HashSet::new();
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    loop {
        while in_flight.len() < lanes {
            if !in_flight.is_empty() && waiting.len() < MIN_COMPANY {
                break;
            }
            let batch = take_batch(&mut waiting, &busy);
            if batch.is_empty() {
                break;
            }
            let keys: Vec<String> = batch.iter().flat_map(|job| order_keys(&job.request)).collect();
            busy.extend(keys.iter().cloned());
            let (backend, written) = (backend.clone(), written.clone());
            in_flight.push(async move {
                write_batch(backend.as_ref(), &written, batch).await;
                keys
            });
        }
        if !open && waiting.is_empty() && in_flight.is_empty() {
            return;
        }
        tokio::select! {
            received = jobs.recv_many(&mut incoming, MAX_BATCH), if open && waiting.len() < MAX_WAITING => {
                open = received > 0;
                waiting.extend(incoming.drain(..));
            }
            Some(keys) = in_flight.next(), if !in_flight.is_empty() => {
                for key in keys {
                    busy.remove(&key);
                }
            }
        }
    }
}

/// What orders appends: the streams a request writes or expects, and its command id.
fn order_keys(request: &AppendRequest) -> impl Iterator<Item = String> + '_ {
    let written = request.events.iter().map(|e| e.stream.clone());
    let expected = request
        .expectations
        .iter()
        .filter(|(_, e)| *e != Expectation::Any)
        .map(|(stream, _)| stream.clone());
    let command = request.command_id.iter().map(|id| format!("command {id}"));
    written.chain(expected).chain(command)
}

/// The waiting appends that may go now, in queue order: none shares a key with a batch in flight
/// or with an earlier append that has to stay behind.
fn take_batch(waiting: &mut VecDeque<AppendJob>, busy: &HashSet<String>) -> Vec<AppendJob> {
    if busy.is_empty() {
        let n = waiting.len().min(MAX_BATCH);
        return waiting.drain(..n).collect();
    }
    let mut batch = Vec::new();
    let mut held_back: HashSet<String> = HashSet::new();
    let mut stays = VecDeque::with_capacity(waiting.len());
    for job in waiting.drain(..) {
        let keys: Vec<String> = order_keys(&job.request).collect();
        if batch.len() < MAX_BATCH && keys.iter().all(|k| !busy.contains(k) && !held_back.contains(k)) {
            batch.push(job);
        } else {
            held_back.extend(keys);
            stays.push_back(job);
        }
    }
    *waiting = stays;
    batch
}

async fn write_batch(backend: &dyn EventStore, written: &broadcast::Sender<Written>, batch: Vec<AppendJob>) {
    let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|j| (j.request, j.reply)).unzip();
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
            let (message, unavailable) = (e.to_string(), e.is_unavailable());
            for reply in replies {
                let error = if unavailable {
                    StoreError::Unavailable(message.clone())
                } else {
                    StoreError::BatchFailed(message.clone())
                };
                let _ = reply.send(Err(error));
            }
        }
    }
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

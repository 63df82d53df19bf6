//! The event store: one trait, two sqlx backends, and the backend-independent parts
//! (upcasting, subscriptions) written once on top.

mod postgres;
mod sqlite;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::event::{Expectation, Metadata, NewEvent, RecordedEvent};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One atomic write: all events land, or none do.
#[derive(Debug, Clone, Default)]
pub struct AppendRequest {
    /// Idempotency key; a second append with the same key returns the first outcome.
    pub command_id: Option<String>,
    pub metadata: Metadata,
    /// Beliefs about streams, checked under the write lock. Streams not listed: [`Expectation::Any`].
    pub expectations: Vec<(String, Expectation)>,
    pub events: Vec<NewEvent>,
    /// Wrapped data keys the events' sealed personal data needs: stored in the same
    /// transaction, exactly when the events are (not on a conflict, not again on a repeat).
    pub data_keys: Vec<DataKey>,
}

/// A personal-data key, wrapped by the master key, under the id sealed data refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKey {
    pub id: String,
    pub wrapped: Vec<u8>,
}

impl AppendRequest {
    pub fn new(events: Vec<NewEvent>) -> Self {
        AppendRequest {
            events,
            ..Default::default()
        }
    }

    pub fn expect(mut self, stream: impl Into<String>, expectation: Expectation) -> Self {
        self.expectations.push((stream.into(), expectation));
        self
    }

    pub fn data_key(mut self, key: DataKey) -> Self {
        self.data_keys.push(key);
        self
    }

    pub fn command_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.metadata.command_id = Some(id.clone());
        self.command_id = Some(id);
        self
    }

    pub fn metadata(mut self, metadata: Metadata) -> Self {
        let command_id = self.command_id.take().or(metadata.command_id.clone());
        self.metadata = metadata;
        self.metadata.command_id = command_id.clone();
        self.command_id = command_id;
        self
    }

    /// Every stream the append touches, each once, in a stable order.
    fn streams(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .expectations
            .iter()
            .map(|(s, _)| s.clone())
            .chain(self.events.iter().map(|e| e.stream.clone()))
            .collect();
        s.sort();
        s.dedup();
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamVersion {
    pub stream: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendOutcome {
    pub first_position: i64,
    pub last_position: i64,
    /// Each written stream's version after the append.
    pub streams: Vec<StreamVersion>,
    /// True when this is a repeated command and nothing was appended now.
    #[serde(default)]
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stream {stream} is at version {actual}, but the writer expected {expected}")]
    Conflict {
        stream: String,
        expected: Expectation,
        actual: i64,
    },
    #[error("a concurrent write got there first")]
    ConcurrentWrite,
    #[error("an append needs at least one event")]
    EmptyAppend,
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot open the database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the event store could not write: {0}")]
    Unavailable(String),
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. } | StoreError::ConcurrentWrite)
    }
}

/// A backend. Implementations only move rows; they know nothing about appointments.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Applies pending schema migrations; returns how many were applied.
    async fn migrate(&self) -> Result<usize, StoreError>;
    /// Appends several independent requests in one transaction (group commit). Each request is
    /// atomic and conditional on its own: a failed expectation fails only that request. The
    /// outer error means the whole batch failed and nothing was written.
    async fn append_batch(
        &self,
        requests: &[AppendRequest],
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError>;
    async fn command_outcome(&self, command_id: &str) -> Result<Option<AppendOutcome>, StoreError>;
    /// Events of one stream with a version greater than `after_version`, in version order.
    async fn read_stream(&self, stream: &str, after_version: i64) -> Result<Vec<RecordedEvent>, StoreError>;
    /// Up to `limit` events with a position greater than `after`, in position order.
    async fn read_all(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError>;
    /// The last committed position (0 for an empty log).
    async fn head(&self) -> Result<i64, StoreError>;
    async fn checkpoint(&self, subscriber: &str) -> Result<i64, StoreError>;
    async fn save_checkpoint(&self, subscriber: &str, position: i64) -> Result<(), StoreError>;
    /// Keeps a wrapped data key of the personal-data vault (outside the log, erasable).
    async fn put_data_key(&self, id: &str, wrapped: &[u8]) -> Result<(), StoreError>;
    /// The wrapped key, or `None` if it is unknown or was erased.
    async fn data_key(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Overwrites the key for good; erasing twice is not an error.
    async fn erase_data_key(&self, id: &str) -> Result<(), StoreError>;
    /// Carries the latest position known to be committed. A wake-up only, never the data.
    fn wake_ups(&self) -> watch::Receiver<i64>;
    /// Wakes this process's subscribers: everything up to `position` is committed. The store
    /// calls it after a batch, once the batch's events are on offer to subscribers.
    fn committed(&self, position: i64);
    async fn close(&self);
}

pub type UpcastFn = fn(serde_json::Value) -> serde_json::Value;

/// Old schema versions are lifted step by step to the current one when read; stored events
/// are never rewritten.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, i32), UpcastFn>,
}

impl Upcasters {
    /// Registers the step that turns `event_type` at `from_schema` into `from_schema + 1`.
    pub fn register(mut self, event_type: &str, from_schema: i32, step: UpcastFn) -> Self {
        self.steps.insert((event_type.to_owned(), from_schema), step);
        self
    }

    pub fn upcast(&self, mut event: RecordedEvent) -> RecordedEvent {
        if self.steps.is_empty() {
            return event;
        }
        while let Some(step) = self.steps.get(&(event.event_type.clone(), event.schema)) {
            event.data = step(std::mem::take(&mut event.data));
            event.schema += 1;
        }
        event
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Pool size for PostgreSQL (SQLite always has one writer and a few readers).
    pub max_connections: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 16 }
    }
}

/// Shares one backend between handlers, projections and subscribers.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
    appender: mpsc::Sender<AppendJob>,
    /// The events of each batch this process wrote, as committed: a subscriber that has seen
    /// everything before them takes them from here instead of reading them back.
    written: broadcast::Sender<Written>,
}

/// One batch's events in position order.
type Written = Arc<Vec<RecordedEvent>>;

/// Few: a subscriber that falls further behind reads from the database, and memory stays small.
const WRITTEN_BATCHES_KEPT: usize = 16;

struct AppendJob {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Appends waiting while a batch is being written form the next batch, up to this many.
const MAX_BATCH: usize = 256;

/// Group commit: one writer per process takes every append that is waiting and writes them in
/// one transaction, so one commit (one fsync, one lock hold) acknowledges many appends. Under no
/// load a batch is a single append and nothing waits for company.
fn spawn_appender(backend: Arc<dyn EventStore>, written: broadcast::Sender<Written>) -> mpsc::Sender<AppendJob> {
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

impl Store {
    /// Opens `sqlite://FILE` or `postgres://…` (nothing is migrated yet).
    pub async fn connect(url: &str, options: ConnectOptions) -> Result<Store, StoreError> {
        let backend: Arc<dyn EventStore> = if url.starts_with("sqlite:") {
            Arc::new(SqliteStore::connect(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(PgStore::connect(url, options.max_connections).await?)
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        Ok(Store::from_backend(backend))
    }

    /// Must be called inside a Tokio runtime (it starts the appender task).
    pub fn from_backend(backend: Arc<dyn EventStore>) -> Store {
        let written = broadcast::channel(WRITTEN_BATCHES_KEPT).0;
        Store {
            appender: spawn_appender(backend.clone(), written.clone()),
            backend,
            upcasters: Arc::new(Upcasters::default()),
            written,
        }
    }

    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Store {
        self.upcasters = Arc::new(upcasters);
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend.backend()
    }

    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.backend.migrate().await
    }

    pub async fn append(&self, request: &AppendRequest) -> Result<AppendOutcome, StoreError> {
        self.submit(request).await?.outcome().await
    }

    /// Queues an append and returns once it is queued, before it is written. Appends are written
    /// in the order they were queued (within a batch and across batches), so a writer may queue
    /// a second append that expects the versions the first will create: if the first fails, the
    /// stream is not at that version and the second fails too.
    pub async fn submit(&self, request: &AppendRequest) -> Result<Submitted, StoreError> {
        if request.events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let (reply, outcome) = oneshot::channel();
        self.appender
            .send(AppendJob {
                request: request.clone(),
                reply,
            })
            .await
            .map_err(|_| appender_stopped())?;
        Ok(Submitted(outcome))
    }

    pub async fn command_outcome(&self, command_id: &str) -> Result<Option<AppendOutcome>, StoreError> {
        self.backend.command_outcome(command_id).await
    }

    pub async fn read_stream(&self, stream: &str, after_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.backend.read_stream(stream, after_version).await?;
        Ok(events.into_iter().map(|e| self.upcasters.upcast(e)).collect())
    }

    pub async fn read_all(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.backend.read_all(after, limit).await?;
        Ok(events.into_iter().map(|e| self.upcasters.upcast(e)).collect())
    }

    /// Every event after `after`, in batches of `batch_size`, the next batch read while the
    /// caller handles this one: a projection rebuild takes about as long as the slower of
    /// reading and folding, not both. Ends after the last batch or the first error.
    pub fn read_ahead(&self, after: i64, batch_size: i64) -> mpsc::Receiver<Result<Vec<RecordedEvent>, StoreError>> {
        let (sender, batches) = mpsc::channel(1);
        let store = self.clone();
        tokio::spawn(async move {
            let mut position = after;
            loop {
                let batch = store.read_all(position, batch_size).await;
                match &batch {
                    Ok(events) => match events.last() {
                        Some(last) => position = last.position,
                        None => break,
                    },
                    Err(_) => {
                        let _ = sender.send(batch).await;
                        break;
                    }
                }
                if sender.send(batch).await.is_err() {
                    break; // the caller stopped listening
                }
            }
        });
        batches
    }

    pub async fn head(&self) -> Result<i64, StoreError> {
        self.backend.head().await
    }

    pub async fn checkpoint(&self, subscriber: &str) -> Result<i64, StoreError> {
        self.backend.checkpoint(subscriber).await
    }

    pub async fn save_checkpoint(&self, subscriber: &str, position: i64) -> Result<(), StoreError> {
        self.backend.save_checkpoint(subscriber, position).await
    }

    pub fn wake_ups(&self) -> watch::Receiver<i64> {
        self.backend.wake_ups()
    }

    pub async fn put_data_key(&self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        self.backend.put_data_key(id, wrapped).await
    }

    pub async fn data_key(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.data_key(id).await
    }

    pub async fn erase_data_key(&self, id: &str) -> Result<(), StoreError> {
        self.backend.erase_data_key(id).await
    }

    /// A named subscriber, resuming after its stored checkpoint.
    pub async fn subscribe(&self, subscriber: &str) -> Result<Subscription, StoreError> {
        let position = self.checkpoint(subscriber).await?;
        Ok(self.subscribe_from(Some(subscriber), position))
    }

    /// An anonymous (or named) subscriber starting after `position`.
    pub fn subscribe_from(&self, subscriber: Option<&str>, position: i64) -> Subscription {
        Subscription {
            store: self.clone(),
            name: subscriber.map(str::to_owned),
            position,
            buffer: VecDeque::new(),
            wake: self.wake_ups(),
            written: self.written.subscribe(),
            offered: None,
            batch_size: 500,
            poll: Duration::from_secs(2),
        }
    }

    pub async fn close(&self) {
        self.backend.close().await
    }
}

fn appender_stopped() -> StoreError {
    StoreError::Unavailable("the appender has stopped".into())
}

/// An append that is queued; its outcome arrives once its batch is committed (or failed).
pub struct Submitted(oneshot::Receiver<Result<AppendOutcome, StoreError>>);

impl Submitted {
    pub async fn outcome(self) -> Result<AppendOutcome, StoreError> {
        self.0.await.map_err(|_| appender_stopped())?
    }
}

/// Catch-up, then live: delivers every committed event once, in position order.
pub struct Subscription {
    store: Store,
    name: Option<String>,
    position: i64,
    buffer: VecDeque<RecordedEvent>,
    wake: watch::Receiver<i64>,
    written: broadcast::Receiver<Written>,
    /// A batch received from `written` while waiting, not yet looked at.
    offered: Option<Written>,
    batch_size: i64,
    /// Safety net should a wake-up be lost (e.g. a dropped LISTEN connection).
    poll: Duration,
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

/// A URL fit for logs and error messages: the password is replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Used by both backends for the `commands` table's `streams` column.
fn streams_json(streams: &[StreamVersion]) -> String {
    serde_json::to_string(streams).expect("stream versions serialise")
}

fn parse_streams(position: i64, json: &str) -> Result<Vec<StreamVersion>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        position,
        reason: e.to_string(),
    })
}

/// Checks every expectation against the stream versions read under the write lock and
/// assigns versions and positions to the new events.
fn plan_append(
    request: &AppendRequest,
    current: &HashMap<String, i64>,
    head: i64,
) -> Result<(Vec<PlannedEvent>, Vec<StreamVersion>), StoreError> {
    for (stream, expected) in &request.expectations {
        let actual = current.get(stream).copied().unwrap_or(0);
        if !expected.holds_for(actual) {
            return Err(StoreError::Conflict {
                stream: stream.clone(),
                expected: *expected,
                actual,
            });
        }
    }
    let mut versions = current.clone();
    let mut planned = Vec::with_capacity(request.events.len());
    for (i, event) in request.events.iter().enumerate() {
        let v = versions.entry(event.stream.clone()).or_insert(0);
        *v += 1;
        planned.push(PlannedEvent {
            position: head + 1 + i as i64,
            version: *v,
        });
    }
    let mut written: Vec<StreamVersion> = request
        .events
        .iter()
        .map(|e| e.stream.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|stream| StreamVersion {
            version: versions[&stream],
            stream,
        })
        .collect();
    written.sort_by(|a, b| a.stream.cmp(&b.stream));
    Ok((planned, written))
}

struct PlannedEvent {
    position: i64,
    version: i64,
}

/// The unique index on (stream, version) is the last safety net behind the write lock.
fn unique_to_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::ConcurrentWrite,
        _ => StoreError::Database(e),
    }
}

/// Announces a newer committed position to in-process subscribers.
fn advance(wake: &watch::Sender<i64>, position: i64) {
    wake.send_if_modified(|p| {
        let newer = position > *p;
        if newer {
            *p = position;
        }
        newer
    });
}

/// Microseconds, as PostgreSQL keeps them: an event offered to subscribers straight from the
/// writer equals the one read back.
fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn upcasters_chain_until_current_schema() {
        let up = Upcasters::default()
            .register("Renamed", 1, |mut v| {
                v["b"] = v["a"].take();
                v
            })
            .register("Renamed", 2, |mut v| {
                v["c"] = serde_json::json!(true);
                v
            });
        let e = RecordedEvent {
            position: 1,
            stream: "s".into(),
            version: 1,
            event_type: "Renamed".into(),
            schema: 1,
            data: serde_json::json!({"a": 1}),
            metadata: Metadata::default(),
            recorded_at: Utc::now(),
        };
        let e = up.upcast(e);
        assert_eq!(e.schema, 3);
        assert_eq!(e.data, serde_json::json!({"a": null, "b": 1, "c": true}));
    }

    #[test]
    fn plan_checks_every_expectation_and_numbers_streams_independently() {
        let ev = |s: &str| NewEvent {
            stream: s.into(),
            event_type: "T".into(),
            schema: 1,
            data: serde_json::Value::Null,
        };
        let req = AppendRequest::new(vec![ev("a"), ev("b"), ev("a")])
            .expect("a", Expectation::AtVersion(2))
            .expect("b", Expectation::NoStream);
        let current: HashMap<String, i64> = [("a".to_string(), 2)].into();
        let (planned, written) = plan_append(&req, &current, 10).unwrap();
        assert_eq!(
            planned.iter().map(|p| (p.position, p.version)).collect::<Vec<_>>(),
            vec![(11, 3), (12, 1), (13, 4)]
        );
        assert_eq!(
            written,
            vec![
                StreamVersion {
                    stream: "a".into(),
                    version: 4
                },
                StreamVersion {
                    stream: "b".into(),
                    version: 1
                }
            ]
        );
        let current: HashMap<String, i64> = [("a".to_string(), 2), ("b".to_string(), 1)].into();
        assert!(
            matches!(plan_append(&req, &current, 10), Err(StoreError::Conflict { ref stream, actual: 1, .. }) if stream == "b")
        );
    }
}

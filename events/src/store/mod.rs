//! The event store: one trait, two sqlx backends, and the backend-independent parts written
//! once on top: requests and outcomes (`request`), group commit (`appender`), catch-up and
//! live subscriptions (`subscription`), upcasting (`upcast`), whole-store copies for backups
//! and restores (`copy`). This file holds the trait, the
//! `Store` every caller shares, and the helpers both backends use.

mod appender;
pub mod copy;
mod postgres;
mod request;
mod sqlite;
mod subscription;
mod upcast;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::event::RecordedEvent;

pub use appender::Submitted;
use appender::{appender_stopped, spawn_appender, AppendJob, Written, WRITTEN_BATCHES_KEPT};
pub use postgres::PgStore;
pub use request::{AppendOutcome, AppendRequest, DataKey, DataKeyRow, StoreError, StreamVersion};
pub use sqlite::SqliteStore;
pub use subscription::Subscription;
pub use upcast::{UpcastFn, Upcasters};

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
    /// The first outcome of `command_id` and the fingerprint it was stored with.
    async fn command_outcome(&self, command_id: &str) -> Result<Option<(AppendOutcome, Option<String>)>, StoreError>;
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
    /// Up to `limit` rows of the key table, erased ones too, with an id after `after_id`, in id
    /// order (for backups and master key rotation).
    async fn data_key_rows(&self, after_id: &str, limit: i64) -> Result<Vec<DataKeyRow>, StoreError>;
    /// Replaces a wrapped key, but only while it is still `old`: a key erased or re-wrapped
    /// meanwhile stays as it is. Returns whether it was replaced.
    async fn rewrap_data_key(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;
    /// Writes events and key rows exactly as another store recorded them (restoring a backup
    /// into an empty store), in one transaction.
    async fn import(&self, events: &[RecordedEvent], keys: &[DataKeyRow]) -> Result<(), StoreError>;
    /// Carries the latest position known to be committed. A wake-up only, never the data.
    fn wake_ups(&self) -> watch::Receiver<i64>;
    /// Wakes this process's subscribers: everything up to `position` is committed. The store
    /// calls it after a batch, once the batch's events are on offer to subscribers.
    fn committed(&self, position: i64);
    /// How many batches may be written at once. Batches in flight together never share a
    /// stream or a command id (the appender keeps those in order), so the backend only has to
    /// let unrelated transactions overlap. SQLite has one writer: 1.
    fn parallel_batches(&self) -> usize {
        1
    }
    async fn close(&self);
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

/// A cursor over the key table: `next` gives the following rows, `None` after the last.
pub struct DataKeyPages<'a> {
    store: &'a Store,
    after: String,
    batch: i64,
}

impl DataKeyPages<'_> {
    pub async fn next(&mut self) -> Result<Option<Vec<DataKeyRow>>, StoreError> {
        let rows = self.store.data_key_rows(&self.after, self.batch).await?;
        let Some(last) = rows.last() else { return Ok(None) };
        self.after = last.id.clone();
        Ok(Some(rows))
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

    /// Queues an append and returns once it is queued, before it is written. Appends that share
    /// a stream (written or expected) or a command id are written in the order they were queued,
    /// so a writer may queue a second append that expects the versions the first will create: if
    /// the first fails, the stream is not at that version and the second fails too. Appends
    /// without anything in common may be written in either order.
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

    /// The first outcome of `command_id`, if it was written; [`StoreError::CommandReused`] when
    /// it was written for a request with another fingerprint.
    pub async fn command_outcome(
        &self,
        command_id: &str,
        fingerprint: Option<&str>,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        match self.backend.command_outcome(command_id).await? {
            Some((outcome, stored)) => {
                request::same_command(command_id, stored.as_deref(), fingerprint)?;
                Ok(Some(outcome))
            }
            None => Ok(None),
        }
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

    pub async fn data_key_rows(&self, after_id: &str, limit: i64) -> Result<Vec<DataKeyRow>, StoreError> {
        self.backend.data_key_rows(after_id, limit).await
    }

    /// The whole key table, `batch` rows at a time, in id order (backups, key rotation).
    pub fn data_key_pages(&self, batch: i64) -> DataKeyPages<'_> {
        DataKeyPages {
            store: self,
            after: String::new(),
            batch,
        }
    }

    pub async fn rewrap_data_key(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.backend.rewrap_data_key(id, old, new).await
    }

    /// Events as stored, without upcasting (a backup keeps the log as it was written).
    pub async fn read_all_as_stored(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.backend.read_all(after, limit).await
    }

    pub async fn import(&self, events: &[RecordedEvent], keys: &[DataKeyRow]) -> Result<(), StoreError> {
        self.backend.import(events, keys).await?;
        if let Some(last) = events.last() {
            self.backend.committed(last.position);
        }
        Ok(())
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
    use crate::event::{Expectation, Metadata, NewEvent};

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

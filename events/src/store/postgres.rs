//! Production backend. Appends go through `schalter_append_batch` (migrations 0002 … 0009): one
//! round trip and one commit per batch. Batches on different streams commit in parallel
//! (several batches of one process at a time, and any number of servers): each locks only the
//! streams it touches, and positions are taken together with the transaction id, so a reader
//! that hands out only events older than every running transaction never skips one that commits
//! late with a lower position (the classic failure of a plain `BIGSERIAL`). Migration 0008 has
//! the three rules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, Row};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    advance, now, parse_streams, redact, unique_to_conflict, AppendOutcome, AppendRequest, Backend, DataKeyRow,
    EventStore, StoreError,
};
use crate::event::{Expectation, Metadata, NewEvent, RecordedEvent};
use serde::{Deserialize, Serialize};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const CHANNEL: &str = "schalter_events";

pub struct PgStore {
    pool: PgPool,
    parallel_batches: usize,
    wake: watch::Sender<i64>,
    listener: JoinHandle<()>,
    /// The newest position this process committed, for the notifier to announce.
    written: watch::Sender<i64>,
    notifier: JoinHandle<()>,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        // One direct attempt first: it fails fast with the real reason (refused, no such
        // database, auth), where a pool would only report a timeout.
        sqlx::PgConnection::connect(url)
            .await
            .map_err(connect_err)?
            .close()
            .await
            .ok();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(connect_err)?;
        let (wake, _) = watch::channel(0);
        let mut listener = PgListener::connect_with(&pool).await.map_err(connect_err)?;
        listener.listen(CHANNEL).await.map_err(connect_err)?;
        let listener = tokio::spawn(forward_notifications(listener, wake.clone()));
        let (written, announce) = watch::channel(0);
        let notifier = tokio::spawn(notify_others(pool.clone(), announce));
        Ok(PgStore {
            pool,
            // A quarter of the pool: readers, subscribers and the listener keep the rest.
            parallel_batches: (max_connections as usize / 4).clamp(1, 4),
            wake,
            listener,
            written,
            notifier,
        })
    }
}

/// LISTEN/NOTIFY carries only the new head position; subscribers read the data themselves.
async fn forward_notifications(mut listener: PgListener, wake: watch::Sender<i64>) {
    loop {
        match listener.recv().await {
            Ok(n) => {
                if let Ok(position) = n.payload().parse::<i64>() {
                    advance(&wake, position);
                }
            }
            Err(e) => {
                // The listener reconnects on the next recv; notifications sent meanwhile are
                // lost, so wake everyone to re-read.
                tracing::warn!(error = %e, "event notification listener lost its connection");
                wake.send_modify(|_| {});
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// At most one NOTIFY per this interval: each is a transaction of its own, and under load one
/// per batch cost PostgreSQL nearly as much CPU as the appends. Other servers learn of new
/// events at most this much later; this server's own subscribers do not wait for it.
const NOTIFY_PAUSE: Duration = Duration::from_millis(5);

/// Tells the other servers (and this one's listener) about new commits: one NOTIFY with the
/// newest position, after the commit and outside it (a notifying transaction holds a lock
/// through its commit that would make the appends queue again). Commits that land while one
/// NOTIFY is on its way or pausing are announced together by the next.
async fn notify_others(pool: PgPool, mut announce: watch::Receiver<i64>) {
    while announce.changed().await.is_ok() {
        let position = *announce.borrow_and_update();
        if let Err(e) = notify(&pool, position).await {
            // Other servers' subscribers still poll; nothing is lost, only later.
            tracing::warn!(error = %e, "could not announce new events to other servers");
        }
        tokio::time::sleep(NOTIFY_PAUSE).await;
    }
}

/// A notification is a hint (a lost one costs a poll interval), so its commit does not wait
/// for the disk.
async fn notify(pool: &PgPool, position: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(position.to_string())
        .execute(pool)
        .await
        .map(drop)
}

/// One request as `schalter_append_batch` (migration 0002) reads it, serialised straight from
/// the request (no intermediate JSON tree: the events' data is the bulk of a batch).
#[derive(Serialize)]
struct RequestBody<'a> {
    data_keys: Vec<KeyBody<'a>>,
    command_id: Option<&'a str>,
    fingerprint: Option<&'a str>,
    metadata: &'a Metadata,
    expectations: Vec<ExpectationBody<'a>>,
    events: &'a [NewEvent],
}

#[derive(Serialize)]
struct KeyBody<'a> {
    id: &'a str,
    wrapped: String,
}

#[derive(Serialize)]
struct ExpectationBody<'a> {
    stream: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
}

impl<'a> RequestBody<'a> {
    fn of(request: &'a AppendRequest) -> RequestBody<'a> {
        let expectations = request
            .expectations
            .iter()
            .map(|(stream, e)| {
                let (kind, version) = match e {
                    Expectation::Any => ("any", None),
                    Expectation::NoStream => ("no_stream", None),
                    Expectation::AtVersion(v) => ("at", Some(*v)),
                };
                ExpectationBody { stream, kind, version }
            })
            .collect();
        let data_keys = request
            .data_keys
            .iter()
            .map(|k| KeyBody {
                id: &k.id,
                wrapped: hex(&k.wrapped),
            })
            .collect();
        RequestBody {
            data_keys,
            command_id: request.command_id.as_deref(),
            fingerprint: request.fingerprint.as_deref(),
            metadata: &request.metadata,
            expectations,
            events: &request.events,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum BatchResult {
    Ok(AppendOutcome),
    Conflict { stream: String, actual: i64 },
    Reused { command_id: String },
}

const EVENT_COLUMNS: &str = "position, stream, version, event_type, schema, data, metadata, recorded_at";

fn event_from_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let Json(metadata) = row
        .try_get::<Json<Metadata>, _>("metadata")
        .map_err(|e| StoreError::Corrupt {
            position,
            reason: e.to_string(),
        })?;
    Ok(RecordedEvent {
        position,
        stream: row.try_get("stream")?,
        version: row.try_get("version")?,
        event_type: row.try_get("event_type")?,
        schema: row.try_get("schema")?,
        data: row.try_get("data")?,
        metadata,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at")?,
    })
}

async fn command_outcome(
    executor: impl sqlx::PgExecutor<'_>,
    command_id: &str,
) -> Result<Option<(AppendOutcome, Option<String>)>, StoreError> {
    let row = sqlx::query(
        "SELECT first_position, last_position, streams::text AS streams, fingerprint FROM commands WHERE command_id = $1",
    )
    .bind(command_id)
    .fetch_optional(executor)
    .await?;
    row.map(|row| {
        let first_position: i64 = row.try_get("first_position")?;
        let outcome = AppendOutcome {
            first_position,
            last_position: row.try_get("last_position")?,
            streams: parse_streams(first_position, row.try_get("streams")?)?,
            duplicate: true,
        };
        Ok((outcome, row.try_get("fingerprint")?))
    })
    .transpose()
}

/// The oldest transaction of this database the statement's snapshot saw running (or, with none,
/// the snapshot's upper bound): every event of an older transaction is settled. Transaction ids
/// are shared by all databases of a PostgreSQL server, so transactions of other databases, which
/// cannot append here, are left out; one whose database is unknown counts as this one's.
const SETTLED_BELOW: &str = "\
    WITH snapshot AS (SELECT pg_current_snapshot() AS s), \
         elsewhere AS MATERIALIZED ( \
             SELECT a.backend_xid FROM pg_stat_get_activity(NULL) a \
              WHERE a.backend_xid IS NOT NULL \
                AND a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())) \
    SELECT COALESCE((SELECT MIN(x) FROM pg_snapshot_xip(s) x WHERE x::xid NOT IN (SELECT backend_xid FROM elsewhere)), \
                    pg_snapshot_xmax(s)) AS below \
      FROM snapshot";

const SETTLE_FIRST_PAUSE: Duration = Duration::from_micros(500);
const SETTLE_LAST_PAUSE: Duration = Duration::from_millis(32);

impl PgStore {
    /// Events after `after` that no running append can precede (migration 0008, rule 3), and
    /// whether a later one was held back because one still might.
    async fn read_settled(&self, after: i64, limit: i64) -> Result<(Vec<RecordedEvent>, bool), StoreError> {
        // The horizon as a scalar subquery is computed once; joined as a table it was
        // rescanned for every row and halved the read rate.
        let rows = sqlx::query(&format!(
            "WITH horizon AS ({SETTLED_BELOW}) \
             SELECT {EVENT_COLUMNS}, tx < (SELECT below FROM horizon) AS settled \
               FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if !row.try_get::<bool, _>("settled")? {
                return Ok((events, true));
            }
            events.push(event_from_row(row)?);
        }
        Ok((events, false))
    }
}

#[async_trait]
impl EventStore for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let before = applied_count(&self.pool).await;
        MIGRATOR.run(&self.pool).await?;
        let head = self.head().await?;
        self.wake.send_replace(head);
        Ok(applied_count(&self.pool).await.saturating_sub(before))
    }

    async fn append_batch(
        &self,
        requests: &[AppendRequest],
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let payload: Vec<RequestBody> = requests.iter().map(RequestBody::of).collect();
        let mut connection = self.pool.acquire().await?;
        let answer = sqlx::query_scalar("SELECT schalter_append_batch($1::jsonb, $2)")
            .bind(Json(payload))
            .bind(recorded_at)
            .fetch_one(&mut *connection)
            .await;
        let Json(results): Json<Vec<BatchResult>> = match answer {
            Ok(results) => results,
            Err(e) => {
                // The function releases its short session lock on every error it sees; closing
                // the connection also covers one it cannot see (a cancel at the wrong moment).
                let _ = connection.close().await;
                return Err(unique_to_conflict(e));
            }
        };
        if results.len() != requests.len() {
            return Err(StoreError::BatchFailed(format!(
                "append function answered {} results for {} requests",
                results.len(),
                requests.len()
            )));
        }
        let outcomes: Vec<_> = results
            .into_iter()
            .zip(requests)
            .map(|(result, request)| match result {
                BatchResult::Ok(outcome) => Ok(outcome),
                BatchResult::Reused { command_id } => Err(StoreError::CommandReused { command_id }),
                BatchResult::Conflict { stream, actual } => Err(StoreError::Conflict {
                    expected: request
                        .expectations
                        .iter()
                        .find(|(s, _)| *s == stream)
                        .map(|(_, e)| *e)
                        .unwrap_or(Expectation::Any),
                    stream,
                    actual,
                }),
            })
            .collect();
        Ok(outcomes)
    }

    async fn command_outcome(&self, command_id: &str) -> Result<Option<(AppendOutcome, Option<String>)>, StoreError> {
        command_outcome(&self.pool, command_id).await
    }

    async fn read_stream(&self, stream: &str, after_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream = $1 AND version > $2 ORDER BY version"
        ))
        .bind(stream)
        .bind(after_version)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn read_all(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        // An unsettled event at the front is usually a commit microseconds away; a few short
        // waits here save the caller a whole wake-up round.
        let mut pause = SETTLE_FIRST_PAUSE;
        loop {
            let (events, withheld) = self.read_settled(after, limit).await?;
            if !events.is_empty() || !withheld || pause > SETTLE_LAST_PAUSE {
                return Ok(events);
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }

    async fn head(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(position), 0)::BIGINT FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn checkpoint(&self, subscriber: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT position FROM checkpoints WHERE subscriber = $1")
                .bind(subscriber)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn save_checkpoint(&self, subscriber: &str, position: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (subscriber, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (subscriber) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(subscriber)
        .bind(position)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn put_data_key(&self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO data_keys (id, wrapped, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(wrapped)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn data_key(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar::<_, Option<Vec<u8>>>("SELECT wrapped FROM data_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    async fn erase_data_key(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET wrapped = NULL, erased_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn data_key_rows(&self, after_id: &str, limit: i64) -> Result<Vec<DataKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, wrapped, created_at, erased_at FROM data_keys WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn rewrap_data_key(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE data_keys SET wrapped = $1 WHERE id = $2 AND wrapped = $3")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn import(&self, events: &[RecordedEvent], keys: &[DataKeyRow]) -> Result<(), StoreError> {
        // One statement per table: a restore of a year's log is a few hundred round trips.
        let mut tx = self.pool.begin().await?;
        let rows: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "position": e.position, "stream": e.stream, "version": e.version,
                    "event_type": e.event_type, "schema": e.schema, "data": e.data,
                    "metadata": e.metadata, "recorded_at": e.recorded_at,
                })
            })
            .collect();
        sqlx::query(
            "INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at) \
             SELECT (r->>'position')::bigint, r->>'stream', (r->>'version')::bigint, r->>'event_type', \
                    (r->>'schema')::int, r->'data', r->'metadata', (r->>'recorded_at')::timestamptz \
               FROM jsonb_array_elements($1) r",
        )
        .bind(Json(rows))
        .execute(&mut *tx)
        .await?;
        let keys: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "id": k.id, "wrapped": k.wrapped.as_deref().map(hex),
                    "created_at": k.created_at, "erased_at": k.erased_at,
                })
            })
            .collect();
        sqlx::query(
            "INSERT INTO data_keys (id, wrapped, created_at, erased_at) \
             SELECT r->>'id', decode(r->>'wrapped', 'hex'), (r->>'created_at')::timestamptz, \
                    (r->>'erased_at')::timestamptz \
               FROM jsonb_array_elements($1) r",
        )
        .bind(Json(keys))
        .execute(&mut *tx)
        .await?;
        sqlx::query("SELECT setval('events_position', COALESCE(MAX(position), 0) + 1, false) FROM events")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    fn wake_ups(&self) -> watch::Receiver<i64> {
        self.wake.subscribe()
    }

    fn committed(&self, position: i64) {
        advance(&self.wake, position);
        advance(&self.written, position);
    }

    fn parallel_batches(&self) -> usize {
        self.parallel_batches
    }

    async fn close(&self) {
        self.listener.abort();
        self.notifier.abort();
        // A short-lived writer (a CLI command) may close before its notifier had its turn.
        let position = *self.written.borrow();
        if position > 0 {
            let _ = notify(&self.pool, position).await;
        }
        self.pool.close().await;
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
        self.notifier.abort();
    }
}

async fn applied_count(pool: &PgPool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

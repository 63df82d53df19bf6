//! Embedded backend: one file, WAL, a single writer connection using `BEGIN IMMEDIATE`,
//! and a few reader connections that never block it.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::watch;

use super::{
    advance, now, parse_streams, plan_append, redact, streams_json, unique_to_conflict, AppendOutcome, AppendRequest,
    Backend, DataKeyRow, EventStore, StoreError,
};
use crate::event::{Metadata, RecordedEvent};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    wake: watch::Sender<i64>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let connect_err = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged booking survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(connect_err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let (wake, _) = watch::channel(0);
        Ok(SqliteStore { writer, reader, wake })
    }
}

fn event_from_row(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let data: String = row.try_get("data")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(RecordedEvent {
        position,
        stream: row.try_get("stream")?,
        version: row.try_get("version")?,
        event_type: row.try_get("event_type")?,
        schema: row.try_get("schema")?,
        data: serde_json::from_str(&data).map_err(|e| corrupt(e.to_string()))?,
        metadata: serde_json::from_str::<Metadata>(&metadata).map_err(|e| corrupt(e.to_string()))?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at")?,
    })
}

const EVENT_COLUMNS: &str = "position, stream, version, event_type, schema, data, metadata, recorded_at";

async fn command_outcome(
    executor: impl sqlx::SqliteExecutor<'_>,
    command_id: &str,
) -> Result<Option<(AppendOutcome, Option<String>)>, StoreError> {
    let row =
        sqlx::query("SELECT first_position, last_position, streams, fingerprint FROM commands WHERE command_id = ?")
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

async fn write_batch(
    writer: &mut sqlx::SqliteConnection,
    requests: &[AppendRequest],
    recorded_at: DateTime<Utc>,
) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let mut head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(&mut *tx)
        .await?;
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        results.push(append_one(&mut tx, request, &mut head, recorded_at).await?);
    }
    tx.commit().await?;
    Ok(results)
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let before = applied_count(&self.writer).await;
        MIGRATOR.run(&self.writer).await?;
        let head = self.head().await?;
        self.wake.send_replace(head);
        Ok(applied_count(&self.writer).await.saturating_sub(before))
    }

    async fn append_batch(
        &self,
        requests: &[AppendRequest],
        recorded_at: DateTime<Utc>,
    ) -> Result<Vec<Result<AppendOutcome, StoreError>>, StoreError> {
        let mut writer = self.writer.acquire().await?;
        let written = write_batch(&mut writer, requests, recorded_at).await;
        if written.is_err() {
            // A commit that failed (a full disk) can leave the connection inside its
            // transaction; the next batch gets a fresh one, and closing rolls this one back.
            let _ = writer.close().await;
        }
        written
    }

    async fn command_outcome(&self, command_id: &str) -> Result<Option<(AppendOutcome, Option<String>)>, StoreError> {
        command_outcome(&self.reader, command_id).await
    }

    async fn read_stream(&self, stream: &str, after_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream = ? AND version > ? ORDER BY version"
        ))
        .bind(stream)
        .bind(after_version)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn read_all(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&self.reader)
            .await?)
    }

    async fn checkpoint(&self, subscriber: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT position FROM checkpoints WHERE subscriber = ?")
                .bind(subscriber)
                .fetch_optional(&self.reader)
                .await?
                .unwrap_or(0),
        )
    }

    async fn save_checkpoint(&self, subscriber: &str, position: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (subscriber, position, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (subscriber) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(subscriber)
        .bind(position)
        .bind(now())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn put_data_key(&self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        insert_data_key(&self.writer, id, wrapped, now()).await
    }

    async fn data_key(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar::<_, Option<Vec<u8>>>("SELECT wrapped FROM data_keys WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.reader)
                .await?
                .flatten(),
        )
    }

    async fn erase_data_key(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        // Freed pages are zeroed, so the key's bytes do not linger in the file.
        sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
        sqlx::query("UPDATE data_keys SET wrapped = NULL, erased_at = ? WHERE id = ?")
            .bind(now())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn data_key_rows(&self, after_id: &str, limit: i64) -> Result<Vec<DataKeyRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, wrapped, created_at, erased_at FROM data_keys WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after_id)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?,
        )
    }

    async fn rewrap_data_key(&self, id: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE data_keys SET wrapped = ? WHERE id = ? AND wrapped = ?")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn import(&self, events: &[RecordedEvent], keys: &[DataKeyRow]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for event in events {
            sqlx::query(
                "INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(event.position)
            .bind(&event.stream)
            .bind(event.version)
            .bind(&event.event_type)
            .bind(event.schema)
            .bind(event.data.to_string())
            .bind(serde_json::to_string(&event.metadata).expect("metadata serialises"))
            .bind(event.recorded_at)
            .execute(&mut *tx)
            .await?;
        }
        for key in keys {
            sqlx::query("INSERT INTO data_keys (id, wrapped, created_at, erased_at) VALUES (?, ?, ?, ?)")
                .bind(&key.id)
                .bind(&key.wrapped)
                .bind(key.created_at)
                .bind(key.erased_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn wake_ups(&self) -> watch::Receiver<i64> {
        self.wake.subscribe()
    }

    fn committed(&self, position: i64) {
        advance(&self.wake, position);
    }

    async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

async fn insert_data_key(
    executor: impl sqlx::SqliteExecutor<'_>,
    id: &str,
    wrapped: &[u8],
    created_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO data_keys (id, wrapped, created_at) VALUES (?, ?, ?)")
        .bind(id)
        .bind(wrapped)
        .bind(created_at)
        .execute(executor)
        .await?;
    Ok(())
}

/// One request inside the batch's transaction. The inner error is this request's conflict;
/// the outer one fails the whole batch.
async fn append_one(
    tx: &mut sqlx::SqliteConnection,
    request: &AppendRequest,
    head: &mut i64,
    recorded_at: DateTime<Utc>,
) -> Result<Result<AppendOutcome, StoreError>, StoreError> {
    if let Some(id) = &request.command_id {
        if let Some((outcome, stored)) = command_outcome(&mut *tx, id).await? {
            return Ok(
                super::request::same_command(id, stored.as_deref(), request.fingerprint.as_deref()).map(|()| outcome),
            );
        }
    }
    let mut current = HashMap::new();
    for stream in request.streams() {
        let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?")
            .bind(&stream)
            .fetch_one(&mut *tx)
            .await?;
        current.insert(stream, version);
    }
    let (planned, written) = match plan_append(request, &current, *head) {
        Ok(plan) => plan,
        Err(conflict) => return Ok(Err(conflict)),
    };
    let metadata = serde_json::to_string(&request.metadata).expect("metadata serialises");
    for (event, plan) in request.events.iter().zip(&planned) {
        sqlx::query(
            "INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(plan.position)
        .bind(&event.stream)
        .bind(plan.version)
        .bind(&event.event_type)
        .bind(event.schema)
        .bind(event.data.to_string())
        .bind(&metadata)
        .bind(recorded_at)
        .execute(&mut *tx)
        .await
        .map_err(unique_to_conflict)?;
    }
    let outcome = AppendOutcome {
        first_position: planned[0].position,
        last_position: planned[planned.len() - 1].position,
        streams: written,
        duplicate: false,
    };
    *head = outcome.last_position;
    for key in &request.data_keys {
        insert_data_key(&mut *tx, &key.id, &key.wrapped, recorded_at).await?;
    }
    if let Some(id) = &request.command_id {
        sqlx::query(
            "INSERT INTO commands (command_id, first_position, last_position, streams, recorded_at, fingerprint) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(outcome.first_position)
        .bind(outcome.last_position)
        .bind(streams_json(&outcome.streams))
        .bind(recorded_at)
        .bind(&request.fingerprint)
        .execute(&mut *tx)
        .await
        .map_err(unique_to_conflict)?;
    }
    Ok(Ok(outcome))
}

async fn applied_count(pool: &SqlitePool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

//! Production backend. Appends are serialised by a transaction-scoped advisory lock: PostgreSQL
//! releases it only after the commit is visible, so positions increase in commit order and a
//! reader by position can never skip an event that commits late with a lower number (the
//! classic failure of a plain `BIGSERIAL`).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, Row};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    now, parse_streams, plan_append, redact, streams_json, unique_to_conflict, AppendOutcome, AppendRequest, Backend,
    EventStore, StoreError,
};
use crate::event::{Metadata, RecordedEvent};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Advisory lock key for appends ("SCHALT" in ASCII); advisory locks are per database.
const APPEND_LOCK: i64 = 0x5343_4841_4c54;
const CHANNEL: &str = "schalter_events";

pub struct PgStore {
    pool: PgPool,
    wake: watch::Sender<i64>,
    listener: JoinHandle<()>,
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
        Ok(PgStore { pool, wake, listener })
    }
}

/// LISTEN/NOTIFY carries only the new head position; subscribers read the data themselves.
async fn forward_notifications(mut listener: PgListener, wake: watch::Sender<i64>) {
    loop {
        match listener.recv().await {
            Ok(n) => {
                if let Ok(position) = n.payload().parse::<i64>() {
                    wake.send_if_modified(|p| {
                        let newer = position > *p;
                        if newer {
                            *p = position;
                        }
                        newer
                    });
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
) -> Result<Option<AppendOutcome>, StoreError> {
    let row = sqlx::query(
        "SELECT first_position, last_position, streams::text AS streams FROM commands WHERE command_id = $1",
    )
    .bind(command_id)
    .fetch_optional(executor)
    .await?;
    row.map(|row| {
        let first_position: i64 = row.try_get("first_position")?;
        Ok(AppendOutcome {
            first_position,
            last_position: row.try_get("last_position")?,
            streams: parse_streams(first_position, row.try_get("streams")?)?,
            duplicate: true,
        })
    })
    .transpose()
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

    async fn append(&self, request: &AppendRequest) -> Result<AppendOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *tx)
            .await?;
        if let Some(id) = &request.command_id {
            if let Some(outcome) = command_outcome(&mut *tx, id).await? {
                return Ok(outcome);
            }
        }
        let streams = request.streams();
        let current: HashMap<String, i64> =
            sqlx::query_as("SELECT stream, MAX(version) FROM events WHERE stream = ANY($1) GROUP BY stream")
                .bind(&streams)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0)::BIGINT FROM events")
            .fetch_one(&mut *tx)
            .await?;
        let (planned, written) = plan_append(request, &current, head)?;
        let recorded_at = now();
        let metadata = serde_json::to_string(&request.metadata).expect("metadata serialises");
        let n = request.events.len();
        let positions: Vec<i64> = planned.iter().map(|p| p.position).collect();
        let versions: Vec<i64> = planned.iter().map(|p| p.version).collect();
        let stream_names: Vec<&str> = request.events.iter().map(|e| e.stream.as_str()).collect();
        let types: Vec<&str> = request.events.iter().map(|e| e.event_type.as_str()).collect();
        let schemas: Vec<i32> = request.events.iter().map(|e| e.schema).collect();
        let data: Vec<String> = request.events.iter().map(|e| e.data.to_string()).collect();
        sqlx::query(
            "INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at) \
             SELECT p, s, v, t, sc, d::jsonb, $7::jsonb, $8 \
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[]) AS x(p, s, v, t, sc, d)",
        )
        .bind(&positions)
        .bind(&stream_names)
        .bind(&versions)
        .bind(&types)
        .bind(&schemas)
        .bind(&data)
        .bind(&metadata)
        .bind(recorded_at)
        .execute(&mut *tx)
        .await
        .map_err(unique_to_conflict)?;
        let outcome = AppendOutcome {
            first_position: positions[0],
            last_position: positions[n - 1],
            streams: written,
            duplicate: false,
        };
        if let Some(id) = &request.command_id {
            sqlx::query(
                "INSERT INTO commands (command_id, first_position, last_position, streams, recorded_at) VALUES ($1, $2, $3, $4::jsonb, $5)",
            )
            .bind(id)
            .bind(outcome.first_position)
            .bind(outcome.last_position)
            .bind(streams_json(&outcome.streams))
            .bind(recorded_at)
            .execute(&mut *tx)
            .await
            .map_err(unique_to_conflict)?;
        }
        // Delivered on commit only; carries the position, never the data.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(outcome.last_position.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.wake.send_if_modified(|p| {
            let newer = outcome.last_position > *p;
            if newer {
                *p = outcome.last_position;
            }
            newer
        });
        Ok(outcome)
    }

    async fn command_outcome(&self, command_id: &str) -> Result<Option<AppendOutcome>, StoreError> {
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
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
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

    fn wake_ups(&self) -> watch::Receiver<i64> {
        self.wake.subscribe()
    }

    async fn close(&self) {
        self.listener.abort();
        self.pool.close().await;
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

async fn applied_count(pool: &PgPool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

//! What a writer asks of the store (one atomic append with its expectations) and what it gets
//! back (the streams' new versions, or why not).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Expectation, Metadata, NewEvent};

/// One atomic write: all events land, or none do.
#[derive(Debug, Clone, Default)]
pub struct AppendRequest {
    /// Idempotency key; a second append with the same key returns the first outcome.
    pub command_id: Option<String>,
    /// What the key was first used for (a digest of the request): the same key with another
    /// fingerprint is refused as [`StoreError::CommandReused`], so a key never answers for a
    /// request other than its own.
    pub fingerprint: Option<String>,
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

/// A row of the vault's key table as stored: an erased key keeps its id and dates, not its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DataKeyRow {
    pub id: String,
    pub wrapped: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
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

    pub fn fingerprint(mut self, fingerprint: Option<String>) -> Self {
        self.fingerprint = fingerprint;
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
    pub(super) fn streams(&self) -> Vec<String> {
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
    #[error("a batch of appends failed: {0}")]
    BatchFailed(String),
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: i64, reason: String },
    #[error("the command id {command_id:?} was used for another request")]
    CommandReused { command_id: String },
}

/// A repeated command id answers only for the request it was first used for.
pub(super) fn same_command(command_id: &str, stored: Option<&str>, requested: Option<&str>) -> Result<(), StoreError> {
    if stored == requested {
        Ok(())
    } else {
        Err(StoreError::CommandReused {
            command_id: command_id.to_owned(),
        })
    }
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. } | StoreError::ConcurrentWrite)
    }

    /// The database cannot be reached or cannot write just now (a restart, an outage, a full
    /// or read-only disk): worth trying again later, not a fault in the request or the code.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::Unavailable(_) => true,
            StoreError::Database(e) => database_unavailable(e),
            _ => false,
        }
    }
}

fn database_unavailable(e: &sqlx::Error) -> bool {
    use sqlx::error::DatabaseError;
    use sqlx::postgres::PgDatabaseError;
    use sqlx::sqlite::SqliteError;
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                let code = pg.code();
                // 08: connection exceptions; 57P0x: shut down, crashed, starting up;
                // 53: out of disk, memory or connections; 55000 at connect: not accepting
                // connections to this database; 25006: a read-only standby.
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code.starts_with("53")
                    || code == "25006"
                    || (code == "55000" && pg.message().contains("accepting connections"))
            } else if let Some(sqlite) = db.try_downcast_ref::<SqliteError>() {
                let primary = sqlite.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
                // SQLITE_BUSY (past the busy timeout), READONLY, IOERR, FULL, CANTOPEN.
                matches!(primary, Some(5 | 8 | 10 | 13 | 14))
            } else {
                false
            }
        }
        _ => false,
    }
}

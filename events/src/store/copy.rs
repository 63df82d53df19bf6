//! Copying a whole store into an empty one: a backup, a restore, or the move from the embedded
//! SQLite file to PostgreSQL are the same operation. The log is copied as stored (no
//! upcasting) up to the source's head when the copy began; the vault's key table as it is once
//! the events are copied, so a key erased meanwhile is erased in the copy too.

use super::{Store, StoreError};

const EVENTS_PER_BATCH: i64 = 5_000;
const KEYS_PER_BATCH: i64 = 5_000;

/// What a copy carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Copied {
    pub events: u64,
    /// The last position copied: the source's head when the copy began.
    pub head: i64,
    /// Keys that still open their personal data.
    pub data_keys: u64,
    /// Keys already erased (kept as rows, so the copy knows the data was erased, not lost).
    pub erased_keys: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty (it holds events or personal-data keys); copy only into a new, empty one"
    )]
    TargetNotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `store` holds nothing yet: no event and no data key.
pub async fn is_empty(store: &Store) -> Result<bool, StoreError> {
    Ok(store.head().await? == 0 && store.data_key_rows("", 1).await?.is_empty())
}

/// Copies everything from `from` into the empty `to`; `progress` hears the number of events
/// copied so far after each batch.
pub async fn copy_store(from: &Store, to: &Store, mut progress: impl FnMut(u64)) -> Result<Copied, CopyError> {
    if !is_empty(to).await? {
        return Err(CopyError::TargetNotEmpty);
    }
    let head = from.head().await?;
    let mut copied = Copied {
        head,
        ..Copied::default()
    };
    let mut position = 0;
    while position < head {
        let mut batch = from.read_all_as_stored(position, EVENTS_PER_BATCH).await?;
        batch.retain(|e| e.position <= head);
        let Some(last) = batch.last() else { break };
        position = last.position;
        to.import(&batch, &[]).await?;
        copied.events += batch.len() as u64;
        progress(copied.events);
    }
    let mut pages = from.data_key_pages(KEYS_PER_BATCH);
    while let Some(keys) = pages.next().await? {
        let erased = keys.iter().filter(|k| k.wrapped.is_none()).count() as u64;
        copied.erased_keys += erased;
        copied.data_keys += keys.len() as u64 - erased;
        to.import(&[], &keys).await?;
    }
    Ok(copied)
}

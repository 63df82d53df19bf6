//! One aggregate's stream, read from the store and folded: for decisions that must see what is
//! committed now, not what this server's projections have applied.

use schalter_events::booking::{self, Booking};
use schalter_events::store::{Store, StoreError};

/// The booking behind a code's hash; `None` when there is none.
pub async fn booking(store: &Store, code_hash: &str) -> Result<Option<Booking>, StoreError> {
    let events = store.read_stream(&booking::stream(code_hash), 0).await?;
    Booking::fold(&events).map_err(|e| StoreError::Corrupt {
        position: e.position,
        reason: e.to_string(),
    })
}

//! One aggregate's stream, read from the store and folded: for decisions that must see what is
//! committed now, not what this server's projections have applied.

use schalter_events::booking::{self, Booking};
use schalter_events::case::{self, Case};
use schalter_events::catalogue::{self, Catalogue};
use schalter_events::renewal::{self, Renewal};
use schalter_events::store::{Store, StoreError};

/// The booking behind a code's hash; `None` when there is none.
pub async fn booking(store: &Store, code_hash: &str) -> Result<Option<Booking>, StoreError> {
    let events = store.read_stream(&booking::stream(code_hash), 0).await?;
    Booking::fold(&events).map_err(|e| StoreError::Corrupt {
        position: e.position,
        reason: e.to_string(),
    })
}

/// The case behind a tracking code's hash; `None` when there is none.
pub async fn case(store: &Store, tracking_hash: &str) -> Result<Option<Case>, StoreError> {
    let events = store.read_stream(&case::stream(tracking_hash), 0).await?;
    Case::fold(&events).map_err(|e| StoreError::Corrupt {
        position: e.position,
        reason: e.to_string(),
    })
}

/// The renewal reminder left at the case behind a tracking code's hash.
pub async fn renewal(store: &Store, tracking_hash: &str) -> Result<Option<Renewal>, StoreError> {
    let events = store.read_stream(&renewal::stream(tracking_hash), 0).await?;
    Renewal::fold(&events).map_err(|e| StoreError::Corrupt {
        position: e.position,
        reason: e.to_string(),
    })
}

/// The catalogue as committed, with its stream's version (0 when nothing is configured yet).
pub async fn catalogue(store: &Store) -> Result<(Catalogue, i64), StoreError> {
    let events = store.read_stream(catalogue::STREAM, 0).await?;
    let mut folded = Catalogue::default();
    for e in &events {
        folded.apply_recorded(e).map_err(|d| StoreError::Corrupt {
            position: d.position,
            reason: d.to_string(),
        })?;
    }
    Ok((folded, events.last().map_or(0, |e| e.version)))
}

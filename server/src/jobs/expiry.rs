//! Releases the places of bookings nobody confirmed in time (where an office asks citizens to
//! confirm by email). Runs every few seconds in every server: two servers racing write it once,
//! since the expiry is expected at the booking's version and the loser finds nothing to do.

use std::time::Duration;

use chrono::Utc;

use schalter_events::booking;
use schalter_events::store::Store;

use crate::engine::executor::{Attempt, Command, Decided, Executed, WriteError};
use crate::engine::state::AppState;
use crate::engine::streams;

pub fn spawn(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => return,
            }
            let overdue = state.taken().overdue(Utc::now());
            for stream in overdue {
                let command = Expire {
                    store: &state.store,
                    stream,
                };
                match state.execute("system:expiry", None, command).await {
                    Ok(Executed::Done(true, _)) => tracing::info!("released a booking that was not confirmed in time"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not release an unconfirmed booking"),
                }
            }
        }
    });
}

/// Releases a booking's places; nothing if it was confirmed, cancelled or released meanwhile
/// (by another server, say).
struct Expire<'a> {
    store: &'a Store,
    stream: String,
}

impl Command for Expire<'_> {
    type Output = bool;
    type Error = WriteError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, WriteError> {
        let code_hash = self.stream.trim_start_matches("booking-");
        let expired = streams::booking(self.store, code_hash)
            .await?
            .and_then(|b| booking::expire(&b, code_hash, attempt.now));
        Ok(match expired {
            Some(decision) => Decided::append(decision, true),
            None => Decided::Nothing(false),
        })
    }
}

//! Releases the places of bookings nobody confirmed in time (where an office asks citizens to
//! confirm by email). Runs every few seconds in every server: two servers racing write it once,
//! since the expiry is expected at the booking's version and the loser finds nothing to do.

use std::time::Duration;

use chrono::Utc;

use crate::engine::state::AppState;
use crate::features::bookings::Expire;

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
                    code_hash: stream.trim_start_matches("booking-").to_owned(),
                };
                match state.execute("system:expiry", None, command).await {
                    Ok(_) => tracing::info!("released a booking that was not confirmed in time"),
                    Err(e) => tracing::warn!(error = %e, "could not release an unconfirmed booking"),
                }
            }
        }
    });
}

//! Releases the places of bookings nobody confirmed in time (where an office asks citizens to
//! confirm by email), and asks appointments booked long ahead to be confirmed again (where an
//! office's `ReconfirmRule` says so). Runs every few seconds in every server: two servers racing
//! write it once, since each step is expected at the booking's version and the loser finds
//! nothing to do.

use std::time::Duration;

use schalter_events::booking;
use schalter_events::store::Store;
use schalter_events::Metadata;

use crate::engine::clock::Clock;
use crate::engine::executor::{Attempt, Command, Decided, Executed, WriteError};
use crate::engine::state::AppState;
use crate::engine::streams;

/// Runs on `clock` (the messages' clock: a test moves both forward together).
pub fn spawn(state: AppState, clock: Clock) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = shutdown.changed() => return,
            }
            let overdue = state.taken().overdue(clock.now());
            for stream in overdue {
                let command = Expire {
                    store: &state.store,
                    stream,
                };
                let at = Metadata::by("system:expiry", clock.now());
                match state.executor.execute_as(at, command).await {
                    Ok(Executed::Done(true, _)) => tracing::info!("released a booking that was not confirmed in time"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not release an unconfirmed booking"),
                }
            }
            let now = clock.now();
            let due = {
                let catalogue = state.catalogue();
                let rule_of = |location: &str| catalogue.schedules.get(location).and_then(|s| s.reconfirm);
                state.taken().to_reconfirm(now, rule_of)
            };
            for (stream, rule) in due {
                let command = AskReconfirmation {
                    store: &state.store,
                    stream,
                    rule,
                };
                let at = Metadata::by("system:reconfirmation", now);
                match state.executor.execute_as(at, command).await {
                    Ok(Executed::Done(true, _)) => tracing::info!("asked to confirm an appointment booked long ahead"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not ask for a reconfirmation"),
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

/// Asks a booking made long ahead to be confirmed again; nothing if it is not due (cancelled,
/// still to confirm the first time, asked by another server meanwhile).
struct AskReconfirmation<'a> {
    store: &'a Store,
    stream: String,
    rule: booking::ReconfirmRule,
}

impl Command for AskReconfirmation<'_> {
    type Output = bool;
    type Error = WriteError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, WriteError> {
        let code_hash = self.stream.trim_start_matches("booking-");
        let asked = streams::booking(self.store, code_hash)
            .await?
            .and_then(|b| booking::ask_reconfirmation(&b, code_hash, self.rule, attempt.now));
        Ok(match asked {
            Some(decision) => Decided::append(decision, true),
            None => Decided::Nothing(false),
        })
    }
}

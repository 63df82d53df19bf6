//! Erasing personal data on time: after the retention period (default 30 days after the
//! appointment) a booking's data key is destroyed and `PersonalDataErased` recorded; a phone
//! number a walk-in left goes the day after (`ContactErased` on the ticket's stream); the address
//! an application left for "ready" goes the retention period after the case closed (picked up
//! or withdrawn; `ContactErased` on the case's stream); the address left for a renewal reminder
//! goes once the reminder went out (the message sender erases it then) or lapsed
//! ([`renewal::VALID_DAYS`] after its day, when no sender could send it). Runs daily
//! in every server and on demand with `schalter purge`; running twice, or on two servers at
//! once, erases nothing twice.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use schalter_events::booking::{self, Booking, ErasureReason, Personal};
use schalter_events::case::{self, Case};
use schalter_events::queue::{self, NumberEvent, TicketEvent};
use schalter_events::renewal::{self, Renewal};
use schalter_events::store::{Store, StoreError};
use schalter_events::{decode, encode, Decision, Expectation};

use crate::engine::executor::{Attempt, Busy, Command, Decided, Executed, Executor};
use crate::engine::streams;
use crate::engine::vault::{Vault, VaultError};

pub const DEFAULT_RETENTION_DAYS: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("the log holds an unreadable booking event: {0}")]
    Decode(String),
    #[error(transparent)]
    Busy(#[from] Busy),
}

/// Erases the personal data of every booking that ended before `cutoff`; returns how many.
pub async fn purge(store: &Store, vault: &Vault, cutoff: DateTime<Utc>) -> Result<usize, PurgeError> {
    let mut bookings: HashMap<String, Option<Booking>> = HashMap::new();
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        for e in batch.iter().filter(|e| e.stream.starts_with("booking-")) {
            let entry = bookings.entry(e.stream.clone()).or_default();
            Booking::apply(entry, e).map_err(|err| PurgeError::Decode(err.to_string()))?;
        }
    }
    let executor = Executor::new(store.clone());
    let mut erased = 0;
    for (stream, booking) in bookings {
        if !booking.is_some_and(|b| !b.erased && b.end < cutoff) {
            continue;
        }
        let code_hash = stream.trim_start_matches("booking-");
        if erase(
            &executor,
            vault,
            code_hash,
            ErasureReason::Retention,
            "system:retention",
        )
        .await?
        {
            erased += 1;
        }
    }
    Ok(erased)
}

/// Erases the contacts of cases closed before `cutoff`; returns how many.
pub async fn purge_case_contacts(store: &Store, vault: &Vault, cutoff: DateTime<Utc>) -> Result<usize, PurgeError> {
    let mut cases: HashMap<String, Option<Case>> = HashMap::new();
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        for e in batch.iter().filter(|e| e.stream.starts_with("case-")) {
            let entry = cases.entry(e.stream.clone()).or_default();
            Case::apply(entry, e).map_err(|err| PurgeError::Decode(err.to_string()))?;
        }
    }
    let executor = Executor::new(store.clone());
    let mut erased = 0;
    for (stream, folded) in cases {
        if !folded.is_some_and(|c| c.contact_erasable(cutoff)) {
            continue;
        }
        let command = EraseCaseContact {
            store,
            vault,
            hash: stream.trim_start_matches("case-"),
            cutoff,
        };
        if let Executed::Done(true, _) = executor.execute("system:retention", None, command).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

struct EraseCaseContact<'a> {
    store: &'a Store,
    vault: &'a Vault,
    hash: &'a str,
    cutoff: DateTime<Utc>,
}

impl Command for EraseCaseContact<'_> {
    type Output = bool;
    type Error = PurgeError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, PurgeError> {
        let Some(c) = streams::case(self.store, self.hash).await? else {
            return Ok(Decided::Nothing(false));
        };
        let (Some(decision), Some(contact)) =
            (case::erase_contact(&c, self.hash, self.cutoff, attempt.now), &c.contact)
        else {
            return Ok(Decided::Nothing(false));
        };
        // The key goes first: a record saying "erased" must never stand beside a live key.
        self.vault.erase(contact).await?;
        Ok(Decided::append(decision, true))
    }
}

/// Why a renewal reminder's address goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The citizen withdrew the reminder.
    Withdrawn,
    /// The reminder went out, or its time passed.
    Done,
}

/// Destroys the address key of the renewal reminder at the case `hash`, then records why;
/// false when there is none to erase (none set, withdrawn or erased already).
pub async fn erase_renewal(
    executor: &Executor,
    vault: &Vault,
    hash: &str,
    why: Erasure,
    actor: &str,
) -> Result<bool, PurgeError> {
    let command = EraseRenewal {
        store: executor.store(),
        vault,
        hash,
        why,
    };
    Ok(matches!(
        executor.execute(actor, None, command).await?,
        Executed::Done(true, _)
    ))
}

struct EraseRenewal<'a> {
    store: &'a Store,
    vault: &'a Vault,
    hash: &'a str,
    why: Erasure,
}

impl Command for EraseRenewal<'_> {
    type Output = bool;
    type Error = PurgeError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, PurgeError> {
        let Some(r) = streams::renewal(self.store, self.hash).await? else {
            return Ok(Decided::Nothing(false));
        };
        let decision = match self.why {
            Erasure::Withdrawn => renewal::cancel(&r, self.hash, attempt.now),
            Erasure::Done => renewal::erase(&r, self.hash, attempt.now),
        };
        let Some(decision) = decision else {
            return Ok(Decided::Nothing(false));
        };
        // The key goes first: a record saying "erased" must never stand beside a live key.
        self.vault.erase(&r.contact).await?;
        Ok(Decided::append(decision, true))
    }
}

/// Erases the addresses of renewal reminders that lapsed by `now` (a server without a mail
/// server or gateway never sends them); returns how many.
pub async fn purge_lapsed_renewals(store: &Store, vault: &Vault, now: DateTime<Utc>) -> Result<usize, PurgeError> {
    let (catalogue, _) = streams::catalogue(store).await?;
    let mut renewals: HashMap<String, Option<Renewal>> = HashMap::new();
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        for e in batch.iter().filter(|e| e.stream.starts_with("renewal-")) {
            let entry = renewals.entry(e.stream.clone()).or_default();
            Renewal::apply(entry, e).map_err(|err| PurgeError::Decode(err.to_string()))?;
        }
    }
    let executor = Executor::new(store.clone());
    let mut erased = 0;
    for (stream, folded) in renewals {
        if !folded.is_some_and(|r| r.lapsed(now, &catalogue.time_zone(&r.location))) {
            continue;
        }
        let hash = stream.trim_start_matches("renewal-");
        if erase_renewal(&executor, vault, hash, Erasure::Done, "system:retention").await? {
            erased += 1;
        }
    }
    Ok(erased)
}

impl From<PurgeError> for crate::http::error::ApiError {
    fn from(e: PurgeError) -> Self {
        match e {
            PurgeError::Store(e) => e.into(),
            PurgeError::Vault(e) => e.into(),
            PurgeError::Busy(e) => e.into(),
            PurgeError::Decode(e) => crate::http::error::ApiError::Internal(e),
        }
    }
}

/// Erases the phone numbers walk-ins left for "your turn is near" on days before `before`
/// (the server passes today: a number is needed only on its day); returns how many.
pub async fn purge_ticket_contacts(store: &Store, vault: &Vault, before: NaiveDate) -> Result<usize, PurgeError> {
    // Ticket id → (sealed phone, version of the ticket's stream).
    let mut tickets: HashMap<String, (Option<Personal>, i64)> = HashMap::new();
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        for e in &batch {
            if let Some((location, day, prefix)) = queue::parse_numbers_stream(&e.stream) {
                if day >= before {
                    continue;
                }
                let NumberEvent::TicketIssued { contact, .. } =
                    decode::<NumberEvent>(e).map_err(|err| PurgeError::Decode(err.to_string()))?;
                if contact.is_some() {
                    let id = queue::ticket_id(location, day, &queue::label(prefix, e.version));
                    tickets.entry(id).or_insert((None, 0)).0 = contact;
                }
            } else if let Some(id) = e.stream.strip_prefix("ticket-") {
                let entry = tickets.entry(id.to_owned()).or_insert((None, 0));
                entry.1 = e.version;
                if let Ok(TicketEvent::ContactErased { .. }) = decode::<TicketEvent>(e) {
                    entry.0 = None;
                }
            }
        }
    }
    let executor = Executor::new(store.clone());
    let mut erased = 0;
    for (id, (contact, version)) in tickets {
        let Some(contact) = contact else { continue };
        let command = EraseTicketContact {
            vault,
            stream: format!("ticket-{id}"),
            contact,
            version,
        };
        if let Executed::Done(true, _) = executor.execute("system:retention", None, command).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// Destroys a walk-in's phone number key, then records it on the ticket; a ticket that moved on
/// meanwhile (called, say) is left for the next run.
struct EraseTicketContact<'a> {
    vault: &'a Vault,
    stream: String,
    contact: Personal,
    version: i64,
}

impl Command for EraseTicketContact<'_> {
    type Output = bool;
    type Error = PurgeError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, PurgeError> {
        if attempt.is_retry() {
            return Ok(Decided::Nothing(false));
        }
        self.vault.erase(&self.contact).await?;
        let event = encode(
            self.stream.clone(),
            queue::SCHEMA,
            &TicketEvent::ContactErased { at: attempt.now },
        );
        let expectation = if self.version == 0 {
            Expectation::NoStream
        } else {
            Expectation::AtVersion(self.version)
        };
        Ok(Decided::append(Decision::expecting(event, expectation), true))
    }
}

/// Destroys one booking's data key, then records it; false if it was erased already (by
/// another run, or at the citizen's request).
pub async fn erase(
    executor: &Executor,
    vault: &Vault,
    code_hash: &str,
    reason: ErasureReason,
    actor: &str,
) -> Result<bool, PurgeError> {
    let command = EraseBooking {
        store: executor.store(),
        vault,
        code_hash,
        reason,
    };
    Ok(matches!(
        executor.execute(actor, None, command).await?,
        Executed::Done(true, _)
    ))
}

struct EraseBooking<'a> {
    store: &'a Store,
    vault: &'a Vault,
    code_hash: &'a str,
    reason: ErasureReason,
}

impl Command for EraseBooking<'_> {
    type Output = bool;
    type Error = PurgeError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, PurgeError> {
        let booking = streams::booking(self.store, self.code_hash).await?;
        let erasure = booking
            .and_then(|b| booking::erase_personal_data(&b, self.code_hash, self.reason, attempt.now).map(|d| (b, d)));
        let Some((booking, (event, expectation))) = erasure else {
            return Ok(Decided::Nothing(false));
        };
        // The key goes first: a record saying "erased" must never stand beside a live key.
        self.vault.erase(&booking.contact).await?;
        Ok(Decided::append(Decision::expecting(event, expectation), true))
    }
}

/// The daily run inside the server, first a minute after start.
pub fn schedule(store: Store, vault: Vault, retention_days: u32, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut wait = std::time::Duration::from_secs(60);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            let cutoff = Utc::now() - chrono::Duration::days(i64::from(retention_days));
            match purge(&store, &vault, cutoff).await {
                Ok(n) => tracing::info!(erased = n, retention_days, "retention run finished"),
                Err(e) => tracing::error!(error = %e, "retention run failed; trying again tomorrow"),
            }
            match purge_case_contacts(&store, &vault, cutoff).await {
                Ok(n) => tracing::info!(erased = n, retention_days, "contacts of closed applications erased"),
                Err(e) => tracing::error!(error = %e, "erasing contacts of closed applications failed"),
            }
            match purge_lapsed_renewals(&store, &vault, Utc::now()).await {
                Ok(n) => tracing::info!(erased = n, "addresses of lapsed renewal reminders erased"),
                Err(e) => tracing::error!(error = %e, "erasing addresses of lapsed renewal reminders failed"),
            }
            // Yesterday in Germany is over everywhere by then (UTC date minus one is safe).
            let before = (Utc::now() - chrono::Duration::days(1)).date_naive();
            match purge_ticket_contacts(&store, &vault, before).await {
                Ok(n) => tracing::info!(erased = n, "walk-in phone numbers of past days erased"),
                Err(e) => tracing::error!(error = %e, "erasing walk-in phone numbers failed"),
            }
            wait = std::time::Duration::from_secs(24 * 3600);
        }
    });
}

//! Closing a location for a time (admins): the impact first (which booked appointments it
//! meets), then the closure with the admin's choice for them, recorded in one append.
//!
//! A booking decided on a catalogue that did not yet hold the closure can still land beside it
//! (its server had not applied the closure when it decided). Either side looks again once its
//! own append is in this server's projections: the closure sweeps bookings placed before it
//! ([`sweep`]); a booking placed after it is cancelled at once and refused ([`refuse_if_closed`]).
//! So no booking is acknowledged for a time that is closed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use schalter_events::api::{AffectedBooking, BookingsChoice, BookingsDone, ClosureRequest, Impact, LocalTime};
use schalter_events::booking::{self, Booking, BookingError};
use schalter_events::catalogue::Catalogue;
use schalter_events::closing::{self, Choice, ClosingError};
use schalter_events::slots::{Closure, SlotError};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided, Executed};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};

/// How long the sweep waits for this server's projections to hold the closure.
const SWEEP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let admins = OpenApiRouter::new().routes(routes!(close)).routes(routes!(impact));
    auth::staff_only(admins, state, auth::Staff::Admins)
}

impl From<ClosingError> for ApiError {
    fn from(e: ClosingError) -> Self {
        let message = e.to_string();
        match e {
            ClosingError::UnknownLocation => ApiError::NotFound(message),
            ClosingError::Invalid { field, .. } => ApiError::invalid("invalid_closure", Some(field), message),
            ClosingError::InPast => ApiError::invalid("in_past", Some("to"), message),
            ClosingError::NoteMissing => ApiError::invalid("message_missing", Some("message"), message),
            ClosingError::BookingsAffected(n) => ApiError::BookingsAffected(n),
            ClosingError::Booking(b) => b.into(),
        }
    }
}

fn closure_of(req: &ClosureRequest) -> Closure {
    Closure {
        from_time: req.from_time,
        until_time: req.until_time,
        ..Closure::days(req.from, req.to, req.reason.clone())
    }
}

/// The bookings at `location` a closure meets, read from the store (`(code hash, booking)`).
async fn bookings_met(
    state: &AppState,
    location: &str,
    closure: &Closure,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Booking)>, ApiError> {
    let tz = {
        let catalogue = state.catalogue();
        let schedule = catalogue.schedules.get(location).ok_or(ClosingError::UnknownLocation)?;
        schedule.tz().map_err(BookingError::from)?
    };
    // The closure's days bound the search.
    let day_start = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let from = day_start(closure.from).unwrap_or(now);
    let to = day_start(closure.to + chrono::Duration::days(1)).unwrap_or(now);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let mut met: Vec<_> = coming_bookings(state, location, from, to, now)
        .await?
        .into_iter()
        .filter(|(_, b)| closure.meets(local(b.start), local(b.end)))
        .collect();
    met.sort_by_key(|(_, b)| b.start);
    Ok(met)
}

/// The bookings at `location` still to come that start between `from` and `to` (within the
/// booking window), read from the store, in the order they were placed.
pub(crate) async fn coming_bookings(
    state: &AppState,
    location: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Booking)>, ApiError> {
    let window = {
        let catalogue = state.catalogue();
        match catalogue.schedules.get(location) {
            Some(schedule) => schedule.booking_window_days,
            // No hours yet (a new location): nothing can be booked there.
            None if catalogue.locations.contains_key(location) => return Ok(Vec::new()),
            None => return Err(ClosingError::UnknownLocation.into()),
        }
    };
    let from = from.max(now);
    let to = to.min(now + chrono::Duration::days(i64::from(window) + 2));
    let streams = state.taken().arriving(location, from - chrono::Duration::days(1), to);
    let mut found = Vec::new();
    for stream in streams {
        let events = state.store.read_stream(&stream, 0).await?;
        let placed = events.first().map_or(i64::MAX, |e| e.position);
        let booking = Booking::fold(&events).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(b) = booking.filter(|b| closing::meets(b, location, now, |_, _| true)) {
            let hash = stream.trim_start_matches("booking-").to_owned();
            found.push((placed, hash, b));
        }
    }
    found.sort_by_key(|(placed, ..)| *placed);
    Ok(found.into_iter().map(|(_, hash, b)| (hash, b)).collect())
}

/// The admin's choice for the bookings a change meets, as a request gives it.
pub(crate) fn choice_of(bookings: Option<BookingsChoice>, message: Option<&str>) -> Option<Choice> {
    bookings.map(|b| match b {
        BookingsChoice::Keep => Choice::Keep,
        BookingsChoice::Cancel => Choice::Cancel {
            note: message.unwrap_or_default().to_owned(),
        },
    })
}

pub(crate) fn affected_view(catalogue: &Catalogue, met: &[(String, Booking)]) -> Vec<AffectedBooking> {
    met.iter()
        .map(|(_, b)| AffectedBooking {
            start: LocalTime::at(b.start.with_timezone(&catalogue.time_zone(&b.location))),
            service: b.service.clone(),
            service_name: catalogue
                .services
                .get(&b.service)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// Which booked appointments (time and service, no names) a closure would meet; nothing is
/// recorded.
#[utoipa::path(post, path = "/api/admin/locations/{location}/closures/impact", tag = "staff",
    params(("location" = String, Path)), request_body = ClosureRequest,
    responses((status = 200, body = Impact), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn impact(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
    ApiJson(req): ApiJson<ClosureRequest>,
) -> Result<Json<Impact>, ApiError> {
    let closure = closure_of(&req);
    let now = Utc::now();
    // The same checks as closing, on no bookings: a wrong closure is named before any choice.
    closing::close(&state.catalogue(), &location, &closure, &[], None, now)?;
    let met = bookings_met(&state, &location, &closure, now).await?;
    Ok(Json(Impact {
        bookings: affected_view(&state.catalogue(), &met),
    }))
}

/// Closes a location for a time. If the closure meets booked appointments, `bookings` must say
/// what becomes of them (otherwise 409 `bookings_affected` with their `count`): `keep`, or
/// `cancel` with the `message` each citizen is sent (by email, and SMS where they left a
/// number) with a link to book again.
#[utoipa::path(post, path = "/api/admin/locations/{location}/closures", tag = "staff",
    params(("location" = String, Path)), request_body = ClosureRequest,
    responses((status = 201, body = BookingsDone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(location): ApiPath<String>,
    ApiJson(req): ApiJson<ClosureRequest>,
) -> Result<(StatusCode, Json<BookingsDone>), ApiError> {
    let choice = choice_of(req.bookings, req.message.as_deref());
    let command = Close {
        state: &state,
        location: &location,
        closure: closure_of(&req),
        choice: choice.clone(),
    };
    let actor = user.actor();
    let Executed::Done(mut done, _) = state.execute(&actor, None, command).await? else {
        return Err(ApiError::Internal("a closure without a key was repeated".into()));
    };
    if let Some(Choice::Cancel { note }) = &choice {
        done.cancelled += sweep(&state, &actor, &location, &closure_of(&req), note).await?;
    }
    Ok((StatusCode::CREATED, Json(done)))
}

struct Close<'a> {
    state: &'a AppState,
    location: &'a str,
    closure: Closure,
    choice: Option<Choice>,
}

impl Command for Close<'_> {
    type Output = BookingsDone;
    type Error = ApiError;

    fn reads_projections(&self) -> bool {
        true
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<BookingsDone>, ApiError> {
        // Checked before reading any booking.
        closing::close(
            &self.state.catalogue(),
            self.location,
            &self.closure,
            &[],
            None,
            attempt.now,
        )?;
        let met = bookings_met(self.state, self.location, &self.closure, attempt.now).await?;
        let decision = closing::close(
            &self.state.catalogue(),
            self.location,
            &self.closure,
            &met,
            self.choice.as_ref(),
            attempt.now,
        )?;
        let n = met.len() as u32;
        let done = match self.choice {
            Some(Choice::Cancel { .. }) => BookingsDone { cancelled: n, kept: 0 },
            _ => BookingsDone { cancelled: 0, kept: n },
        };
        Ok(Decided::append(decision, done))
    }
}

/// Cancels what the closure meets and its decision could not see: bookings placed before it
/// that this server had not yet applied. Returns how many.
async fn sweep(state: &AppState, actor: &str, location: &str, closure: &Closure, note: &str) -> Result<u32, ApiError> {
    let head = state.store.head().await?;
    let mut applied = state.changes();
    let _ = tokio::time::timeout(SWEEP_WAIT, applied.wait_for(|p| *p >= head)).await;
    let command = CancelMet {
        state,
        location,
        closure,
        note,
    };
    match state.execute(actor, None, command).await? {
        Executed::Done(n, _) => Ok(n),
        Executed::Repeated(_) => Ok(0),
    }
}

struct CancelMet<'a> {
    state: &'a AppState,
    location: &'a str,
    closure: &'a Closure,
    note: &'a str,
}

impl Command for CancelMet<'_> {
    type Output = u32;
    type Error = ApiError;

    fn reads_projections(&self) -> bool {
        true
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<u32>, ApiError> {
        let met = bookings_met(self.state, self.location, self.closure, attempt.now).await?;
        if met.is_empty() {
            return Ok(Decided::Nothing(0));
        }
        let decision = closing::cancel_all(&met, self.note, attempt.now)?;
        Ok(Decided::append(decision, met.len() as u32))
    }
}

/// After a booking is written: if its time is closed by a closure this server had not applied
/// when it decided, the booking is cancelled at once (the citizen is told why) and refused with
/// 422 `closed`, the answer it would have had a moment later.
pub async fn refuse_if_closed(state: &AppState, hash: &str, placed: &Booking, position: i64) -> Result<(), ApiError> {
    let closure = if state.applied() >= position {
        let catalogue = state.catalogue();
        closure_for(&catalogue, placed)
    } else {
        // Not yet applied here (a slow projection): the catalogue as committed.
        let (catalogue, _) = streams::catalogue(&state.store).await?;
        closure_for(&catalogue, placed)
    };
    check(state, hash, placed, closure).await
}

fn closure_for(catalogue: &Catalogue, placed: &Booking) -> Option<Closure> {
    catalogue
        .schedules
        .get(&placed.location)?
        .closure_between(placed.start, placed.end)
        .cloned()
}

async fn check(state: &AppState, hash: &str, placed: &Booking, closure: Option<Closure>) -> Result<(), ApiError> {
    let Some(closure) = closure else { return Ok(()) };
    let note = format!("{}\n\n{}", closure.reason.de, closure.reason.en);
    let command = OfficeCancel {
        state,
        hash,
        note: note.trim(),
    };
    state.execute("system:closure", None, command).await?;
    tracing::info!(location = %placed.location, "a booking met a closure decided meanwhile; cancelled");
    Err(BookingError::Slot(SlotError::Closed).into())
}

struct OfficeCancel<'a> {
    state: &'a AppState,
    hash: &'a str,
    note: &'a str,
}

impl Command for OfficeCancel<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let Some(b) = streams::booking(&self.state.store, self.hash).await? else {
            return Ok(Decided::Nothing(()));
        };
        match booking::cancel_by_office(&b, self.hash, self.note, attempt.now) {
            Ok(decision) => Ok(Decided::append(decision, ())),
            // Already cancelled or over: nothing left to undo.
            Err(_) => Ok(Decided::Nothing(())),
        }
    }
}

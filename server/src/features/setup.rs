//! The office's setup edited in the browser (admins): locations, services, counters and
//! opening hours. Each edit is recorded as catalogue events with the admin as actor, decided on
//! the catalogue as committed and checked by the same rules as `schalter import-config`. Hours,
//! capacity and withdrawals that take places from booked appointments first need the admin's
//! choice for them, as closures do (`closing::with_bookings`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use schalter_events::administration::{self, Invalid};
use schalter_events::api::{BookingsDone, Impact, OfficeSetup, ScheduleRequest, WithdrawRequest};
use schalter_events::booking::Booking;
use schalter_events::catalogue::{CaseKind, Catalogue, CatalogueEvent, Counter, Location, Service, STREAM};
use schalter_events::closing::{self, Choice};
use schalter_events::slots::Schedule;
use schalter_events::{Decision, Expectation};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided, Executed};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::features::closures::{affected_view, choice_of, coming_bookings};
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let admins = OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(define_location))
        .routes(routes!(define_service))
        .routes(routes!(define_counter))
        .routes(routes!(remove_counter))
        .routes(routes!(define_case_kind))
        .routes(routes!(set_schedule))
        .routes(routes!(schedule_impact))
        .routes(routes!(withdraw_service))
        .routes(routes!(withdraw_impact));
    auth::staff_only(admins, state, auth::Staff::Admins)
}

/// Locations with their hours and closures, every service (also those not bookable online)
/// and every counter.
#[utoipa::path(get, path = "/api/admin/setup", tag = "staff",
    responses((status = 200, body = OfficeSetup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn setup(State(state): State<AppState>) -> Json<OfficeSetup> {
    Json(OfficeSetup::of(&state.catalogue()))
}

/// Creates a location, or replaces the one with this id.
#[utoipa::path(post, path = "/api/admin/locations", tag = "staff", request_body = Location,
    responses((status = 201, body = Location), (status = 200, body = Location), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn define_location(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(location): ApiJson<Location>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    let created = !state.catalogue().locations.contains_key(&location.id);
    let edit = location.clone();
    change(&state, &user, move |_| administration::define_location(edit.clone())).await?;
    Ok((status(created), Json(location)))
}

/// Creates a service, or replaces the one with this id.
#[utoipa::path(post, path = "/api/admin/services", tag = "staff", request_body = Service,
    responses((status = 201, body = Service), (status = 200, body = Service), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn define_service(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(service): ApiJson<Service>,
) -> Result<(StatusCode, Json<Service>), ApiError> {
    let created = !state.catalogue().services.contains_key(&service.id);
    let edit = service.clone();
    change(&state, &user, move |c| administration::define_service(c, edit.clone())).await?;
    Ok((status(created), Json(service)))
}

/// Creates a counter, or replaces the one with this id.
#[utoipa::path(post, path = "/api/admin/counters", tag = "staff", request_body = Counter,
    responses((status = 201, body = Counter), (status = 200, body = Counter), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn define_counter(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(counter): ApiJson<Counter>,
) -> Result<(StatusCode, Json<Counter>), ApiError> {
    let created = !state.catalogue().counters.contains_key(&counter.id);
    let edit = counter.clone();
    change(&state, &user, move |c| administration::define_counter(c, edit.clone())).await?;
    Ok((status(created), Json(counter)))
}

/// Defines a kind of application the offices follow, or changes one (a built-in one too: its
/// name, or the weeks before expiry its renewal reminder goes; 0 offers none). Applications
/// already opened keep their kind.
#[utoipa::path(post, path = "/api/admin/case-kinds", tag = "staff", request_body = CaseKind,
    responses((status = 201, body = CaseKind), (status = 200, body = CaseKind), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn define_case_kind(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(kind): ApiJson<CaseKind>,
) -> Result<(StatusCode, Json<CaseKind>), ApiError> {
    let created = state.catalogue().case_kind(&kind.id).is_none();
    let edit = kind.clone();
    change(&state, &user, move |_| administration::define_case_kind(edit.clone())).await?;
    Ok((status(created), Json(kind)))
}

/// Removes a counter. Refused (422) while the hours hold more places than the counters left
/// or a service of the location would have no counter calling it.
#[utoipa::path(delete, path = "/api/admin/counters/{id}", tag = "staff", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove_counter(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !state.catalogue().counters.contains_key(&id) {
        return Err(ApiError::NotFound(format!("there is no counter {id:?}")));
    }
    change(&state, &user, |c| administration::remove_counter(c, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a location's opening hours and booking rules; its closures stay. If the new hours or
/// capacity leave booked appointments without a place, `bookings` must say what becomes of them
/// (otherwise 409 `bookings_affected` with their `count`), as for a closure.
#[utoipa::path(put, path = "/api/admin/locations/{location}/schedule", tag = "staff",
    params(("location" = String, Path)), request_body = ScheduleRequest,
    responses((status = 200, body = BookingsDone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_schedule(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(location): ApiPath<String>,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<Json<BookingsDone>, ApiError> {
    known_location(&state, &location)?;
    let choice = choice_of(req.bookings, req.message.as_deref());
    let command = TakePlaces {
        state: &state,
        change: Change::Schedule {
            location: &location,
            schedule: req.to_schedule(),
        },
        choice,
    };
    Ok(Json(done(state.execute(&user.actor(), None, command).await?)))
}

/// Which booked appointments (time and service, no names) new hours or capacity would leave
/// without a place; nothing is recorded.
#[utoipa::path(post, path = "/api/admin/locations/{location}/schedule/impact", tag = "staff",
    params(("location" = String, Path)), request_body = ScheduleRequest,
    responses((status = 200, body = Impact), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule_impact(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<Json<Impact>, ApiError> {
    known_location(&state, &location)?;
    let change = Change::Schedule {
        location: &location,
        schedule: req.to_schedule(),
    };
    impact(&state, &change).await
}

/// Withdraws a service everywhere; counters stop calling it. Booked appointments for it need
/// `bookings` (keep or cancel with a `message`), as for a closure.
#[utoipa::path(post, path = "/api/admin/services/{id}/withdraw", tag = "staff",
    params(("id" = String, Path)), request_body = WithdrawRequest,
    responses((status = 200, body = BookingsDone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn withdraw_service(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<WithdrawRequest>,
) -> Result<Json<BookingsDone>, ApiError> {
    known_service(&state, &id)?;
    let command = TakePlaces {
        state: &state,
        change: Change::Withdraw { service: &id },
        choice: choice_of(req.bookings, req.message.as_deref()),
    };
    Ok(Json(done(state.execute(&user.actor(), None, command).await?)))
}

/// Which booked appointments withdrawing the service would meet; nothing is recorded.
#[utoipa::path(post, path = "/api/admin/services/{id}/withdraw/impact", tag = "staff",
    params(("id" = String, Path)),
    responses((status = 200, body = Impact), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn withdraw_impact(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Impact>, ApiError> {
    known_service(&state, &id)?;
    impact(&state, &Change::Withdraw { service: &id }).await
}

fn known_location(state: &AppState, location: &str) -> Result<(), ApiError> {
    match state.catalogue().locations.contains_key(location) {
        true => Ok(()),
        false => Err(ApiError::NotFound(format!("there is no location {location:?}"))),
    }
}

fn known_service(state: &AppState, id: &str) -> Result<(), ApiError> {
    match state.catalogue().services.contains_key(id) {
        true => Ok(()),
        false => Err(ApiError::NotFound(format!("there is no service {id:?}"))),
    }
}

fn done(executed: Executed<BookingsDone>) -> BookingsDone {
    match executed {
        Executed::Done(done, _) => done,
        Executed::Repeated(_) => BookingsDone { cancelled: 0, kept: 0 },
    }
}

async fn impact(state: &AppState, change: &Change<'_>) -> Result<Json<Impact>, ApiError> {
    let now = chrono::Utc::now();
    let (catalogue, _) = streams::catalogue(&state.store).await?;
    let events = change.events(&catalogue)?;
    let hit = change.hits(state, &catalogue, &events, now).await?;
    Ok(Json(Impact {
        bookings: affected_view(&catalogue, &hit),
    }))
}

/// A change to the setup that can take places from booked appointments.
enum Change<'a> {
    Schedule { location: &'a str, schedule: Schedule },
    Withdraw { service: &'a str },
}

impl Change<'_> {
    /// The catalogue events it records, checked by the setup's rules.
    fn events(&self, c: &Catalogue) -> Result<Vec<CatalogueEvent>, ApiError> {
        Ok(match self {
            Change::Schedule { location, schedule } => {
                vec![administration::set_schedule(c, location, schedule.clone())?]
            }
            Change::Withdraw { service } => administration::withdraw_service(c, service)?,
        })
    }

    /// The bookings it leaves without a place (`(code hash, booking)`).
    async fn hits(
        &self,
        state: &AppState,
        c: &Catalogue,
        events: &[CatalogueEvent],
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, Booking)>, ApiError> {
        let far = now + chrono::Duration::days(400);
        match self {
            Change::Schedule { location, .. } => {
                let Some(CatalogueEvent::ScheduleSet { schedule, .. }) = events.first() else {
                    return Ok(Vec::new());
                };
                let coming = coming_bookings(state, location, now, far, now).await?;
                Ok(closing::displaced(schedule, &coming)?)
            }
            Change::Withdraw { service } => {
                let mut hit = Vec::new();
                for location in c
                    .services
                    .get(*service)
                    .map(|s| s.locations.clone())
                    .unwrap_or_default()
                {
                    let coming = coming_bookings(state, &location, now, far, now).await?;
                    hit.extend(coming.into_iter().filter(|(_, b)| b.service == *service));
                }
                Ok(hit)
            }
        }
    }
}

/// Records a change that can take places from booked appointments, with the admin's choice
/// for them: decided on the catalogue as committed and on each booking as read.
struct TakePlaces<'a> {
    state: &'a AppState,
    change: Change<'a>,
    choice: Option<Choice>,
}

impl Command for TakePlaces<'_> {
    type Output = BookingsDone;
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<BookingsDone>, ApiError> {
        let (catalogue, version) = streams::catalogue(&self.state.store).await?;
        let events = self.change.events(&catalogue)?;
        let mut after = catalogue.clone();
        events.iter().for_each(|e| after.apply(e));
        if after == catalogue {
            return Ok(Decided::Nothing(BookingsDone { cancelled: 0, kept: 0 }));
        }
        let hit = self.change.hits(self.state, &catalogue, &events, attempt.now).await?;
        let decision = Decision {
            events: events.iter().map(CatalogueEvent::to_new_event).collect(),
            expectations: vec![(STREAM.into(), expect(version))],
        };
        let decision = closing::with_bookings(decision, &hit, self.choice.as_ref(), attempt.now)?;
        let n = hit.len() as u32;
        let done = match self.choice {
            Some(Choice::Cancel { .. }) => BookingsDone { cancelled: n, kept: 0 },
            _ => BookingsDone { cancelled: 0, kept: n },
        };
        Ok(Decided::append(decision, done))
    }
}

fn expect(version: i64) -> Expectation {
    if version == 0 {
        Expectation::NoStream
    } else {
        Expectation::AtVersion(version)
    }
}

fn status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Records the event `edit` makes of the catalogue as committed; nothing when it is already so.
async fn change<F>(state: &AppState, user: &StaffUser, edit: F) -> Result<(), ApiError>
where
    F: FnMut(&Catalogue) -> Result<CatalogueEvent, Invalid> + Send,
{
    let command = Edit { state, edit };
    match state.execute(&user.actor(), None, command).await? {
        Executed::Done((), _) | Executed::Repeated(_) => Ok(()),
    }
}

struct Edit<'a, F> {
    state: &'a AppState,
    edit: F,
}

impl<F> Command for Edit<'_, F>
where
    F: FnMut(&Catalogue) -> Result<CatalogueEvent, Invalid> + Send,
{
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, _: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let (mut catalogue, version) = streams::catalogue(&self.state.store).await?;
        let event = (self.edit)(&catalogue)?;
        let before = catalogue.clone();
        catalogue.apply(&event);
        if catalogue == before {
            return Ok(Decided::Nothing(()));
        }
        let decision = Decision {
            events: vec![event.to_new_event()],
            expectations: vec![(STREAM.into(), expect(version))],
        };
        Ok(Decided::append(decision, ()))
    }
}

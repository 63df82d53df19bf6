//! The office's setup edited in the browser (admins): locations, services, counters and
//! opening hours. Each edit is one catalogue event with the admin as actor, decided on the
//! catalogue as committed and checked by the same rules as `schalter import-config`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schalter_events::administration::{self, Invalid};
use schalter_events::api::{OfficeSetup, ScheduleRequest};
use schalter_events::catalogue::{Catalogue, CatalogueEvent, Counter, Location, Service, STREAM};
use schalter_events::{Decision, Expectation};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided, Executed};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let admins = OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(define_location))
        .routes(routes!(define_service))
        .routes(routes!(define_counter))
        .routes(routes!(set_schedule));
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

/// Sets a location's opening hours and booking rules; its closures stay.
#[utoipa::path(put, path = "/api/admin/locations/{location}/schedule", tag = "staff",
    params(("location" = String, Path)), request_body = ScheduleRequest,
    responses((status = 200, body = ScheduleRequest), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_schedule(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(location): ApiPath<String>,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<Json<ScheduleRequest>, ApiError> {
    if !state.catalogue().locations.contains_key(&location) {
        return Err(ApiError::NotFound(format!("there is no location {location:?}")));
    }
    let schedule = req.to_schedule();
    change(&state, &user, move |c| {
        administration::set_schedule(c, &location, schedule.clone())
    })
    .await?;
    Ok(Json(req))
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
        let expectation = if version == 0 {
            Expectation::NoStream
        } else {
            Expectation::AtVersion(version)
        };
        let decision = Decision {
            events: vec![event.to_new_event()],
            expectations: vec![(STREAM.into(), expectation)],
        };
        Ok(Decided::append(decision, ()))
    }
}

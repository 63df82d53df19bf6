//! The desk's list of the day: today's and tomorrow's appointments at a location with their
//! state, and no name; a clerk who needs to call someone opens the contact, and that look is
//! recorded in the booking's history (actor, time).

use axum::extract::State;
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use schalter_events::api::{ContactView, DayEntry, LocalTime};
use schalter_events::booking::{self, DayState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::features::office::location_tz;
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiPath, ApiQuery};

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let desk = OpenApiRouter::new()
        .routes(routes!(appointments))
        .routes(routes!(contact));
    auth::staff_only(desk, state, auth::Staff::Desk)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// Today or tomorrow at the location (local date); today when left out.
    #[param(value_type = Option<String>, format = Date)]
    day: Option<NaiveDate>,
}

/// The appointments of today or tomorrow at a location, in time order: time, service, how it
/// was booked, where it stands (booked, checked in, called, served, no-show, missed).
#[utoipa::path(get, path = "/api/locations/{id}/appointments", tag = "queue", params(("id" = String, Path), DayQuery),
    responses((status = 200, body = [DayEntry]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn appointments(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<Vec<DayEntry>>, ApiError> {
    let tz = location_tz(&state, &location)?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let day = q.day.unwrap_or(today);
    if day < today || day > today + Duration::days(1) {
        return Err(ApiError::invalid(
            "day_not_listed",
            Some("day"),
            "the desk lists today's and tomorrow's appointments",
        ));
    }
    let start_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now)
    };
    let streams = state
        .taken()
        .listed(&location, start_of(day), start_of(day + Duration::days(1)));
    let mut entries = Vec::with_capacity(streams.len());
    for stream in streams {
        let hash = stream.trim_start_matches("booking-");
        let Some(b) = streams::booking(&state.store, hash).await? else {
            continue;
        };
        let ticket = state.queues().of_booking(&stream);
        let Some(day_state) = DayState::of(&b, ticket.as_ref().map(|t| t.state), now) else {
            continue;
        };
        entries.push(DayEntry {
            id: hash.to_owned(),
            start: LocalTime::at(b.start.with_timezone(&tz)),
            end: LocalTime::at(b.end.with_timezone(&tz)),
            service_name: state
                .catalogue()
                .services
                .get(&b.service)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            service: b.service,
            channel: b.channel,
            state: day_state,
            ticket: ticket.map(|t| t.label),
        });
    }
    entries.sort_by(|a, b| a.start.cmp(&b.start));
    Ok(Json(entries))
}

/// The contact details of one appointment on the list. Each call is recorded in the booking's
/// history with the clerk as actor; erased data answers 404.
#[utoipa::path(post, path = "/api/locations/{id}/appointments/{entry}/contact", tag = "queue",
    params(("id" = String, Path), ("entry" = String, Path)),
    responses((status = 200, body = ContactView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn contact(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath((location, entry)): ApiPath<(String, String)>,
) -> Result<Json<ContactView>, ApiError> {
    let command = ShowContact {
        state: &state,
        location: &location,
        hash: &entry,
    };
    let crate::engine::executor::Executed::Done(contact, _) = state.execute(&user.actor(), None, command).await? else {
        return Err(ApiError::Internal("a contact look without a key was repeated".into()));
    };
    Ok(Json(contact))
}

struct ShowContact<'a> {
    state: &'a AppState,
    location: &'a str,
    hash: &'a str,
}

impl Command for ShowContact<'_> {
    type Output = ContactView;
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<ContactView>, ApiError> {
        let missing = || ApiError::NotFound("there is no such appointment on this location's list".into());
        let b = streams::booking(&self.state.store, self.hash)
            .await?
            .filter(|b| b.location == self.location)
            .ok_or_else(missing)?;
        let data = match b.erased {
            true => None,
            false => self.state.vault.open(&b.contact).await?,
        };
        let (Some(data), Some(look)) = (data, booking::show_contact(&b, self.hash, attempt.now)) else {
            return Err(ApiError::NotFound(
                "the contact details of this appointment are erased".into(),
            ));
        };
        let view = ContactView {
            name: data.name,
            email: data.email,
            phone: data.phone,
        };
        Ok(Decided::append(look, view))
    }
}

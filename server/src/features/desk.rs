//! What the front desk sees and sets besides calling: counters (open/closed, who is at each),
//! the waiting line in call order, and the waiting-time estimate shared with the hall screen
//! and the ticket status page.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use schalter_events::api::{CounterView, LocalTime, WaitingLine, WaitingTicket};
use schalter_events::catalogue::Counter;
use schalter_events::queue;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::state::AppState;
use crate::features::office::{is_open, location_tz};
use crate::features::queue::{called_view, OpenOrClose};
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::ApiPath;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let desk = OpenApiRouter::new()
        .routes(routes!(counters))
        .routes(routes!(waiting_line))
        .routes(routes!(open_or_close));
    auth::staff_only(desk, state, auth::Staff::Desk)
}

fn counter_view(state: &AppState, counter: &Counter, now: DateTime<Utc>, tz: Tz) -> CounterView {
    let day = now.with_timezone(&tz).date_naive();
    let current = state
        .queues()
        .tickets(&counter.location, day)
        .into_iter()
        .find(|t| {
            t.counter.as_deref() == Some(counter.id.as_str())
                && matches!(t.state, queue::State::Called | queue::State::InService)
        })
        .map(|t| called_view(&counter.location, day, &t, &counter.name, tz));
    CounterView {
        id: counter.id.clone(),
        name: counter.name.clone(),
        services: counter.services.clone(),
        open: is_open(state, &counter.id, now, tz),
        current,
    }
}

/// The location's counters with their services, open state and current ticket.
#[utoipa::path(get, path = "/api/locations/{id}/counters", tag = "queue", params(("id" = String, Path)),
    responses((status = 200, body = [CounterView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn counters(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
) -> Result<Json<Vec<CounterView>>, ApiError> {
    let tz = location_tz(&state, &location)?;
    let mut list: Vec<Counter> = state
        .catalogue()
        .counters
        .values()
        .filter(|c| c.location == location)
        .cloned()
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let now = Utc::now();
    Ok(Json(list.iter().map(|c| counter_view(&state, c, now, tz)).collect()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CounterChange {
    Open,
    Close,
}

/// Opens or closes a counter (`open` | `close`); only open counters call tickets and count for
/// the waiting-time estimate. Repeating it changes nothing.
#[utoipa::path(post, path = "/api/counters/{id}/{change}", tag = "queue",
    params(("id" = String, Path), ("change" = inline(CounterChange), Path)),
    responses((status = 200, body = CounterView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn open_or_close(
    State(state): State<AppState>,
    ApiPath((id, change)): ApiPath<(String, CounterChange)>,
    user: StaffUser,
) -> Result<Json<CounterView>, ApiError> {
    let open = change == CounterChange::Open;
    let (counter, tz) = crate::features::office::counter(&state, &id)?;
    let command = OpenOrClose {
        state: &state,
        counter: id,
        tz,
        open,
    };
    state.execute(&user.actor(), None, command).await?;
    Ok(Json(counter_view(&state, &counter, Utc::now(), tz)))
}

/// Today's line at a location for the desk: only what the clerk needs, no names.
#[utoipa::path(get, path = "/api/locations/{id}/queue", tag = "queue", params(("id" = String, Path)),
    responses((status = 200, body = WaitingLine), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn waiting_line(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
) -> Result<Json<WaitingLine>, ApiError> {
    let tz = location_tz(&state, &location)?;
    let now = Utc::now();
    let day = now.with_timezone(&tz).date_naive();
    let tickets = state.queues().tickets(&location, day);
    let services: Vec<String> = tickets.iter().map(|t| t.service.clone()).collect();
    let waiting = queue::call_order(
        &tickets,
        &services,
        now,
        chrono::Duration::minutes(queue::MAX_WAIT_MINUTES),
    )
    .into_iter()
    .map(|t| WaitingTicket {
        id: queue::ticket_id(&location, day, &t.label),
        number: t.label.clone(),
        service: t.service.clone(),
        kind: t.kind,
        waiting_minutes: (now - t.waiting_since).num_minutes().max(0),
        appointment: t.slot_start.map(|s| LocalTime::at(s.with_timezone(&tz))),
        parked: t.parked,
    })
    .collect();
    let names: std::collections::HashMap<String, String> = state
        .catalogue()
        .counters
        .values()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let active = tickets
        .iter()
        .filter(|t| matches!(t.state, queue::State::Called | queue::State::InService))
        .map(|t| {
            let counter = t
                .counter
                .as_ref()
                .and_then(|c| names.get(c))
                .cloned()
                .unwrap_or_default();
            called_view(&location, day, t, &counter, tz)
        })
        .collect();
    let count = |s: queue::State| tickets.iter().filter(|t| t.state == s).count();
    Ok(Json(WaitingLine {
        waiting,
        active,
        finished: count(queue::State::Finished),
        no_shows: count(queue::State::NoShow),
    }))
}

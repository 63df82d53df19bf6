//! The queue over HTTP. So far: walk-in tickets from a kiosk or the front desk.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use chrono_tz::Tz;
use schalter_events::api::{
    ActionRequest, CalledTicket, CheckInRequest, LocalTime, SentAwayRequest, TicketIssued, TicketRequest, TicketStatus,
};
use schalter_events::queue;
use schalter_events::staff::access::DeviceRole;
use schalter_events::staff::Role;
use schalter_events::store::AppendOutcome;
use utoipa_axum::{router::OpenApiRouter, routes};

mod commands;

pub use commands::OpenOrClose;
use commands::{ActOnTicket, CallNext, CheckIn, IssueTicket, Issued, SendAway};

use crate::engine::executor::Executed;
use crate::engine::secrets::{hash, new_token};
use crate::engine::state::AppState;
use crate::http::auth::{self, DeviceAuth, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let desk = OpenApiRouter::new()
        .routes(routes!(call_next))
        .routes(routes!(call_ticket))
        .routes(routes!(ticket_action))
        .routes(routes!(send_away));
    let desk = auth::staff_only(desk, state, auth::Staff::Desk);
    OpenApiRouter::new()
        .merge(desk)
        // A kiosk of the office or desk staff (see `Issuer`).
        .routes(routes!(issue_ticket))
        .routes(routes!(check_in))
        .routes(routes!(ticket_status))
        .routes(routes!(ticket_qr))
}

/// Who may issue tickets: a kiosk (of its own location) or signed-in desk staff.
pub enum Issuer {
    Kiosk { id: String, location: String },
    Staff(StaffUser),
}

impl Issuer {
    /// A kiosk serves only its own location; staff serve any.
    fn may_act_at(&self, location_id: &str) -> Result<(), ApiError> {
        match self {
            Issuer::Kiosk { location, .. } if location != location_id => Err(ApiError::Forbidden),
            _ => Ok(()),
        }
    }

    fn actor(&self) -> String {
        match self {
            Issuer::Kiosk { id, .. } => format!("device:{id}"),
            Issuer::Staff(user) => user.actor(),
        }
    }
}

impl FromRequestParts<AppState> for Issuer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
            let device = DeviceAuth::from_request_parts(parts, state).await?;
            device.require(DeviceRole::Kiosk)?;
            return Ok(Issuer::Kiosk {
                id: device.0.id,
                location: device.0.location,
            });
        }
        let user = StaffUser::from_request_parts(parts, state).await?;
        user.require(&[Role::Desk, Role::Admin])?;
        Ok(Issuer::Staff(user))
    }
}

/// The answer for a ticket whose number is the version its numbers stream reached.
fn issued_view(
    outcome: Option<&AppendOutcome>,
    issued: Issued,
    location: &str,
    token: String,
    tz: Tz,
) -> Result<TicketIssued, ApiError> {
    let numbers = queue::numbers_stream(location, issued.day, &issued.prefix);
    let number = outcome
        .and_then(|o| o.streams.iter().find(|s| s.stream == numbers))
        .map(|s| s.version)
        .ok_or_else(|| ApiError::Internal("the ticket's number is missing from the append outcome".into()))?;
    let label = queue::label(&issued.prefix, number);
    Ok(TicketIssued {
        id: queue::ticket_id(location, issued.day, &label),
        number: label,
        token,
        location: location.to_owned(),
        service: issued.service,
        issued_at: LocalTime::at(issued.at.with_timezone(&tz)),
        notify: false,
    })
}

#[utoipa::path(post, path = "/api/locations/{id}/tickets", tag = "queue", security(("staff_session" = []), ("device_token" = [])), params(("id" = String, Path)),
    request_body = TicketRequest,
    responses((status = 201, body = TicketIssued), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn issue_ticket(
    State(state): State<AppState>,
    ApiPath(location_id): ApiPath<String>,
    issuer: Issuer,
    ApiJson(req): ApiJson<TicketRequest>,
) -> Result<Response, ApiError> {
    issuer.may_act_at(&location_id)?;
    let tz = crate::features::office::location_tz(&state, &location_id)?;
    let token = new_token();
    let command = IssueTicket::new(&state, location_id.clone(), tz, hash("ticket", &token), req);
    let Executed::Done(issued, outcome) = state.execute(&issuer.actor(), None, command).await? else {
        return Err(ApiError::Internal(
            "a ticket without an idempotency key was repeated".into(),
        ));
    };
    let notify = issued.notify;
    let mut view = issued_view(outcome.as_ref(), issued, &location_id, token, tz)?;
    view.notify = notify;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Checks an appointment in: the booking is marked and an appointment ticket issued together.
#[utoipa::path(post, path = "/api/locations/{id}/check-in", tag = "queue", security(("staff_session" = []), ("device_token" = [])), params(("id" = String, Path)),
    request_body = CheckInRequest,
    responses((status = 201, body = TicketIssued), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_in(
    State(state): State<AppState>,
    ApiPath(location_id): ApiPath<String>,
    issuer: Issuer,
    ApiJson(req): ApiJson<CheckInRequest>,
) -> Result<Response, ApiError> {
    issuer.may_act_at(&location_id)?;
    let tz = crate::features::office::location_tz(&state, &location_id)?;
    let token = new_token();
    let command = CheckIn::new(
        &state,
        location_id.clone(),
        tz,
        req.code,
        hash("ticket", &token),
        issuer.actor(),
    );
    let Executed::Done(issued, outcome) = state.execute(&issuer.actor(), None, command).await? else {
        return Err(ApiError::Internal(
            "a check-in without an idempotency key was repeated".into(),
        ));
    };
    let issued = issued_view(outcome.as_ref(), issued, &location_id, token, tz)?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

pub fn called_view(
    location: &str,
    day: chrono::NaiveDate,
    ticket: &queue::Ticket,
    counter: &str,
    tz: Tz,
) -> CalledTicket {
    CalledTicket {
        appointment: ticket.slot_start.map(|s| LocalTime::at(s.with_timezone(&tz))),
        id: queue::ticket_id(location, day, &ticket.label),
        state: ticket.state,
        number: ticket.label.clone(),
        service: ticket.service.clone(),
        counter: counter.to_owned(),
        kind: ticket.kind,
    }
}

/// Calls the next ticket by the call policy to this counter; 204 when nobody waits for it.
#[utoipa::path(post, path = "/api/counters/{id}/call-next", tag = "queue", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeated call returns the same ticket")),
    responses((status = 200, body = CalledTicket), (status = 204, description = "Nobody waits for this counter"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The counter is closed (`counter_closed`)", body = ErrorBody)))]
pub async fn call_next(
    State(state): State<AppState>,
    ApiPath(counter_id): ApiPath<String>,
    crate::http::Idempotency(key): crate::http::Idempotency,
    user: StaffUser,
) -> Result<Response, ApiError> {
    call(&state, &counter_id, None, key, &user).await
}

/// Calls one waiting ticket the clerk chose to this counter, out of the policy's order.
#[utoipa::path(post, path = "/api/counters/{id}/call/{ticket}", tag = "queue",
    params(("id" = String, Path), ("ticket" = String, Path, description = "the ticket's id")),
    responses((status = 200, body = CalledTicket),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The counter is closed (`counter_closed`), the ticket no longer waits (`not_allowed_now`) or is for a service the counter does not handle (`not_served_here`)", body = ErrorBody)))]
pub async fn call_ticket(
    State(state): State<AppState>,
    ApiPath((counter_id, ticket)): ApiPath<(String, String)>,
    user: StaffUser,
) -> Result<Response, ApiError> {
    call(&state, &counter_id, Some(ticket), None, &user).await
}

/// Calls the next ticket, or the `chosen` one, to the counter: the called ticket, or 204 when
/// nobody waits for it.
async fn call(
    state: &AppState,
    counter_id: &str,
    chosen: Option<String>,
    key: Option<crate::engine::executor::CommandKey>,
    user: &StaffUser,
) -> Result<Response, ApiError> {
    let (counter, tz) = crate::features::office::counter(state, counter_id)?;
    let command = CallNext {
        state,
        counter: counter.clone(),
        tz,
        chosen,
    };
    match state.execute(&user.actor(), key, command).await? {
        Executed::Done(Some((day, called)), _) => {
            Ok(Json(called_view(&counter.location, day, &called, &counter.name, tz)).into_response())
        }
        Executed::Done(None, _) => Ok(StatusCode::NO_CONTENT.into_response()),
        // A repeated request (same key) answers with the ticket it called the first time.
        Executed::Repeated(outcome) => repeated_call(state, &outcome, &counter.name, tz),
    }
}

fn repeated_call(
    state: &AppState,
    outcome: &schalter_events::store::AppendOutcome,
    counter: &str,
    tz: Tz,
) -> Result<Response, ApiError> {
    let stream = crate::http::repeated_stream(outcome, "ticket-")?;
    let (location, day, label) = queue::parse_ticket_id(stream.trim_start_matches("ticket-"))
        .ok_or_else(|| ApiError::Internal(format!("unexpected ticket stream {stream}")))?;
    let location = location.as_str();
    let ticket = state
        .queues()
        .ticket(location, day, &label)
        .ok_or_else(|| ApiError::Internal(format!("ticket {label} not in the queue projection")))?;
    let mut view = called_view(location, day, &ticket, counter, tz);
    view.state = queue::State::Called;
    Ok(Json(view).into_response())
}

impl From<queue::QueueError> for ApiError {
    fn from(e: queue::QueueError) -> Self {
        match e {
            queue::QueueError::NotAllowed { .. } | queue::QueueError::NotAtCounter(_) => ApiError::Conflict {
                code: "not_allowed_now",
                message: e.to_string(),
            },
            queue::QueueError::TransferNeedsService | queue::QueueError::TransferToSameService => {
                ApiError::invalid("invalid_transfer", Some("service"), e.to_string())
            }
        }
    }
}

/// recall, start, finish, no-show (and undo it), park or transfer a ticket.
#[utoipa::path(post, path = "/api/tickets/{id}/{action}", tag = "queue",
    params(("id" = String, Path), ("action" = inline(queue::Action), Path)),
    request_body = ActionRequest,
    responses((status = 200, body = CalledTicket), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ticket_action(
    State(state): State<AppState>,
    ApiPath((id, action)): ApiPath<(String, queue::Action)>,
    user: StaffUser,
    body: Option<ApiJson<ActionRequest>>,
) -> Result<Response, ApiError> {
    let (location, day, label) =
        queue::parse_ticket_id(&id).ok_or_else(|| ApiError::NotFound(format!("there is no ticket {id:?}")))?;
    let command = ActOnTicket {
        state: &state,
        location: location.clone(),
        day,
        label: label.clone(),
        action,
        // Only a transfer needs a body; the others may send none.
        to_service: body.and_then(|ApiJson(b)| b.service),
    };
    state.execute(&user.actor(), None, command).await?;
    ticket_view(&state, &location, day, &label)
}

/// The clerk sends the citizen at the counter away without the service (documents missing):
/// the ticket is over, and the statistics count it.
#[utoipa::path(post, path = "/api/tickets/{id}/sent-away", tag = "queue", params(("id" = String, Path)),
    request_body = SentAwayRequest,
    responses((status = 200, body = CalledTicket), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send_away(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    user: StaffUser,
    ApiJson(req): ApiJson<SentAwayRequest>,
) -> Result<Response, ApiError> {
    let (location, day, label) =
        queue::parse_ticket_id(&id).ok_or_else(|| ApiError::NotFound(format!("there is no ticket {id:?}")))?;
    let command = SendAway {
        state: &state,
        location: location.clone(),
        day,
        label: label.clone(),
        reason: req.reason,
    };
    state.execute(&user.actor(), None, command).await?;
    ticket_view(&state, &location, day, &label)
}

/// A ticket as the desk shows it, from this server's projection.
fn ticket_view(state: &AppState, location: &str, day: chrono::NaiveDate, label: &str) -> Result<Response, ApiError> {
    let ticket = commands::current_ticket(state, location, day, label)?;
    let counter = ticket
        .counter
        .as_ref()
        .and_then(|id| state.catalogue().counters.get(id).map(|c| c.name.clone()))
        .unwrap_or_default();
    let tz = crate::features::office::location_tz(state, location)?;
    Ok(Json(called_view(location, day, &ticket, &counter, tz)).into_response())
}

/// A ticket's position and expected wait, for its holder (the token is on the printed ticket).
#[utoipa::path(get, path = "/api/tickets/status/{token}", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, body = TicketStatus), (status = 404, body = ErrorBody)))]
pub async fn ticket_status(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<TicketStatus>, ApiError> {
    let not_found = || ApiError::NotFound("there is no ticket with this token".into());
    let (location, day, label) = state
        .queues()
        .by_token(&hash("ticket", &token))
        .cloned()
        .ok_or_else(not_found)?;
    let tickets = state.queues().tickets(&location, day);
    let ticket = tickets.iter().find(|t| t.label == label).ok_or_else(not_found)?;
    let now = Utc::now();
    let ahead = queue::ahead_of(
        &tickets,
        &label,
        now,
        chrono::Duration::minutes(queue::MAX_WAIT_MINUTES),
    );
    let tz = crate::features::office::location_tz(&state, &location)?;
    let estimate =
        ahead.and_then(|n| crate::features::office::wait_range(&state, &location, &ticket.service, n, now, tz));
    let catalogue = state.catalogue();
    let counter = ticket
        .counter
        .as_ref()
        .filter(|_| matches!(ticket.state, queue::State::Called | queue::State::InService))
        .map(|id| {
            catalogue
                .counters
                .get(id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| id.clone())
        });
    Ok(Json(TicketStatus {
        number: ticket.label.clone(),
        service: ticket.service.clone(),
        state: ticket.state,
        ahead,
        estimate_minutes: estimate,
        counter,
    }))
}

/// The ticket's status page address as a QR code, printed on the kiosk ticket so its holder can
/// follow the line on a phone.
#[utoipa::path(get, path = "/api/tickets/status/{token}/qr.svg", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = ErrorBody)))]
pub async fn ticket_qr(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if state.queues().by_token(&hash("ticket", &token)).is_none() {
        return Err(ApiError::NotFound("there is no ticket with this token".into()));
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    crate::features::bookings::qr_svg(&format!("{scheme}://{host}/ticket/{token}"))
}

//! The queue over HTTP. So far: walk-in tickets from a kiosk or the front desk.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use schalter_events::queue::{self, Kind, NumberEvent};
use schalter_events::staff::access::DeviceRole;
use schalter_events::staff::Role;
use schalter_events::store::AppendRequest;
use schalter_events::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ApiJson;
use crate::auth::{DeviceAuth, StaffUser};
use crate::error::{ApiError, ErrorBody};
use crate::secrets::{hash, new_token};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/locations/{id}/tickets", post(issue_ticket))
}

/// Who may issue tickets: a kiosk (of its own location) or signed-in desk staff.
pub enum Issuer {
    Kiosk { id: String, location: String },
    Staff(StaffUser),
}

impl Issuer {
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    service: String,
}

#[derive(Serialize, ToSchema)]
pub struct TicketIssued {
    /// What the hall screen will call, e.g. `A-017`.
    number: String,
    /// Secret for the ticket's status page `/ticket/{token}`.
    token: String,
    location: String,
    service: String,
    #[schema(value_type = String)]
    issued_at: DateTime<FixedOffset>,
}

#[utoipa::path(post, path = "/api/locations/{id}/tickets", tag = "queue", params(("id" = String, Path)),
    request_body = TicketRequest,
    responses((status = 201, body = TicketIssued), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn issue_ticket(
    State(state): State<AppState>,
    Path(location_id): Path<String>,
    issuer: Issuer,
    ApiJson(req): ApiJson<TicketRequest>,
) -> Result<Response, ApiError> {
    if let Issuer::Kiosk { location, .. } = &issuer {
        if *location != location_id {
            return Err(ApiError::Forbidden);
        }
    }
    let now = Utc::now();
    let (tz, prefix) = {
        let catalogue = state.catalogue();
        let location = catalogue
            .locations
            .get(&location_id)
            .ok_or_else(|| ApiError::NotFound(format!("there is no location {location_id:?}")))?;
        let service = catalogue
            .services
            .get(&req.service)
            .filter(|s| s.locations.contains(&location_id))
            .ok_or_else(|| {
                ApiError::invalid(
                    "unknown_service",
                    Some("service"),
                    "this location does not offer this service",
                )
            })?;
        if !service.walk_in {
            return Err(ApiError::invalid(
                "no_walk_in",
                Some("service"),
                "this service needs an appointment or is done online",
            ));
        }
        let tz: Tz = location
            .time_zone
            .parse()
            .map_err(|_| ApiError::Internal("bad time zone".into()))?;
        (tz, service.ticket_prefix.clone())
    };
    let day = now.with_timezone(&tz).date_naive();
    let token = new_token();
    let ticket = NumberEvent::TicketIssued {
        service: req.service.clone(),
        kind: Kind::WalkIn,
        slot_start: None,
        token_hash: hash("ticket", &token),
        issued_at: now,
    };
    let (event, expectation) = queue::issue(&location_id, day, &prefix, &ticket);
    let stream = event.stream.clone();
    let request = AppendRequest::new(vec![event])
        .expect(stream.clone(), expectation)
        .metadata(Metadata::by(&issuer.actor(), now));
    let outcome = state.store.append(&request).await?;
    let number = outcome
        .streams
        .iter()
        .find(|s| s.stream == stream)
        .map(|s| s.version)
        .ok_or_else(|| ApiError::Internal("the ticket's number is missing from the append outcome".into()))?;
    let issued = TicketIssued {
        number: queue::label(&prefix, number),
        token,
        location: location_id,
        service: req.service,
        issued_at: now.with_timezone(&tz).fixed_offset(),
    };
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

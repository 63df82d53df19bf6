//! What anyone may read (health, locations, services) and the citizens' feedback.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schalter_events::api::{Health, Liveness, Readiness};
use schalter_events::catalogue::{Location, Municipality, Service, Text};
use schalter_events::feedback;
use schalter_events::Decision;
use schalter_events::CITIZEN;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided};
use crate::engine::state::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiQuery, Idempotency};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(locations))
        .routes(routes!(services))
        .routes(routes!(municipality))
        .routes(routes!(give_feedback))
}

#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let head = state.store.head().await.map_err(|_| ApiError::StoreUnavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
        store: state.store.backend().as_str().into(),
        version: env!("CARGO_PKG_VERSION").into(),
        head,
        sms: state.sms,
    }))
}

/// The process runs and answers (for a liveness probe: restart it when this fails). Touches
/// nothing else, so a database outage never gets a healthy server restarted.
#[utoipa::path(get, path = "/api/health/live", tag = "operations", responses((status = 200, body = Liveness)))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness {
        status: "live".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// How far behind the log a server's read models may be and still take requests: other servers'
/// writes arrive within a poll, a restarted one folds the whole log first.
const READY_LAG: i64 = 1_000;

/// Whether a load balancer should send requests here: 503 while the store is unreachable, while
/// the read models catch up with the log, and once the server is shutting down.
#[utoipa::path(get, path = "/api/health/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let not_ready = |message| ApiError::Overloaded {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "not_ready",
        message,
    };
    if *state.shutdown.borrow() {
        return Err(not_ready("the server is shutting down"));
    }
    let head = state.store.head().await.map_err(|_| ApiError::StoreUnavailable)?;
    let applied = state.applied();
    if head - applied > READY_LAG {
        return Err(not_ready("the read models are catching up with the log"));
    }
    Ok(Json(Readiness {
        status: "ready".into(),
        head,
        applied,
    }))
}

#[utoipa::path(get, path = "/api/locations", tag = "catalogue", responses((status = 200, body = [Location])))]
pub async fn locations(State(state): State<AppState>) -> Json<Vec<Location>> {
    Json(state.catalogue().locations.values().cloned().collect())
}

/// Who is responsible for the citizens' data and how to reach the data-protection officer: the
/// privacy notice shows it. 404 until the configuration names them.
#[utoipa::path(get, path = "/api/municipality", tag = "catalogue",
    responses((status = 200, body = Municipality), (status = 404, body = ErrorBody)))]
pub async fn municipality(State(state): State<AppState>) -> Result<Json<Municipality>, ApiError> {
    state
        .catalogue()
        .municipality
        .clone()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("the configuration names no controller yet".into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceFilter {
    /// Only services offered at this location.
    location: Option<String>,
}

#[utoipa::path(get, path = "/api/services", tag = "catalogue", params(ServiceFilter),
    responses((status = 200, body = [Service]), (status = 404, body = ErrorBody)))]
pub async fn services(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<ServiceFilter>,
) -> Result<Json<Vec<Service>>, ApiError> {
    let catalogue = state.catalogue();
    if let Some(l) = &filter.location {
        if !catalogue.locations.contains_key(l) {
            return Err(ApiError::NotFound(format!("there is no location {l:?}")));
        }
    }
    Ok(Json(
        catalogue
            .services
            .values()
            .filter(|s| filter.location.as_ref().is_none_or(|l| s.locations.contains(l)))
            .cloned()
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// 1 (bad) to 5 (very good).
    #[schema(minimum = 1, maximum = 5)]
    rating: u8,
    /// The service the visit was for, if the citizen says.
    service: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackAccepted {
    /// Thank-you text in both languages.
    thanks: Text,
}

#[utoipa::path(post, path = "/api/feedback", tag = "citizens", request_body = FeedbackRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe retries")),
    responses((status = 201, body = FeedbackAccepted), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn give_feedback(
    State(state): State<AppState>,
    Idempotency(key): Idempotency,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> Result<Response, ApiError> {
    let command = GiveFeedback { state: &state, body };
    state.execute(CITIZEN, key, command).await?;
    let thanks = Text::new("Vielen Dank für Ihre Bewertung!", "Thank you for your rating!");
    Ok((StatusCode::CREATED, Json(FeedbackAccepted { thanks })).into_response())
}

/// A rating counts once; it names no one.
struct GiveFeedback<'a> {
    state: &'a AppState,
    body: FeedbackRequest,
}

impl Command for GiveFeedback<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, _: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let event = feedback::give(&self.state.catalogue(), self.body.rating, self.body.service.as_deref())?;
        Ok(Decided::append(Decision::unconditional(vec![event]), ()))
    }
}

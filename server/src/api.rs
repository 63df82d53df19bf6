//! HTTP handlers. They translate requests into domain calls and results into responses;
//! the rules live in `schalter-events`.

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use schalter_events::catalogue::{Location, Service, Text};
use schalter_events::feedback;
use schalter_events::store::AppendRequest;
use schalter_events::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Largest JSON body the API reads; bookings and queue commands are a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/locations", get(locations))
        .route("/api/services", get(services))
        .route("/api/feedback", post(give_feedback))
        .merge(crate::bookings::router())
        .merge(crate::auth::router())
        .merge(crate::queue_api::router())
        .merge(crate::desk::router())
        .merge(crate::display::router())
        .merge(crate::admin::router())
        .merge(crate::stats_api::router())
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/api", get(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("there is no such API endpoint; see /api/openapi.json".into())
}

/// `axum::Json` with every rejection mapped to the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` with rejections in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid("invalid_query", None, rejection.body_text())),
        }
    }
}

/// `axum::extract::Path` with rejections in the API's error shape. Every path parameter here is a
/// code, token or id; one that does not even decode (say, bytes that are not UTF-8) names nothing.
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::NotFound(format!(
                "there is nothing at this address: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The stream starting with `prefix` that the first request with this Idempotency-Key wrote;
/// 422 when the key was used for another kind of request.
pub fn repeated_stream<'a>(
    outcome: &'a schalter_events::store::AppendOutcome,
    prefix: &str,
) -> Result<&'a str, ApiError> {
    outcome
        .streams
        .iter()
        .map(|s| s.stream.as_str())
        .find(|s| s.starts_with(prefix))
        .ok_or_else(|| {
            ApiError::invalid(
                "idempotency_key_reused",
                None,
                "this Idempotency-Key was used for another request",
            )
        })
}

/// The client's idempotency key, if it sent one; a retried request with the same key returns
/// the first outcome instead of acting twice.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (8..=128).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()));
    match key {
        Some(k) => Ok(Some(k.to_owned())),
        None => Err(ApiError::Invalid {
            code: "invalid_idempotency_key",
            message: "Idempotency-Key must be 8 to 128 visible ASCII characters".into(),
            field: None,
        }),
    }
}

fn citizen_metadata(command_id: Option<String>) -> Metadata {
    Metadata {
        command_id,
        ..Metadata::by("citizen", Utc::now())
    }
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the event store answers.
    status: &'static str,
    /// `sqlite` or `postgres`.
    store: &'static str,
    version: &'static str,
    /// Position of the last event in the log.
    head: i64,
    /// Whether text messages can be sent (walk-ins may then leave a phone number).
    sms: bool,
}

#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let head = state.store.head().await.map_err(|_| ApiError::StoreUnavailable)?;
    Ok(Json(Health {
        status: "ok",
        store: state.store.backend().as_str(),
        version: env!("CARGO_PKG_VERSION"),
        head,
        sms: state.sms,
    }))
}

#[utoipa::path(get, path = "/api/locations", tag = "catalogue", responses((status = 200, body = [Location])))]
async fn locations(State(state): State<AppState>) -> Json<Vec<Location>> {
    Json(state.catalogue().locations.values().cloned().collect())
}

#[derive(Deserialize, IntoParams)]
pub struct ServiceFilter {
    /// Only services offered at this location.
    location: Option<String>,
}

#[utoipa::path(get, path = "/api/services", tag = "catalogue", params(ServiceFilter),
    responses((status = 200, body = [Service]), (status = 404, body = ErrorBody)))]
async fn services(
    State(state): State<AppState>,
    Query(filter): Query<ServiceFilter>,
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
async fn give_feedback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> Result<Response, ApiError> {
    let command_id = idempotency_key(&headers)?;
    let event = feedback::give(&state.catalogue(), body.rating, body.service.as_deref())?;
    state
        .store
        .append(&AppendRequest::new(vec![event]).metadata(citizen_metadata(command_id)))
        .await?;
    let thanks = Text::new("Vielen Dank für Ihre Bewertung!", "Thank you for your rating!");
    Ok((StatusCode::CREATED, Json(FeedbackAccepted { thanks })).into_response())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Schalter API", description = "Appointments and queues for citizen offices. Errors are JSON: {\"error\": code, \"message\": text, \"field\": name}."),
    paths(health, locations, services, give_feedback, crate::bookings::availability, crate::bookings::book, crate::bookings::challenge,
        crate::bookings::view, crate::bookings::cancel, crate::bookings::reschedule, crate::bookings::confirm, crate::bookings::calendar, crate::bookings::qr, crate::bookings::erase_personal_data,
        crate::auth::login, crate::auth::logout, crate::auth::me, crate::auth::device_me,
        crate::queue_api::issue_ticket, crate::queue_api::call_next, crate::queue_api::ticket_action,
        crate::queue_api::check_in, crate::queue_api::ticket_status, crate::queue_api::ticket_qr,
        crate::desk::counters, crate::desk::open_or_close, crate::desk::waiting_line, crate::display::stream,
        crate::admin::list_users, crate::admin::add_user, crate::admin::list_devices, crate::admin::add_device,
        crate::admin::revoke_device, crate::admin::message_problems, crate::admin::export_booking,
        crate::stats_api::summary, crate::stats_api::export_csv, crate::stats_api::export_json,
        crate::stats_api::open_data_index, crate::stats_api::open_data_json, crate::stats_api::open_data_csv),
    components(schemas(ErrorBody, Health, Location, Service, Text, FeedbackRequest, FeedbackAccepted,
        crate::bookings::Availability, crate::bookings::SlotView, crate::bookings::BookingRequest, crate::bookings::Proof, crate::bookings::Challenge,
        crate::bookings::BookingView, crate::bookings::RescheduleRequest, crate::bookings::ConfirmRequest, schalter_events::booking::Status,
        crate::auth::LoginRequest, crate::auth::Me, crate::auth::DeviceMe,
        crate::queue_api::TicketRequest, crate::queue_api::TicketIssued, crate::queue_api::CalledTicket, crate::queue_api::ActionRequest, crate::queue_api::CheckInRequest,
        crate::queue_api::TicketStatus, crate::desk::CounterView, crate::desk::WaitingTicket, crate::desk::WaitingLine,
        crate::admin::UserView, crate::admin::NewUser, crate::admin::DeviceView, crate::admin::NewDevice, crate::admin::DeviceAdded, crate::state::MessageProblems, crate::state::MessageProblem, crate::admin::BookingExport)),
    tags((name = "catalogue"), (name = "citizens"), (name = "staff"), (name = "queue"), (name = "operations"))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(head) = state.store.head().await {
        metrics::gauge!("schalter_event_log_head").set(head as f64);
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::prometheus().render(),
    )
}

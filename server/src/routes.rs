//! Every route of the API, the OpenAPI document that describes them, and the metrics page.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use schalter_events::api::{self, Health};
use schalter_events::catalogue::{Location, Service, Text};
use schalter_events::queue::{Kind, SentAwayReason, State as TicketState};
use schalter_events::staff::{access::DeviceRole, Role};
use utoipa::OpenApi;

use crate::engine::state::{AppState, MessageProblem, MessageProblems};
use crate::features::catalogue::{FeedbackAccepted, FeedbackRequest};
use crate::features::{admin, bookings, catalogue, desk, display, queue, staff, stats};
use crate::http::error::{ApiError, ErrorBody};

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(catalogue::router())
        .merge(bookings::router())
        .merge(staff::router())
        .merge(queue::router(state))
        .merge(desk::router(state))
        .merge(display::router())
        .merge(admin::router(state))
        .merge(stats::router(state))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/api", get(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("there is no such API endpoint; see /api/openapi.json".into())
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Schalter API", description = "Appointments and queues for citizen offices. Errors are JSON: {\"error\": code, \"message\": text, \"field\": name}."),
    paths(catalogue::health, catalogue::locations, catalogue::services, catalogue::give_feedback, bookings::availability, bookings::book, bookings::challenge,
        bookings::view, bookings::cancel, bookings::reschedule, bookings::confirm, bookings::calendar, bookings::qr, bookings::erase_personal_data,
        staff::login, staff::logout, staff::me, staff::device_me,
        queue::issue_ticket, queue::call_next, queue::ticket_action, queue::send_away,
        queue::check_in, queue::ticket_status, queue::ticket_qr,
        desk::counters, desk::open_or_close, desk::waiting_line, display::stream,
        admin::list_users, admin::add_user, admin::list_devices, admin::add_device,
        admin::revoke_device, admin::message_problems, admin::export_booking,
        stats::summary, stats::export_csv, stats::export_json,
        stats::open_data_index, stats::open_data_json, stats::open_data_csv),
    components(schemas(ErrorBody, Health, Location, Service, Text, FeedbackRequest, FeedbackAccepted,
        api::Availability, api::SlotView, api::BookingRequest, api::Proof, api::Challenge, api::LocalTime,
        api::BookingView, api::RescheduleRequest, api::ConfirmRequest, schalter_events::booking::Status,
        api::LoginRequest, api::Me, api::DeviceMe, Role, DeviceRole,
        api::TicketRequest, api::TicketIssued, api::CalledTicket, api::ActionRequest, api::SentAwayRequest, api::CheckInRequest,
        api::TicketStatus, api::CounterView, api::WaitingTicket, api::WaitingLine, Kind, TicketState, SentAwayReason,
        api::CallView, api::WaitingGroup, api::Snapshot,
        admin::UserView, admin::NewUser, admin::DeviceView, admin::NewDevice, admin::DeviceAdded, MessageProblems, MessageProblem, admin::BookingExport)),
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
        crate::http::telemetry::prometheus().render(),
    )
}

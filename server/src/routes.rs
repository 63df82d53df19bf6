//! Every route of the API, the OpenAPI document that describes them, and the metrics page.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::engine::state::AppState;
use crate::features::{
    admin, audit, bookings, cases, catalogue, closures, day_list, desk, display, queue, setup, staff, stats,
};
use crate::http::abuse::ClientIp;
use crate::http::error::ApiError;

pub fn router(state: &AppState) -> Router<AppState> {
    let (api, mut document) = api(state).split_for_parts();
    crate::http::openapi::complete(&mut document);
    // Rendered once: the document cannot change while the server runs.
    let document = document.to_json().expect("the OpenAPI document serialises");
    api.route_layer(axum::middleware::from_fn(crate::http::digest_keyed_requests))
        .route(
            "/api/openapi.json",
            get(move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], document) }),
        )
        .route("/metrics", get(metrics))
        .route("/api", get(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

/// Every API route, each registered together with its OpenAPI entry (`routes!` takes the path
/// and method from the handler's `#[utoipa::path]`), so the document cannot drift from what is
/// served.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(catalogue::router())
        .merge(bookings::router())
        .merge(bookings::staff_router(state))
        .merge(staff::router())
        .merge(queue::router(state))
        .merge(desk::router(state))
        .merge(display::router())
        .merge(admin::router(state))
        .merge(closures::router(state))
        .merge(audit::router(state))
        .merge(setup::router(state))
        .merge(day_list::router(state))
        .merge(stats::router(state))
        .merge(cases::router(state))
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound("there is no such API endpoint; see /api/openapi.json".into())
}

/// What the document says besides the routes; the routes and their types come from [`api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Schalter API", description = "Appointments and queues for citizen offices. Errors are JSON: {\"error\": code, \"message\": text, \"field\": name}."),
    // The hall screen's stream events (`snapshot`, `call`, `waiting`), which no path names.
    components(schemas(schalter_events::api::Snapshot, schalter_events::api::CallView, schalter_events::api::WaitingGroup)),
    tags((name = "catalogue"), (name = "citizens"), (name = "staff"), (name = "queue"), (name = "cases"), (name = "operations"))
)]
pub struct ApiDoc;

/// Counters of logins, admin actions and bookings are for the operators: this machine (a local
/// Prometheus, or a proxy's own check) or whoever holds `SCHALTER_METRICS_TOKEN`.
async fn metrics(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token_ok = match (&state.metrics_token, bearer) {
        (Some(token), Some(given)) => crate::engine::secrets::same(token.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if !client.is_loopback() && !token_ok {
        return Err(ApiError::Unauthorized {
            code: "metrics_token_required",
            message: "metrics are served to this machine, or with the token set in SCHALTER_METRICS_TOKEN",
        });
    }
    if let Ok(head) = state.store.head().await {
        metrics::gauge!("schalter_event_log_head").set(head as f64);
    }
    let overdue = crate::features::cases::overdue_cases(&state, chrono::Utc::now()).len();
    metrics::gauge!("schalter_cases_overdue").set(overdue as f64);
    let silent = crate::features::cases::silent(&state, chrono::Utc::now()).len();
    metrics::gauge!("schalter_procedures_silent").set(silent as f64);
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::http::telemetry::prometheus().render(),
    ))
}

//! Who is asking: staff by session cookie (after `POST /api/auth/login`), kiosks and hall
//! screens by device token (`Authorization: Bearer …`, or `?token=` where a browser cannot set
//! headers, as with EventSource). Tokens are stored only as hashes.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use chrono::Utc;
use schalter_events::staff::access::{self, Device, DeviceRole};
use schalter_events::staff::Role;

use crate::engine::secrets::hash;
use crate::engine::state::AppState;
use crate::http::error::ApiError;
use utoipa_axum::router::OpenApiRouter;

pub(crate) const COOKIE: &str = "schalter_session";
/// A working day; staff sign in again the next morning.
pub(crate) const SESSION_HOURS: i64 = 12;

/// The cookie that carries a new session's token: HttpOnly, SameSite=Strict, and Secure
/// behind an HTTPS proxy.
pub(crate) fn session_cookie(headers: &HeaderMap, token: &str) -> Result<axum::http::HeaderValue, ApiError> {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    axum::http::HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))
}

pub(crate) fn session_hash(token: &str) -> String {
    hash("session", token)
}

pub fn device_token_hash(token: &str) -> String {
    hash("device", token)
}

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn not_signed_in() -> ApiError {
    ApiError::Unauthorized {
        code: "not_signed_in",
        message: "please sign in",
    }
}

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub username: String,
    pub role: Role,
}

impl StaffUser {
    /// 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The actor recorded in event metadata (audit); never used for statistics.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.username)
    }
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A route group's role layer has already found the user.
        if let Some(user) = parts.extensions.get::<StaffUser>() {
            return Ok(user.clone());
        }
        let token = session_token(&parts.headers).ok_or_else(not_signed_in)?;
        let events = state
            .store
            .read_stream(&access::session_stream(&session_hash(&token)), 0)
            .await?;
        let session = access::active_session(&events, Utc::now())
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(not_signed_in)?;
        // A deactivated account's sessions end with it.
        if state.directory().deactivated.contains(&session.username) {
            return Err(not_signed_in());
        }
        Ok(StaffUser {
            username: session.username,
            role: session.role,
        })
    }
}

/// Which staff may use a group of routes ([`staff_only`]).
#[derive(Debug, Clone, Copy)]
pub enum Staff {
    Desk,
    Managers,
    Admins,
}

/// Lets only `who` through to the routes of `router` (401 without a session, 403 with another
/// role, both before anything of the request is read; the handler's `StaffUser` is the one
/// found here), and says so in their OpenAPI entries.
pub fn staff_only(router: OpenApiRouter<AppState>, state: &AppState, who: Staff) -> OpenApiRouter<AppState> {
    let mut router = match who {
        Staff::Desk => router.route_layer(from_fn_with_state(state.clone(), desk)),
        Staff::Managers => router.route_layer(from_fn_with_state(state.clone(), managers)),
        Staff::Admins => router.route_layer(from_fn_with_state(state.clone(), admin)),
    };
    crate::http::openapi::require(router.get_openapi_mut(), &[crate::http::openapi::STAFF_SESSION]);
    router
}

/// Desk work: calling, serving, counters.
async fn desk(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    only(&state, &[Role::Desk, Role::Admin], request, next).await
}

/// Administration: accounts, devices, messages, access requests.
async fn admin(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    only(&state, &[Role::Admin], request, next).await
}

/// Evaluation: the statistics and their exports.
async fn managers(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    only(&state, &[Role::Manager, Role::Admin], request, next).await
}

async fn only(state: &AppState, roles: &[Role], request: Request, next: Next) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let user = StaffUser::from_request_parts(&mut parts, state).await?;
    user.require(roles)?;
    parts.extensions.insert(user);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

fn invalid_token() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_token",
        message: "this device token is not valid (revoked or unknown)",
    }
}

/// A registered, not revoked kiosk or hall screen.
pub struct DeviceAuth(pub Device);

impl DeviceAuth {
    pub fn require(&self, role: DeviceRole) -> Result<(), ApiError> {
        if self.0.role == role {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let from_header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let from_query = || {
            parts
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .find_map(|p| p.strip_prefix("token="))
                .map(str::to_owned)
        };
        // Two different tokens in one request: neither is trusted.
        let token = match (from_header, from_query()) {
            (Some(header), Some(query)) if header != query => return Err(invalid_token()),
            (Some(token), _) | (None, Some(token)) => token,
            (None, None) => {
                return Err(ApiError::Unauthorized {
                    code: "device_token_required",
                    message: "send the device token as 'Authorization: Bearer …'",
                })
            }
        };
        // The token names its device: "<id>.<secret>", so one stream read finds it.
        let (id, _) = token.split_once('.').ok_or_else(invalid_token)?;
        let events = state.store.read_stream(&access::device_stream(id), 0).await?;
        let device = access::fold_device(&events)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .filter(|d| !d.revoked && d.token_hash == device_token_hash(&token))
            .ok_or_else(invalid_token)?;
        Ok(DeviceAuth(device))
    }
}

//! Who is asking: staff by session cookie (after `POST /api/auth/login`), kiosks and hall
//! screens by device token (`Authorization: Bearer …`, or `?token=` where a browser cannot set
//! headers, as with EventSource). Tokens are stored only as hashes.

use argon2::{PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use schalter_events::staff::access::{self, Device, DeviceRole};
use schalter_events::staff::{self, Role};
use schalter_events::store::AppendRequest;
use schalter_events::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::ApiJson;
use crate::error::{ApiError, ErrorBody};
use crate::secrets::{hash, new_token};
use crate::state::AppState;

const COOKIE: &str = "schalter_session";
/// A working day; staff sign in again the next morning.
const SESSION_HOURS: i64 = 12;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/devices/me", get(device_me))
}

fn session_hash(token: &str) -> String {
    hash("session", token)
}

pub fn device_token_hash(token: &str) -> String {
    hash("device", token)
}

fn session_token(headers: &HeaderMap) -> Option<String> {
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
        let token = session_token(&parts.headers).ok_or_else(not_signed_in)?;
        let events = state
            .store
            .read_stream(&access::session_stream(&session_hash(&token)), 0)
            .await?;
        let session = access::active_session(&events, Utc::now())
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(not_signed_in)?;
        Ok(StaffUser {
            username: session.username,
            role: session.role,
        })
    }
}

/// A signed-in admin, checked before the request body is read (403 before 422).
pub struct AdminUser(pub StaffUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = StaffUser::from_request_parts(parts, state).await?;
        user.require(&[Role::Admin])?;
        Ok(AdminUser(user))
    }
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
        let token = from_header.or_else(from_query).ok_or(ApiError::Unauthorized {
            code: "device_token_required",
            message: "send the device token as 'Authorization: Bearer …'",
        })?;
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    username: String,
    #[schema(value_type = String, example = "desk")]
    role: Role,
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        message: "user name or password is wrong",
    }
}

/// Signs a member of staff in; the answer sets an HttpOnly, SameSite=Strict session cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "staff", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::abuse::ClientIp(ip): crate::abuse::ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.username.len() > 40 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Password guessing: a handful of tries per account and address, then a pause.
    state
        .abuse
        .check(&format!("login:{ip}:{}", req.username), crate::abuse::LOGIN_PER_ACCOUNT)?;
    let events = state.store.read_stream(&staff::stream(&req.username), 0).await?;
    let account = staff::fold_account(&events).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let password = req.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let valid = tokio::task::spawn_blocking(move || match stored {
        Some(phc) => PasswordHash::new(&phc)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false),
        None => false,
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(account) = account.filter(|_| valid) else {
        return Err(invalid_credentials());
    };
    let token = new_token();
    let (event, expectation) = access::start_session(
        &session_hash(&token),
        &account.username,
        account.role,
        Utc::now() + Duration::hours(SESSION_HOURS),
    );
    let request = AppendRequest::new(vec![event])
        .expect(access::session_stream(&session_hash(&token)), expectation)
        .metadata(Metadata::by(&format!("staff:{}", account.username), Utc::now()));
    state.store.append(&request).await?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(Me {
        username: account.username,
        role: account.role,
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "staff", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let stream = access::session_stream(&session_hash(&token));
        let events = state.store.read_stream(&stream, 0).await?;
        let active = access::active_session(&events, Utc::now()).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(session) = active {
            let request = AppendRequest::new(vec![access::end_session(&session_hash(&token))])
                .expect(stream, schalter_events::Expectation::AtVersion(session.version))
                .metadata(Metadata::by(&format!("staff:{}", session.username), Utc::now()));
            state.store.append(&request).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("schalter_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/auth/me", tag = "staff",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(user: StaffUser) -> Json<Me> {
    Json(Me {
        username: user.username,
        role: user.role,
    })
}

#[derive(Serialize, ToSchema)]
pub struct DeviceMe {
    id: String,
    location: String,
    #[schema(value_type = String, example = "kiosk")]
    role: DeviceRole,
}

#[utoipa::path(get, path = "/api/devices/me", tag = "staff",
    responses((status = 200, body = DeviceMe), (status = 401, body = ErrorBody)))]
pub async fn device_me(DeviceAuth(device): DeviceAuth) -> Json<DeviceMe> {
    Json(DeviceMe {
        id: device.id,
        location: device.location,
        role: device.role,
    })
}

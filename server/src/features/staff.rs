//! Staff sign in and out; kiosks and hall screens ask who they are.

use argon2::{PasswordHash, PasswordVerifier};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use schalter_events::staff::access::{self, DeviceRole};
use schalter_events::staff::{self, Role};
use schalter_events::store::AppendRequest;
use schalter_events::Metadata;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::secrets::new_token;
use crate::engine::state::AppState;
use crate::http::auth::{session_hash, session_token, DeviceAuth, StaffUser, COOKIE, SESSION_HOURS};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::ApiJson;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/devices/me", get(device_me))
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
    crate::http::abuse::ClientIp(ip): crate::http::abuse::ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.username.len() > 40 || req.password.len() > 1024 {
        return Err(invalid_credentials());
    }
    // Password guessing: a handful of tries per account and address, then a pause.
    state.abuse.check(
        &format!("login:{ip}:{}", req.username),
        crate::http::abuse::LOGIN_PER_ACCOUNT,
    )?;
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

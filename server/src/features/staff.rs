//! Staff sign in and out; kiosks and hall screens ask who they are.

use argon2::{PasswordHash, PasswordVerifier};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use schalter_events::api::{DeviceMe, LoginRequest, Me};
use schalter_events::staff::{self, access};
use schalter_events::store::Store;
use schalter_events::{Decision, Expectation};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::executor::{Attempt, Command, Decided, Executed};
use crate::engine::secrets::new_token;
use crate::engine::state::AppState;
use crate::http::auth::{session_cookie, session_hash, session_token, DeviceAuth, StaffUser, SESSION_HOURS};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::ApiJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(device_me))
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
    let token = new_token();
    let actor = format!("staff:{}", req.username);
    let command = SignIn::new(&state, ip, req, session_hash(&token));
    let Executed::Done(me, _) = state.execute(&actor, None, command).await? else {
        return Err(ApiError::Internal(
            "a sign-in without an idempotency key was repeated".into(),
        ));
    };
    let mut response = Json(me).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&headers, &token)?);
    Ok(response)
}

/// The argon2 hash of a random password nobody knows, made once with the same parameters as
/// the accounts' hashes.
fn unknown_account_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::{rand_core::OsRng, SaltString};
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(new_token().as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks the password once (admission), then starts a session.
struct SignIn<'a> {
    state: &'a AppState,
    ip: std::net::IpAddr,
    request: LoginRequest,
    token_hash: String,
    account: Option<staff::Account>,
}

impl<'a> SignIn<'a> {
    fn new(state: &'a AppState, ip: std::net::IpAddr, request: LoginRequest, token_hash: String) -> Self {
        SignIn {
            state,
            ip,
            request,
            token_hash,
            account: None,
        }
    }
}

impl Command for SignIn<'_> {
    type Output = Me;
    type Error = ApiError;

    async fn admit(&mut self) -> Result<(), ApiError> {
        let (state, req) = (self.state, &self.request);
        if req.username.len() > 40 || req.password.len() > 1024 {
            return Err(invalid_credentials());
        }
        // Password guessing: a handful of tries per account and address, then a pause.
        let key = format!("login:{}:{}", self.ip, req.username);
        state.abuse.check(&key, crate::http::abuse::LOGIN_PER_ACCOUNT)?;
        let events = state.store.read_stream(&staff::stream(&req.username), 0).await?;
        let account = staff::fold_account(&events).map_err(|e| ApiError::Internal(e.to_string()))?;
        // An unknown name is checked against a hash no password matches, so that it costs the
        // same as a wrong password: names cannot be found by timing.
        let stored = account
            .as_ref()
            .map_or_else(|| unknown_account_hash().to_owned(), |a| a.password_hash.clone());
        let password = req.password.clone();
        // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        let valid = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        // A deactivated account is refused like a wrong password: nothing to learn from it.
        self.account = Some(account.filter(|a| valid && a.active).ok_or_else(invalid_credentials)?);
        Ok(())
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Me>, ApiError> {
        let account = self.account.as_ref().ok_or_else(invalid_credentials)?;
        let expires = attempt.now + Duration::hours(SESSION_HOURS);
        let (event, expectation) = access::start_session(&self.token_hash, &account.username, account.role, expires);
        let me = Me {
            username: account.username.clone(),
            role: account.role,
        };
        Ok(Decided::append(Decision::expecting(event, expectation), me))
    }
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "staff", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let token_hash = session_hash(&token);
        // Read once here for the actor's name; the command decides on this reading.
        if let Some(session) = read_session(&state.store, &token_hash, Utc::now()).await? {
            let actor = format!("staff:{}", session.username);
            let command = SignOut {
                store: &state.store,
                token_hash,
                read: Some(session),
            };
            state.execute(&actor, None, command).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("schalter_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// Ends a session; nothing if it already ended or ran out.
struct SignOut<'a> {
    store: &'a Store,
    token_hash: String,
    /// The session as the handler read it, for the first decision.
    read: Option<access::Session>,
}

async fn read_session(
    store: &Store,
    token_hash: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<access::Session>, ApiError> {
    let events = store.read_stream(&access::session_stream(token_hash), 0).await?;
    access::active_session(&events, now).map_err(|e| ApiError::Internal(e.to_string()))
}

impl Command for SignOut<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        // After a conflict, someone else wrote the session meanwhile: read it again.
        let session = match self.read.take() {
            Some(session) if !attempt.is_retry() => Some(session),
            _ => read_session(self.store, &self.token_hash, attempt.now).await?,
        };
        Ok(match session {
            None => Decided::Nothing(()),
            Some(session) => {
                let end = access::end_session(&self.token_hash);
                Decided::append(Decision::expecting(end, Expectation::AtVersion(session.version)), ())
            }
        })
    }
}

#[utoipa::path(get, path = "/api/auth/me", tag = "staff", security(("staff_session" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(user: StaffUser) -> Json<Me> {
    Json(Me {
        username: user.username,
        role: user.role,
    })
}

#[utoipa::path(get, path = "/api/devices/me", tag = "staff", security(("device_token" = [])),
    responses((status = 200, body = DeviceMe), (status = 401, body = ErrorBody)))]
pub async fn device_me(DeviceAuth(device): DeviceAuth) -> Json<DeviceMe> {
    Json(DeviceMe {
        id: device.id,
        location: device.location,
        role: device.role,
    })
}

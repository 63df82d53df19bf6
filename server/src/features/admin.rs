//! Accounts and devices: created and revoked by an admin through the API or by an operator
//! through the CLI, the same functions either way.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::SaltString;
use argon2::PasswordHasher;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schalter_events::staff::access::{self, DeviceRole};
use schalter_events::staff::{self, Role, StaffError};
use schalter_events::store::{Store, StoreError};
use schalter_events::{Decision, Expectation};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use schalter_events::api::{DeviceAdded, DeviceView, NewDevice, NewPassword, NewUser, UserView};

use crate::engine::executor::{Attempt, Busy, Command, Decided, Executed, Executor, Record};
use crate::engine::state::AppState;
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] StaffError),
    #[error("there is already an account {0:?}")]
    UserExists(String),
    #[error("there is no location {0:?}")]
    UnknownLocation(String),
    #[error("there is no device {0:?}")]
    UnknownDevice(String),
    #[error(transparent)]
    Change(#[from] staff::AccountChangeError),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Busy(#[from] Busy),
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(StaffError::InvalidUsername) => {
                ApiError::invalid("invalid_username", Some("username"), e.to_string())
            }
            AccountError::Invalid(StaffError::UnknownRole(_)) => {
                ApiError::invalid("unknown_role", Some("role"), e.to_string())
            }
            AccountError::Invalid(StaffError::PasswordTooShort) => {
                ApiError::invalid("password_too_short", Some("password"), e.to_string())
            }
            AccountError::UserExists(_) => ApiError::Conflict {
                code: "user_exists",
                message: e.to_string(),
            },
            AccountError::UnknownLocation(_) => ApiError::invalid("unknown_location", Some("location"), e.to_string()),
            AccountError::UnknownDevice(_) => ApiError::NotFound(e.to_string()),
            AccountError::Change(staff::AccountChangeError::Unknown) => ApiError::NotFound(e.to_string()),
            AccountError::Change(staff::AccountChangeError::OwnAccount) => ApiError::Conflict {
                code: "own_account",
                message: e.to_string(),
            },
            AccountError::Hash(m) => ApiError::Internal(m),
            AccountError::Store(s) => s.into(),
            AccountError::Busy(b) => b.into(),
        }
    }
}

/// Creates an account; the password is kept only as an argon2id hash.
pub async fn create_user(
    executor: &Executor,
    username: &str,
    role: Role,
    password: &str,
    actor: &str,
) -> Result<(), AccountError> {
    let password_hash = hash_password(password)?;
    let command = CreateAccount {
        store: executor.store(),
        username,
        role,
        password_hash,
    };
    executor.execute(actor, None, command).await?;
    Ok(())
}

/// A password's argon2id hash, once it is long enough.
fn hash_password(password: &str) -> Result<String, AccountError> {
    staff::check_password(password)?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .to_string())
}

/// Sets a new password, or deactivates or reactivates an account.
pub async fn change_account(
    executor: &Executor,
    username: &str,
    change: staff::AccountChange,
    actor: &str,
) -> Result<(), AccountError> {
    let command = ChangeAccount {
        store: executor.store(),
        username,
        change,
        admin: actor.strip_prefix("staff:").unwrap_or(actor),
    };
    executor.execute(actor, None, command).await?;
    Ok(())
}

struct ChangeAccount<'a> {
    store: &'a Store,
    username: &'a str,
    change: staff::AccountChange,
    admin: &'a str,
}

impl Command for ChangeAccount<'_> {
    type Output = ();
    type Error = AccountError;

    async fn decide(&mut self, _: &Attempt<'_>) -> Result<Decided<()>, AccountError> {
        let events = self.store.read_stream(&staff::stream(self.username), 0).await?;
        let account = staff::fold_account(&events).map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(
            match staff::change_account(account.as_ref(), self.change.clone(), self.admin)? {
                None => Decided::Nothing(()),
                Some((event, expectation)) => Decided::append(Decision::expecting(event, expectation), ()),
            },
        )
    }
}

struct CreateAccount<'a> {
    store: &'a Store,
    username: &'a str,
    role: Role,
    password_hash: String,
}

impl Command for CreateAccount<'_> {
    type Output = ();
    type Error = AccountError;

    async fn decide(&mut self, _: &Attempt<'_>) -> Result<Decided<()>, AccountError> {
        let (event, expectation) = staff::create_account(self.username, self.role, self.password_hash.clone())?;
        if !self.store.read_stream(&event.stream, 0).await?.is_empty() {
            return Err(AccountError::UserExists(self.username.to_owned()));
        }
        Ok(Decided::append(Decision::expecting(event, expectation), ()))
    }
}

/// Registers a kiosk or hall screen and returns its id and token (shown once, stored hashed).
/// The caller checks that the location exists.
pub async fn create_device(
    executor: &Executor,
    location: &str,
    role: DeviceRole,
    actor: &str,
) -> Result<(String, String), AccountError> {
    let prefix = match role {
        DeviceRole::Kiosk => "kiosk",
        DeviceRole::Display => "display",
        DeviceRole::Procedure => "procedure",
    };
    let id = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let token = format!("{id}.{}", crate::engine::secrets::new_token());
    let (event, expectation) =
        access::register_device(&id, location, role, &crate::http::auth::device_token_hash(&token));
    // A new random id: nobody else can have registered it.
    let command = Record::<AccountError>::new(Decision::expecting(event, expectation));
    executor.execute(actor, None, command).await?;
    Ok((id, token))
}

/// Revokes a device's token; returns false if it was already revoked.
pub async fn revoke(executor: &Executor, id: &str, actor: &str) -> Result<bool, AccountError> {
    let command = Revoke {
        store: executor.store(),
        id,
    };
    match executor.execute(actor, None, command).await? {
        Executed::Done(revoked, _) => Ok(revoked),
        Executed::Repeated(_) => Ok(false),
    }
}

struct Revoke<'a> {
    store: &'a Store,
    id: &'a str,
}

impl Command for Revoke<'_> {
    type Output = bool;
    type Error = AccountError;

    async fn decide(&mut self, _: &Attempt<'_>) -> Result<Decided<bool>, AccountError> {
        let events = self.store.read_stream(&access::device_stream(self.id), 0).await?;
        let known = access::fold_device(&events).map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(match known {
            None => return Err(AccountError::UnknownDevice(self.id.to_owned())),
            Some(d) if d.revoked => Decided::Nothing(false),
            Some(_) => {
                let expectation = Expectation::AtVersion(events.len() as i64);
                Decided::append(Decision::expecting(access::revoke_device(self.id), expectation), true)
            }
        })
    }
}

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let admins = OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(set_password))
        .routes(routes!(deactivate_user))
        .routes(routes!(reactivate_user))
        .routes(routes!(list_devices, add_device))
        .routes(routes!(revoke_device))
        .routes(routes!(message_problems))
        .routes(routes!(demo_messages))
        .routes(routes!(demo_calendar))
        .routes(routes!(export_booking));
    auth::staff_only(admins, state, auth::Staff::Admins)
}

#[derive(Serialize, ToSchema)]
pub struct BookingExport {
    /// The personal data as stored (decrypted), or `null` once erased.
    #[schema(value_type = Option<Object>)]
    personal_data: Option<serde_json::Value>,
    /// Every recorded step of the booking, oldest first, with who did it and when.
    #[schema(value_type = Vec<Object>)]
    history: Vec<serde_json::Value>,
}

/// Everything held about one booking, for a citizen's access request (GDPR art. 15): the
/// citizen gives the office the booking code; an admin exports it.
#[utoipa::path(get, path = "/api/admin/bookings/{code}/export", tag = "staff", params(("code" = String, Path)),
    responses((status = 200, body = BookingExport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn export_booking(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingExport>, ApiError> {
    let (hash, booking) = crate::features::bookings::load_booking(&state, &code).await?;
    let personal = if booking.erased {
        None
    } else {
        state
            .vault
            .open(&booking.contact)
            .await?
            .map(|p| serde_json::to_value(p).unwrap_or_default())
    };
    let events = state
        .store
        .read_stream(&schalter_events::booking::stream(&hash), 0)
        .await?;
    let history = events
        .iter()
        .map(|e| {
            let mut data = e.data.clone();
            // The sealed form says nothing; the decrypted data is above.
            if let Some(d) = data.as_object_mut() {
                d.remove("contact");
                d.remove("holder");
            }
            serde_json::json!({
                "step": e.event_type,
                "recorded_at": e.recorded_at,
                "by": e.metadata.actor,
                "data": data,
            })
        })
        .collect();
    Ok(Json(BookingExport {
        personal_data: personal,
        history,
    }))
}

/// Messages to citizens that failed, are overdue or expired unsent (no personal data).
#[utoipa::path(get, path = "/api/admin/messages", tag = "staff",
    responses((status = 200, body = crate::engine::state::MessageProblems), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn message_problems(State(state): State<AppState>) -> Json<crate::engine::state::MessageProblems> {
    Json(state.message_problems.read().unwrap_or_else(|e| e.into_inner()).clone())
}

fn demo_outbox(state: &AppState) -> Result<&crate::engine::state::DemoOutbox, ApiError> {
    state.demo_outbox.as_ref().ok_or_else(|| {
        ApiError::NotFound("there is a demo outbox only in demo mode without a mail server or SMS gateway".into())
    })
}

/// What the demo would have sent to citizens, newest first (demo mode only; 404 otherwise).
#[utoipa::path(get, path = "/api/admin/demo-outbox", tag = "staff",
    responses((status = 200, body = [schalter_events::api::OutboxMessage]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn demo_messages(
    State(state): State<AppState>,
) -> Result<Json<Vec<schalter_events::api::OutboxMessage>>, ApiError> {
    Ok(Json(demo_outbox(&state)?.list()))
}

/// The calendar file a demo message carries.
#[utoipa::path(get, path = "/api/admin/demo-outbox/{id}/calendar.ics", tag = "staff", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn demo_calendar(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let calendar = demo_outbox(&state)?
        .get(&id)
        .and_then(|m| m.calendar)
        .ok_or_else(|| ApiError::NotFound(format!("there is no demo message {id:?} with a calendar file")))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"termin.ics\"",
            ),
        ],
        calendar,
    )
        .into_response())
}

/// All staff accounts and their roles (never password hashes).
#[utoipa::path(get, path = "/api/admin/users", tag = "staff",
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    let directory = state.directory();
    let users = directory
        .accounts
        .iter()
        .map(|(username, role)| UserView {
            username: username.clone(),
            role: *role,
            active: !directory.deactivated.contains(username),
        })
        .collect();
    Ok(Json(users))
}

#[utoipa::path(post, path = "/api/admin/users", tag = "staff", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_user(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let role: Role = req.role.parse().map_err(AccountError::from)?;
    create_user(&state.executor, &req.username, role, &req.password, &user.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserView {
            username: req.username,
            role,
            active: true,
        }),
    ))
}

/// Sets a new password for an account (the person tells it nobody; sessions stay).
#[utoipa::path(post, path = "/api/admin/users/{username}/password", tag = "staff", params(("username" = String, Path)),
    request_body = NewPassword,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn set_password(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(username): ApiPath<String>,
    ApiJson(req): ApiJson<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let password_hash = hash_password(&req.password)?;
    let change = staff::AccountChange::SetPassword { password_hash };
    change_account(&state.executor, &username, change, &user.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivates an account: sign-in is refused and its sessions end. Not one's own (409).
#[utoipa::path(post, path = "/api/admin/users/{username}/deactivate", tag = "staff", params(("username" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    change_account(
        &state.executor,
        &username,
        staff::AccountChange::Deactivate,
        &user.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/users/{username}/reactivate", tag = "staff", params(("username" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    change_account(
        &state.executor,
        &username,
        staff::AccountChange::Reactivate,
        &user.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/admin/devices", tag = "staff",
    responses((status = 200, body = [DeviceView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_devices(State(state): State<AppState>) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let devices = state
        .directory()
        .devices
        .values()
        .map(|d| DeviceView {
            id: d.id.clone(),
            location: d.location.clone(),
            role: d.role,
            revoked: d.revoked,
        })
        .collect();
    Ok(Json(devices))
}

#[utoipa::path(post, path = "/api/admin/devices", tag = "staff", request_body = NewDevice,
    responses((status = 201, body = DeviceAdded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_device(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(req): ApiJson<NewDevice>,
) -> Result<(StatusCode, Json<DeviceAdded>), ApiError> {
    let role: DeviceRole = req
        .role
        .parse()
        .map_err(|m: String| ApiError::invalid("unknown_role", Some("role"), m))?;
    if !state.catalogue().locations.contains_key(&req.location) {
        return Err(AccountError::UnknownLocation(req.location).into());
    }
    let (id, token) = create_device(&state.executor, &req.location, role, &user.actor()).await?;
    let path = format!("/{}/{}?token={token}", req.role, req.location);
    Ok((StatusCode::CREATED, Json(DeviceAdded { id, token, path })))
}

#[utoipa::path(post, path = "/api/admin/devices/{id}/revoke", tag = "staff", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_device(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    user: StaffUser,
) -> Result<StatusCode, ApiError> {
    revoke(&state.executor, &id, &user.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Staff accounts. Each account is its own stream, so creating one twice is a stream
//! conflict, not a race.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::event::{encode, Expectation, NewEvent};

pub const SCHEMA: i32 = 1;

pub fn stream(username: &str) -> String {
    format!("staff-{username}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Role {
    /// Configures the municipality: locations, services, accounts, devices.
    Admin,
    /// Front desk: check-in, tickets, calling, serving.
    Desk,
    /// Reads statistics and exports; never figures about individual employees.
    Manager,
}

impl std::str::FromStr for Role {
    type Err = StaffError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "desk" => Ok(Role::Desk),
            "manager" => Ok(Role::Manager),
            _ => Err(StaffError::UnknownRole(s.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum StaffEvent {
    AccountCreated {
        username: String,
        role: Role,
        /// argon2id PHC string; the password itself is never stored.
        password_hash: String,
    },
    /// An admin set a new password (the person forgot theirs, or it may be known to others).
    PasswordSet {
        password_hash: String,
    },
    /// The person left or must not sign in for now: sign-in refused, sessions no longer valid.
    AccountDeactivated,
    AccountReactivated,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StaffError {
    #[error("user names are 2 to 40 characters: lower-case letters, digits, '.', '-' or '_'")]
    InvalidUsername,
    #[error("unknown role {0:?}: use admin, desk or manager")]
    UnknownRole(String),
    #[error("passwords need at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn check_password(password: &str) -> Result<(), StaffError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StaffError::PasswordTooShort);
    }
    Ok(())
}

/// The event that creates an account and the expectation that it does not exist yet.
pub fn create_account(
    username: &str,
    role: Role,
    password_hash: String,
) -> Result<(NewEvent, Expectation), StaffError> {
    let valid = (2..=40).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(StaffError::InvalidUsername);
    }
    let event = StaffEvent::AccountCreated {
        username: username.to_owned(),
        role,
        password_hash,
    };
    Ok((encode(stream(username), SCHEMA, &event), Expectation::NoStream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_restricted_to_a_safe_alphabet() {
        assert!(create_account("anna.meier", Role::Desk, "h".into()).is_ok());
        for bad in ["A", "Anna", "anna meier", "anna@x", &"a".repeat(41)] {
            assert_eq!(
                create_account(bad, Role::Desk, "h".into()).unwrap_err(),
                StaffError::InvalidUsername,
                "{bad}"
            );
        }
    }

    #[test]
    fn account_creation_expects_a_new_stream() {
        let (event, expectation) = create_account("bob", Role::Manager, "h".into()).unwrap();
        assert_eq!(event.stream, "staff-bob");
        assert_eq!(expectation, Expectation::NoStream);
        assert_eq!("manager".parse::<Role>().unwrap(), Role::Manager);
        assert!("boss".parse::<Role>().is_err());
        assert_eq!(check_password("short"), Err(StaffError::PasswordTooShort));
        assert!(check_password("long enough!").is_ok());
    }
}

/// Sessions and devices: who may act, recorded as events for the audit trail.
pub mod access {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    use super::Role;
    use crate::event::{decode, encode, DecodeError, Expectation, NewEvent, RecordedEvent};

    pub const SCHEMA: i32 = 1;

    pub fn session_stream(token_hash: &str) -> String {
        format!("session-{token_hash}")
    }

    pub fn device_stream(id: &str) -> String {
        format!("device-{id}")
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
    pub enum DeviceRole {
        /// Touch kiosk in the hall: issues tickets, checks in appointments.
        Kiosk,
        /// Hall screen: reads the call stream, nothing else.
        Display,
        /// A specialist procedure (Fachverfahren) reporting the steps of its applications at the
        /// location (`POST /api/import/case-steps`); it reads nothing.
        Procedure,
    }

    impl std::str::FromStr for DeviceRole {
        type Err = String;
        fn from_str(s: &str) -> Result<Self, Self::Err> {
            match s {
                "kiosk" => Ok(DeviceRole::Kiosk),
                "display" => Ok(DeviceRole::Display),
                "procedure" => Ok(DeviceRole::Procedure),
                _ => Err(format!("unknown device role {s:?}: use kiosk, display or procedure")),
            }
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    pub enum AccessEvent {
        SessionStarted {
            username: String,
            role: Role,
            expires_at: DateTime<Utc>,
        },
        SessionEnded,
        DeviceRegistered {
            id: String,
            location: String,
            role: DeviceRole,
            /// Only a hash: the token itself is shown once, when the device is added.
            token_hash: String,
        },
        DeviceRevoked,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Session {
        pub username: String,
        pub role: Role,
        pub expires_at: DateTime<Utc>,
        pub version: i64,
    }

    /// A session that exists, has not ended and has not expired at `now`.
    pub fn active_session(events: &[RecordedEvent], now: DateTime<Utc>) -> Result<Option<Session>, DecodeError> {
        let mut session = None;
        for e in events {
            match decode::<AccessEvent>(e)? {
                AccessEvent::SessionStarted {
                    username,
                    role,
                    expires_at,
                } => {
                    session = Some(Session {
                        username,
                        role,
                        expires_at,
                        version: e.version,
                    })
                }
                AccessEvent::SessionEnded => session = None,
                _ => {}
            }
        }
        Ok(session.filter(|s| s.expires_at > now))
    }

    pub fn start_session(
        token_hash: &str,
        username: &str,
        role: Role,
        expires_at: DateTime<Utc>,
    ) -> (NewEvent, Expectation) {
        let event = AccessEvent::SessionStarted {
            username: username.to_owned(),
            role,
            expires_at,
        };
        (
            encode(session_stream(token_hash), SCHEMA, &event),
            Expectation::NoStream,
        )
    }

    pub fn end_session(token_hash: &str) -> NewEvent {
        encode(session_stream(token_hash), SCHEMA, &AccessEvent::SessionEnded)
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Device {
        pub id: String,
        pub location: String,
        pub role: DeviceRole,
        pub token_hash: String,
        pub revoked: bool,
    }

    pub fn fold_device(events: &[RecordedEvent]) -> Result<Option<Device>, DecodeError> {
        let mut device = None;
        for e in events {
            match decode::<AccessEvent>(e)? {
                AccessEvent::DeviceRegistered {
                    id,
                    location,
                    role,
                    token_hash,
                } => {
                    device = Some(Device {
                        id,
                        location,
                        role,
                        token_hash,
                        revoked: false,
                    })
                }
                AccessEvent::DeviceRevoked => {
                    if let Some(d) = device.as_mut() {
                        d.revoked = true;
                    }
                }
                _ => {}
            }
        }
        Ok(device)
    }

    pub fn register_device(id: &str, location: &str, role: DeviceRole, token_hash: &str) -> (NewEvent, Expectation) {
        let event = AccessEvent::DeviceRegistered {
            id: id.to_owned(),
            location: location.to_owned(),
            role,
            token_hash: token_hash.to_owned(),
        };
        (encode(device_stream(id), SCHEMA, &event), Expectation::NoStream)
    }

    pub fn revoke_device(id: &str) -> NewEvent {
        encode(device_stream(id), SCHEMA, &AccessEvent::DeviceRevoked)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn recorded(events: Vec<NewEvent>) -> Vec<RecordedEvent> {
            events
                .iter()
                .enumerate()
                .map(|(i, e)| e.recorded(i as i64 + 1, i as i64 + 1, Utc::now()))
                .collect()
        }

        fn at(s: &str) -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
        }

        #[test]
        fn sessions_end_by_logout_or_expiry() {
            let (start, expectation) = start_session("h", "anna", Role::Desk, at("2026-12-01T18:00:00Z"));
            assert_eq!(expectation, Expectation::NoStream);
            let events = recorded(vec![start.clone()]);
            let s = active_session(&events, at("2026-12-01T09:00:00Z")).unwrap().unwrap();
            assert_eq!((s.username.as_str(), s.role), ("anna", Role::Desk));
            assert_eq!(
                active_session(&events, at("2026-12-01T18:00:00Z")).unwrap(),
                None,
                "expired"
            );
            let ended = recorded(vec![start, end_session("h")]);
            assert_eq!(
                active_session(&ended, at("2026-12-01T09:00:00Z")).unwrap(),
                None,
                "logged out"
            );
        }

        #[test]
        fn revoked_devices_stay_known_but_revoked() {
            let (reg, _) = register_device("k1", "buergerbuero", DeviceRole::Kiosk, "th");
            let d = fold_device(&recorded(vec![reg.clone()])).unwrap().unwrap();
            assert!(!d.revoked);
            assert_eq!(d.role, DeviceRole::Kiosk);
            let d = fold_device(&recorded(vec![reg, revoke_device("k1")])).unwrap().unwrap();
            assert!(d.revoked);
            assert_eq!("display".parse::<DeviceRole>(), Ok(DeviceRole::Display));
            assert!("tv".parse::<DeviceRole>().is_err());
        }
    }
}

/// An account as its stream tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    /// The stream's version, for changes that expect it.
    pub version: i64,
}

pub fn fold_account(events: &[crate::event::RecordedEvent]) -> Result<Option<Account>, crate::event::DecodeError> {
    let mut account: Option<Account> = None;
    for e in events {
        match (crate::event::decode(e)?, account.as_mut()) {
            (
                StaffEvent::AccountCreated {
                    username,
                    role,
                    password_hash,
                },
                _,
            ) => {
                account = Some(Account {
                    username,
                    role,
                    password_hash,
                    active: true,
                    version: e.version,
                });
                continue;
            }
            (StaffEvent::PasswordSet { password_hash }, Some(a)) => a.password_hash = password_hash,
            (StaffEvent::AccountDeactivated, Some(a)) => a.active = false,
            (StaffEvent::AccountReactivated, Some(a)) => a.active = true,
            (_, None) => continue,
        }
        if let Some(a) = account.as_mut() {
            a.version = e.version;
        }
    }
    Ok(account)
}

/// What an admin does to an existing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    SetPassword { password_hash: String },
    Deactivate,
    Reactivate,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountChangeError {
    #[error("there is no account with this name")]
    Unknown,
    #[error("admins cannot deactivate their own account (someone must be able to undo it)")]
    OwnAccount,
}

/// Decides `change` to `account` by `admin`; `None` when it is already so.
pub fn change_account(
    account: Option<&Account>,
    change: AccountChange,
    admin: &str,
) -> Result<Option<(NewEvent, Expectation)>, AccountChangeError> {
    let a = account.ok_or(AccountChangeError::Unknown)?;
    let event = match change {
        AccountChange::SetPassword { password_hash } => StaffEvent::PasswordSet { password_hash },
        AccountChange::Deactivate if a.username == admin => return Err(AccountChangeError::OwnAccount),
        AccountChange::Deactivate if !a.active => return Ok(None),
        AccountChange::Deactivate => StaffEvent::AccountDeactivated,
        AccountChange::Reactivate if a.active => return Ok(None),
        AccountChange::Reactivate => StaffEvent::AccountReactivated,
    };
    Ok(Some((
        encode(stream(&a.username), SCHEMA, &event),
        Expectation::AtVersion(a.version),
    )))
}

#[cfg(test)]
mod account_tests {
    use super::*;
    use crate::event::{Metadata, RecordedEvent};

    fn recorded(events: Vec<NewEvent>) -> Vec<RecordedEvent> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| RecordedEvent {
                position: i as i64 + 1,
                stream: e.stream,
                version: i as i64 + 1,
                event_type: e.event_type,
                schema: e.schema,
                data: e.data,
                metadata: Metadata::default(),
                recorded_at: chrono::Utc::now(),
            })
            .collect()
    }

    #[test]
    fn an_account_is_deactivated_reactivated_and_given_a_new_password() {
        let (created, _) = create_account("anna", Role::Desk, "old".into()).unwrap();
        let mut log = vec![created];
        let anna = fold_account(&recorded(log.clone())).unwrap();
        assert_eq!(anna.as_ref().map(|a| (a.active, a.version)), Some((true, 1)));
        let (off, expect) = change_account(anna.as_ref(), AccountChange::Deactivate, "root")
            .unwrap()
            .unwrap();
        assert_eq!(expect, Expectation::AtVersion(1));
        log.push(off);
        let anna = fold_account(&recorded(log.clone())).unwrap();
        assert!(!anna.as_ref().unwrap().active);
        assert_eq!(
            change_account(anna.as_ref(), AccountChange::Deactivate, "root"),
            Ok(None)
        );
        let (set, _) = change_account(
            anna.as_ref(),
            AccountChange::SetPassword {
                password_hash: "new".into(),
            },
            "root",
        )
        .unwrap()
        .unwrap();
        log.push(set);
        let anna = fold_account(&recorded(log)).unwrap().unwrap();
        assert_eq!((anna.password_hash.as_str(), anna.version), ("new", 3));
        assert_eq!(
            change_account(Some(&anna), AccountChange::Deactivate, "anna"),
            Err(AccountChangeError::OwnAccount)
        );
        assert_eq!(
            change_account(None, AccountChange::Reactivate, "root"),
            Err(AccountChangeError::Unknown)
        );
    }
}

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

//! The one-question satisfaction survey after a visit (R4.4, R10.8).
//!
//! Deliberately without free text: a comment box invites personal data, and a score per
//! service is what the evaluation reports need.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalogue::Catalogue;
use crate::event::{encode, NewEvent};

pub const STREAM: &str = "feedback";
pub const SCHEMA: i32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum FeedbackEvent {
    /// A citizen rated their visit or booking experience from 1 (bad) to 5 (very good).
    FeedbackGiven {
        rating: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeedbackError {
    #[error("the rating must be a whole number from 1 to 5")]
    RatingOutOfRange,
    #[error("there is no service with this id")]
    UnknownService,
}

/// Decides whether a rating is accepted; the event is the only effect.
pub fn give(catalogue: &Catalogue, rating: u8, service: Option<&str>) -> Result<NewEvent, FeedbackError> {
    if !(1..=5).contains(&rating) {
        return Err(FeedbackError::RatingOutOfRange);
    }
    if let Some(id) = service {
        if !catalogue.services.contains_key(id) {
            return Err(FeedbackError::UnknownService);
        }
    }
    Ok(encode(
        STREAM,
        SCHEMA,
        &FeedbackEvent::FeedbackGiven {
            rating,
            service: service.map(str::to_owned),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::demo;

    #[test]
    fn ratings_outside_one_to_five_are_refused() {
        let c = demo();
        assert_eq!(give(&c, 0, None), Err(FeedbackError::RatingOutOfRange));
        assert_eq!(give(&c, 6, None), Err(FeedbackError::RatingOutOfRange));
        assert!(give(&c, 1, None).is_ok());
        assert!(give(&c, 5, Some("reisepass")).is_ok());
    }

    #[test]
    fn unknown_service_is_refused() {
        assert_eq!(
            give(&demo(), 3, Some("mondlandung")),
            Err(FeedbackError::UnknownService)
        );
    }
}

//! The shape of a fact in the log, independent of any database.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

/// The correlation of events `schalter simulate` wrote: realistic past days for the statistics,
/// which no one is to be emailed about.
pub const SIMULATED: &str = "simulation";

/// What a command decided: the events to append, each stream it decided on expected as it
/// was read. Every write in Schalter is one `Decision`, appended atomically or not at all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub events: Vec<NewEvent>,
    pub expectations: Vec<(String, Expectation)>,
}

impl Decision {
    /// One event whose own stream must still be as it was read.
    pub fn expecting(event: NewEvent, expectation: Expectation) -> Decision {
        Decision {
            expectations: vec![(event.stream.clone(), expectation)],
            events: vec![event],
        }
    }

    /// Both decisions, appended together or not at all.
    pub fn and(mut self, other: Decision) -> Decision {
        self.events.extend(other.events);
        self.expectations.extend(other.expectations);
        self
    }

    /// Events that hold whatever else was written meanwhile (the last one wins).
    pub fn unconditional(events: Vec<NewEvent>) -> Decision {
        Decision {
            events,
            expectations: Vec::new(),
        }
    }
}

/// An event about to be appended. Its stream version and global position are assigned by the
/// store inside the appending transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub stream: String,
    pub event_type: String,
    pub schema: i32,
    pub data: Value,
}

impl NewEvent {
    /// The event as the store would hand it back at `position`/`version`: for deciding on
    /// state just decided (no read-back) and for tests.
    pub fn recorded(&self, position: i64, version: i64, at: DateTime<Utc>) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: self.stream.clone(),
            version,
            event_type: self.event_type.clone(),
            schema: self.schema,
            data: self.data.clone(),
            metadata: Metadata::default(),
            recorded_at: at,
        }
    }
}

/// An event as stored: immutable once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Global position, strictly increasing in commit order (gaps allowed).
    pub position: i64,
    pub stream: String,
    /// Version within the stream, 1, 2, 3, … without gaps.
    pub version: i64,
    pub event_type: String,
    pub schema: i32,
    pub data: Value,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
}

/// The actor of what citizens do themselves online (they have no account).
pub const CITIZEN: &str = "citizen";

/// Who caused an event and why; kept for audit, never used for statistics about people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Idempotency key of the command that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<String>,
    /// `citizen`, `system`, `device:<id>` or `staff:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<String>,
    /// When the command was received (the clock is read at the edge, never in the domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
}

impl Metadata {
    /// Metadata for a command by `actor` received at `requested_at`.
    pub fn by(actor: &str, requested_at: DateTime<Utc>) -> Metadata {
        Metadata {
            actor: Some(actor.to_owned()),
            requested_at: Some(requested_at),
            ..Default::default()
        }
    }
}

/// What the writer believes about a stream; the append fails as a whole if any belief is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expectation {
    /// No check.
    Any,
    /// The stream has no events yet.
    NoStream,
    /// The stream's last event has exactly this version.
    AtVersion(i64),
}

impl Expectation {
    /// Whether a stream whose last version is `actual` (0 = no stream) meets this expectation.
    pub fn holds_for(self, actual: i64) -> bool {
        match self {
            Expectation::Any => true,
            Expectation::NoStream => actual == 0,
            Expectation::AtVersion(v) => actual == v,
        }
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expectation::Any => write!(f, "any version"),
            Expectation::NoStream => write!(f, "no stream"),
            Expectation::AtVersion(v) => write!(f, "version {v}"),
        }
    }
}

/// Error turning a stored event back into a domain type.
#[derive(Debug, thiserror::Error)]
#[error("event {event_type} (schema {schema}) at position {position} cannot be read: {source}")]
pub struct DecodeError {
    pub event_type: String,
    pub schema: i32,
    pub position: i64,
    #[source]
    pub source: serde_json::Error,
}

/// Domain events are enums serialised as `{"type": "...", "data": {...}}` (serde's adjacent
/// tagging); the store keeps type and data in separate columns so the log stays queryable.
pub fn encode<E: Serialize>(stream: impl Into<String>, schema: i32, event: &E) -> NewEvent {
    let value = serde_json::to_value(event).expect("domain events always serialise");
    let (event_type, data) = match value {
        Value::Object(mut map) => {
            let event_type = match map.remove("type") {
                Some(Value::String(t)) => t,
                _ => panic!("domain event enums must be #[serde(tag = \"type\", content = \"data\")]"),
            };
            (event_type, map.remove("data").unwrap_or(Value::Null))
        }
        _ => panic!("domain event enums must serialise to an object"),
    };
    NewEvent {
        stream: stream.into(),
        event_type,
        schema,
        data,
    }
}

/// Inverse of [`encode`]; the caller has already upcast the event to the current schema.
pub fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Result<E, DecodeError> {
    let value = serde_json::json!({ "type": event.event_type, "data": event.data });
    serde_json::from_value(value).map_err(|source| DecodeError {
        event_type: event.event_type.clone(),
        schema: event.schema,
        position: event.position,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum Sample {
        Opened { name: String },
        Closed,
    }

    fn recorded(new: NewEvent) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            stream: new.stream,
            version: 1,
            event_type: new.event_type,
            schema: new.schema,
            data: new.data,
            metadata: Metadata::default(),
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn encode_splits_type_and_data_and_decode_restores_them() {
        let e = encode("s-1", 1, &Sample::Opened { name: "A".into() });
        assert_eq!(e.event_type, "Opened");
        assert_eq!(e.data, serde_json::json!({"name": "A"}));
        assert_eq!(
            decode::<Sample>(&recorded(e)).unwrap(),
            Sample::Opened { name: "A".into() }
        );
        let closed = encode("s-1", 1, &Sample::Closed);
        assert_eq!(closed.data, Value::Null);
        assert_eq!(decode::<Sample>(&recorded(closed)).unwrap(), Sample::Closed);
    }

    #[test]
    fn expectations() {
        assert!(Expectation::Any.holds_for(7));
        assert!(Expectation::NoStream.holds_for(0));
        assert!(!Expectation::NoStream.holds_for(1));
        assert!(Expectation::AtVersion(3).holds_for(3));
        assert!(!Expectation::AtVersion(3).holds_for(4));
    }
}

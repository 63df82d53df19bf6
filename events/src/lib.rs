//! Schalter's domain: what happens in a citizen office, written down as events.
//!
//! Everything outside the `store` module is pure (no I/O, no clock) and compiles to
//! `wasm32-unknown-unknown`, so the web app shares these types with the server.

pub mod administration;
pub mod api;
pub mod attendance;
pub mod audit;
pub mod booking;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod closing;
pub mod event;
pub mod feedback;
pub mod hold;
pub mod ics;
pub mod outbox;
pub mod projection;
pub mod queue;
pub mod renewal;
pub mod slots;
pub mod staff;
pub mod stats;
pub mod work;

#[cfg(feature = "store")]
pub mod store;

pub use event::{decode, encode, Decision, Expectation, Metadata, NewEvent, RecordedEvent, CITIZEN, SIMULATED};

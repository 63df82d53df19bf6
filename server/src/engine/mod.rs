//! What every feature and job shares: the in-memory projections of the log (`state`), the one
//! way to run a command (`executor`), and the sealing of personal data (`vault`, `secrets`).
//! Nothing here knows HTTP.

pub mod executor;
pub mod secrets;
pub mod state;
pub mod streams;
pub mod vault;

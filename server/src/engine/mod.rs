//! What every feature and job shares: the clock of the jobs (`clock`), the in-memory projections
//! of the log (`state`), the one way to run a command (`executor`), the sealing of personal data
//! (`vault`, `secrets`), and booking codes with their check-in numbers (`codes`).
//! Nothing here knows HTTP.

pub mod clock;
pub mod codes;
pub mod executor;
pub mod secrets;
pub mod state;
pub mod streams;
pub mod vault;

//! One module per feature: its routes, handlers, commands and views. Handlers read as
//! parse → authorise → execute → respond; the rules they apply live in `schalter-events`.

pub mod admin;
pub mod audit;
pub mod bookings;
pub mod cases;
pub mod catalogue;
pub mod closures;
pub mod day_list;
pub mod desk;
pub mod display;
pub mod office;
pub mod queue;
pub mod setup;
pub mod staff;
pub mod stats;

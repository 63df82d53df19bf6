mod book;
mod catalogue;
mod coming;
mod desk;
mod display;
mod kiosk;
mod manage;
mod privacy;
mod ticket;

pub use catalogue::Home;
pub use coming::{Admin, NotFound, Stats};
pub use desk::Desk;
pub use display::Display;
pub use kiosk::Kiosk;
pub use manage::ManageBooking;
pub use privacy::Privacy;
pub use ticket::TicketStatus;

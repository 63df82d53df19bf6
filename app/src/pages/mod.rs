mod book;
mod catalogue;
mod coming;
mod manage;

pub use catalogue::Home;
pub use coming::{Admin, Desk, Display, Kiosk, NotFound, Stats, TicketStatus};
pub use manage::ManageBooking;

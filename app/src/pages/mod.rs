mod catalogue;
mod coming;

pub use catalogue::Catalogue;
pub use coming::{Admin, Desk, Display, Kiosk, ManageBooking, NotFound, Stats, TicketStatus};

//! Work the server does on its own: sending messages (email, SMS), releasing unconfirmed
//! bookings, erasing personal data when its time is up.

pub mod expiry;
pub mod outbox;
pub mod retention;
pub mod sms;

//! Calendar files as a real iCalendar parser (the `icalendar` crate) reads them, so tests check
//! what calendar programs see rather than matching strings.

use icalendar::{Calendar, Component, DatePerhapsTime, EventStatus};

/// The one appointment a Schalter calendar file holds.
#[derive(Debug)]
pub struct Appointment {
    pub method: String,
    pub uid: String,
    pub sequence: u32,
    pub status: Option<EventStatus>,
    pub start: Option<DatePerhapsTime>,
    pub summary: String,
    pub description: String,
}

/// Parses `text` (a whole file, or a mail whose decoded text holds one) and returns its event.
pub fn appointment(text: &str) -> Appointment {
    let from = text.find("BEGIN:VCALENDAR").expect("a calendar file");
    let to = text[from..]
        .find("END:VCALENDAR")
        .expect("the end of the calendar file")
        + from;
    let file = &text[from..to + "END:VCALENDAR".len()];
    let calendar: Calendar = file.parse().expect("an iCalendar file");
    let events: Vec<_> = calendar.events().collect();
    assert_eq!(events.len(), 1, "one appointment per file: {file}");
    let event = events[0];
    Appointment {
        method: calendar.property_value("METHOD").unwrap_or_default().to_owned(),
        uid: event.get_uid().unwrap_or_default().to_owned(),
        sequence: event.get_sequence().unwrap_or(0),
        status: event.get_status(),
        start: event.get_start(),
        summary: event.get_summary().unwrap_or_default().to_owned(),
        description: event.get_description().unwrap_or_default().to_owned(),
    }
}

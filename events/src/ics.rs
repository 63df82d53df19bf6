//! An appointment as an iCalendar file (RFC 5545), for the mails and the download on the manage
//! page. Times are written in UTC, so no time-zone table is needed. One UID per booking and a
//! SEQUENCE that rises with every change, so a calendar replaces the event when the appointment
//! moves and removes it when it is cancelled (`METHOD:CANCEL`).

use chrono::{DateTime, Utc};

use crate::booking::{Booking, Status};
use crate::catalogue::{Catalogue, Text};

/// The event's text: what the citizen sees in the calendar.
pub struct Appointment<'a> {
    pub booking: &'a Booking,
    /// The booking code's hash: the event's stable UID across changes.
    pub code_hash: &'a str,
    /// The appointment site's start page. Deliberately not the manage link: a calendar is often
    /// shared, and the link holds the booking code, which is full control of the booking.
    pub site: &'a str,
}

/// `CANCEL` for a cancelled or lapsed booking, else `PUBLISH`: the file's method, and the mail
/// attachment's.
pub fn method(booking: &Booking) -> &'static str {
    match booking.status {
        Status::Cancelled | Status::Expired => "CANCEL",
        Status::Pending | Status::Confirmed | Status::CheckedIn => "PUBLISH",
    }
}

/// The file's text, stamped `now` (a changed or cancelled appointment replaces the earlier
/// file with the same UID).
pub fn appointment(catalogue: &Catalogue, a: &Appointment<'_>, now: DateTime<Utc>) -> String {
    let booking = a.booking;
    let location = catalogue.locations.get(&booking.location);
    let service = catalogue.services.get(&booking.service);
    let name = |t: Option<&Text>| t.map(|t| t.de.clone()).unwrap_or_default();
    let service_name = name(service.map(|s| &s.name));
    let location_name = name(location.map(|l| &l.name));
    let address = location.map(|l| l.address.clone()).unwrap_or_default();
    // German first, then English, as in the mails: the file does not know the citizen's language.
    let block = |pick: fn(&Text) -> &str, labels: [&str; 4]| {
        let documents: Vec<&str> = service
            .map(|s| s.documents.iter().map(pick).collect())
            .unwrap_or_default();
        format!(
            "{}: {}\n{}: {}\n{}: {} ({})",
            labels[0],
            if documents.is_empty() {
                "–".to_owned()
            } else {
                documents.join(", ")
            },
            labels[1],
            service.map(|s| pick(&s.fee)).unwrap_or_default(),
            labels[2],
            a.site,
            labels[3],
        )
    };
    let description = format!(
        "{}\n\n{}",
        block(
            |t| &t.de,
            [
                "Bitte mitbringen",
                "Gebühr",
                "Termin verwalten",
                "mit dem Buchungscode aus Ihrer E-Mail"
            ]
        ),
        block(
            |t| &t.en,
            [
                "Please bring",
                "Fee",
                "Manage your appointment",
                "with the booking code from your email"
            ]
        ),
    );
    let status = match booking.status {
        Status::Cancelled | Status::Expired => "CANCELLED",
        Status::Pending => "TENTATIVE",
        Status::Confirmed | Status::CheckedIn => "CONFIRMED",
    };
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Schalter//Termine//DE".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("METHOD:{}", method(booking)),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@schalter", a.code_hash),
        // Every change of the booking is a new version of its stream.
        format!("SEQUENCE:{}", booking.version.saturating_sub(1)),
        format!("DTSTAMP:{}", stamp(now)),
        format!("DTSTART:{}", stamp(booking.start)),
        format!("DTEND:{}", stamp(booking.end)),
        format!("SUMMARY:{}", text(&format!("{service_name} – {location_name}"))),
        format!("LOCATION:{}", text(&address)),
        format!("DESCRIPTION:{}", text(&description)),
        format!("STATUS:{status}"),
        "BEGIN:VALARM".to_owned(),
        "ACTION:DISPLAY".to_owned(),
        "TRIGGER:-PT2H".to_owned(),
        format!("DESCRIPTION:{}", text(&service_name)),
        "END:VALARM".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

/// RFC 5545 text values escape backslash, semicolon, comma and newline.
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Content lines are folded at 75 octets, never inside a character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in line.chars() {
        if len + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_escaped_and_folded() {
        assert_eq!(text("a,b;c\nd"), "a\\,b\\;c\\nd");
        let folded = fold(&"x".repeat(160));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), "x".repeat(160));
        let umlauts = fold(&"ä".repeat(60));
        assert!(
            umlauts.split("\r\n").all(|l| l.len() <= 75),
            "folded between characters"
        );
        assert_eq!(umlauts.replace("\r\n ", "").trim_end(), "ä".repeat(60));
    }

    #[test]
    fn an_appointment_names_service_place_and_status() {
        let catalogue = crate::catalogue::demo();
        let service = catalogue.services.keys().next().unwrap().clone();
        let location = catalogue.services[&service].locations[0].clone();
        let start: DateTime<Utc> = "2026-12-02T08:00:00Z".parse().unwrap();
        let mut booking = Booking {
            version: 3,
            location,
            service: service.clone(),
            start,
            end: start + chrono::Duration::minutes(15),
            units: vec![start],
            contact: crate::booking::Personal::Sealed(crate::booking::Sealed {
                key: "k".into(),
                nonce: "n".into(),
                data: "d".into(),
            }),
            holder: "h".into(),
            channel: crate::booking::Channel::Online,
            status: Status::Confirmed,
            erased: false,
            confirm_by: None,
            confirm_because_missed: false,
            placed_at: DateTime::UNIX_EPOCH,
            reconfirming: false,
            office_note: None,
        };
        let appointment = Appointment {
            booking: &booking,
            code_hash: "abc",
            site: "https://termine.example/",
        };
        let file = super::appointment(&catalogue, &appointment, start);
        let unfolded = file.replace("\r\n ", "");
        assert!(unfolded.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(unfolded.contains("UID:abc@schalter\r\n"));
        assert!(unfolded.contains("DTSTART:20261202T080000Z\r\n"));
        assert!(unfolded.contains("DTEND:20261202T081500Z\r\n"));
        assert!(unfolded.contains(&format!("SUMMARY:{}", text(&catalogue.services[&service].name.de))));
        assert!(unfolded.contains("Termin verwalten: https://termine.example/ (mit"));
        assert!(
            unfolded.contains("Manage your appointment: https://termine.example/ (with"),
            "an English half for who reads no German"
        );
        assert!(unfolded.contains(&format!(
            "Please bring: {}",
            text(&catalogue.services[&service].documents[0].en)
        )));
        assert!(unfolded.contains("STATUS:CONFIRMED\r\n"));
        assert!(unfolded.contains("METHOD:PUBLISH\r\n"));
        assert!(unfolded.contains("SEQUENCE:2\r\n"), "the booking's version 3");
        booking.status = Status::Cancelled;
        booking.version = 4;
        let cancelled = Appointment {
            booking: &booking,
            code_hash: "abc",
            site: "https://termine.example/",
        };
        let cancelled = super::appointment(&catalogue, &cancelled, start);
        assert!(cancelled.contains("STATUS:CANCELLED\r\n"));
        assert!(cancelled.contains("METHOD:CANCEL\r\n"));
        assert!(cancelled.contains("SEQUENCE:3\r\n"));
    }
}

//! What a citizen's phone does, for tests: look for free places and book one, over HTTP with
//! the API's own types (`schalter_events::api`). One helper each, used by every test that books.

use chrono::NaiveDate;
use schalter_events::api::{Availability, BookingRequest, BookingView, LocalTime};
use serde_json::Value;

use crate::TestApp;

/// What a test books where: most book the ID card at the citizen office.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    pub location: &'static str,
    pub service: &'static str,
}

pub const ID_CARD: Offer = Offer {
    location: "buergerbuero",
    service: "personalausweis",
};

/// A registration certificate: a ten-minute service at the citizen office.
pub const CERTIFICATE: Offer = Offer {
    location: "buergerbuero",
    service: "meldebescheinigung",
};

/// The request the app sends for `start`: the ID card, Erika Mustermann with `email`, privacy
/// notice accepted. Tests change what they are about (`BookingRequest { phone: …, ..booking(…) }`).
pub fn booking(start: &str, email: &str) -> BookingRequest {
    BookingRequest {
        location: ID_CARD.location.into(),
        service: ID_CARD.service.into(),
        start: LocalTime::from(start.to_owned()),
        name: "Erika Mustermann".into(),
        email: email.into(),
        phone: None,
        privacy_accepted: true,
        proof: None,
    }
}

/// `GET /api/availability` as the booking page asks it.
pub async fn availability(
    client: &reqwest::Client,
    base: &str,
    offer: Offer,
    from: NaiveDate,
    days: u32,
) -> Availability {
    let Offer { location, service } = offer;
    let response = client
        .get(format!(
            "{base}/api/availability?location={location}&service={service}&from={from}&days={days}"
        ))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200, "availability of {location}/{service}");
    response.json().await.expect("an availability")
}

/// Slot starts with a free place, `days` days from `from` on.
pub async fn free_starts(
    client: &reqwest::Client,
    base: &str,
    offer: Offer,
    from: NaiveDate,
    days: u32,
) -> Vec<String> {
    availability(client, base, offer, from, days)
        .await
        .slots
        .into_iter()
        .filter(|s| s.free > 0)
        .map(|s| s.start.as_str().to_owned())
        .collect()
}

/// Sends a booking; its status and body (a booking view, or the error).
pub async fn book(client: &reqwest::Client, base: &str, request: &BookingRequest) -> (u16, Value) {
    crate::app::status_and_json(client.post(format!("{base}/api/bookings")).json(request)).await
}

/// Sends a booking that must be accepted: the booking as its first answer shows it.
pub async fn booked(client: &reqwest::Client, base: &str, request: &BookingRequest) -> BookingView {
    let (status, body) = book(client, base, request).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body).expect("a booking view")
}

impl TestApp {
    pub async fn availability(&self, offer: Offer, from: NaiveDate, days: u32) -> Availability {
        availability(&self.client, &self.url, offer, from, days).await
    }

    /// Free places at `start` (0 when the time is not offered).
    pub async fn free_at(&self, offer: Offer, start: &str) -> u32 {
        let day = NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").expect("a local time");
        self.availability(offer, day, 1)
            .await
            .slots
            .into_iter()
            .find(|s| s.start.as_str() == start)
            .map_or(0, |s| s.free)
    }

    /// Starts with a free place for the ID card, `days_ahead` days from now on (ten days).
    pub async fn free_starts(&self, days_ahead: i64) -> Vec<String> {
        self.free_starts_of(ID_CARD, days_ahead).await
    }

    /// Starts with a free place for `offer`, `days_ahead` days from now on (ten days).
    pub async fn free_starts_of(&self, offer: Offer, days_ahead: i64) -> Vec<String> {
        let from = (chrono::Utc::now() + chrono::Duration::days(days_ahead)).date_naive();
        free_starts(&self.client, &self.url, offer, from, 10).await
    }

    pub async fn book(&self, request: &BookingRequest) -> (u16, Value) {
        book(&self.client, &self.url, request).await
    }

    pub async fn booked(&self, request: &BookingRequest) -> BookingView {
        booked(&self.client, &self.url, request).await
    }
}

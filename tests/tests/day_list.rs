//! The desk's list of the day: each appointment's state follows its check-in and its ticket,
//! no name is in the list, and every look at a contact is recorded with the clerk's name.

use reqwest::Method;
use schalter_tests::app::{add_device, add_user, status_and_json};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(the_days_list_follows_each_appointment_and_records_each_look);

const ERIKA: &str = "AAAA-BBBB-CCCC-DDDD";
const MAX: &str = "EEEE-FFFF-GGGG-HHHH";

async fn list(app: &TestApp, cookie: &str, day: &str) -> Vec<Value> {
    let path = format!("/api/locations/buergerbuero/appointments?day={day}");
    app.staff_ok(cookie, Method::GET, &path)
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The list entry of the booking with `code`: its id is the code's hash.
fn entry<'a>(entries: &'a [Value], code: &str) -> &'a Value {
    let id = schalter_server::features::bookings::code_hash(code).unwrap();
    entries
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{code} in {entries:#?}"))
}

fn state_of(entries: &[Value], code: &str) -> (String, Value) {
    let e = entry(entries, code);
    (e["state"].as_str().unwrap().to_owned(), e["ticket"].clone())
}

async fn the_days_list_follows_each_appointment_and_records_each_look(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.booking_near_now(ERIKA, 5, "Erika Mustermann", "erika@example.org")
        .await;
    // Both in five minutes, so both are on the same day's list whenever the test runs.
    app.booking_near_now(MAX, 5, "Max Muster", "max@example.org").await;
    let berlin = |minutes: i64| {
        (chrono::Utc::now() + chrono::Duration::minutes(minutes)).with_timezone(&chrono_tz::Europe::Berlin)
    };
    let day = berlin(5).date_naive().to_string();

    let entries = list(&app, &anna, &day).await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("Erika") && !text.contains("erika@"), "no names: {text}");
    assert_eq!(entries.len(), 2);
    assert_eq!(state_of(&entries, ERIKA).0, "booked");
    assert_eq!(
        entries.iter().filter(|e| e["channel"] == "online").count(),
        entries.len()
    );

    // Erika checks in at the kiosk and is called to counter 1.
    let (status, answer) = app
        .post_as(
            "/api/locations/buergerbuero/check-in",
            ("authorization", &format!("Bearer {kiosk}")),
            &json!({"code": ERIKA}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (state, ticket) = state_of(&list(&app, &anna, &day).await, ERIKA);
    assert_eq!((state.as_str(), &ticket), ("checked-in", &answer["number"]));
    app.open_counter(&anna, "buergerbuero-1").await;
    let (status, called) = status_and_json(
        app.client
            .post(format!("{}/api/counters/buergerbuero-1/call-next", app.url))
            .header("cookie", &anna),
    )
    .await;
    assert_eq!(status, 200, "{called}");
    assert_eq!(state_of(&list(&app, &anna, &day).await, ERIKA).0, "called");

    // Max's contact, on the clerk's explicit request; the look is recorded.
    let entries = list(&app, &anna, &day).await;
    let max = entry(&entries, MAX);
    let path = format!(
        "/api/locations/buergerbuero/appointments/{}/contact",
        max["id"].as_str().unwrap()
    );
    let head = app.store().head().await.unwrap();
    let contact = app.staff_ok(&anna, Method::POST, &path).await;
    assert_eq!(contact, json!({"name": "Max Muster", "email": "max@example.org"}));
    assert_eq!(app.store().head().await.unwrap(), head + 1, "the look is one event");
    let root = app.sign_in("root", "administrator-2026").await;
    let looks = app.staff_ok(&root, Method::GET, "/api/admin/audit?area=contacts").await;
    let looks = looks.as_array().unwrap();
    assert_eq!(looks.len(), 1, "{looks:#?}");
    assert_eq!(
        (&looks[0]["actor"], &looks[0]["subject"]),
        (&json!("staff:anna"), &json!("buergerbuero"))
    );
    assert!(!looks[0].to_string().contains("Max"), "the audit names no citizen");

    // Only today and tomorrow; only staff at the desk; no contact of an unknown entry.
    let later = berlin(3 * 24 * 60).date_naive();
    let (status, answer) = status_and_json(
        app.client
            .get(format!(
                "{}/api/locations/buergerbuero/appointments?day={later}",
                app.url
            ))
            .header("cookie", &anna),
    )
    .await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("day")), "{answer}");
    let boss = app.sign_in("boss", "statistics-2026").await;
    let (status, _) = status_and_json(
        app.client
            .get(format!("{}/api/locations/buergerbuero/appointments", app.url))
            .header("cookie", &boss),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = status_and_json(
        app.client
            .post(format!(
                "{}/api/locations/buergerbuero/appointments/{}/contact",
                app.url,
                "0".repeat(64)
            ))
            .header("cookie", &anna),
    )
    .await;
    assert_eq!(status, 404);
    app.stop().await;
}

//! Personal data: sealed in the log, readable through the booking's code, erased on time or on
//! request without touching the rest of the log.

use chrono::Utc;
use schalter_events::api::{BookingRequest, BookingView};
use schalter_events::booking::Personal;
use schalter_tests::app::cli;
use schalter_tests::citizen::{booking, CERTIFICATE};
use schalter_tests::{on_both_backends, spawn_app, Kind, TestApp, TestDb};
use serde_json::Value;
use sqlx::{Connection, Row};

on_both_backends!(
    personal_data_never_reaches_the_database_in_plain,
    retention_and_requests_erase_personal_data_and_keep_the_log
);

const NAME: &str = "Quirinus Wolkenschieber-Abendroth";
const EMAIL: &str = "quirinus.wolkenschieber-9917@example.org";
const PHONE: &str = "+49 6131 9917-4242";

/// Books the `nth` free time for a registration certificate three days ahead.
async fn book(app: &TestApp, name: &str, email: &str, phone: &str, nth: usize) -> BookingView {
    let start = app.free_starts_of(CERTIFICATE, 3).await.remove(nth);
    app.booked(&BookingRequest {
        location: CERTIFICATE.location.into(),
        service: CERTIFICATE.service.into(),
        name: name.into(),
        phone: Some(phone.into()),
        ..booking(&start, email)
    })
    .await
}

/// Everything the database holds, as text: every file of the SQLite database, or every row of
/// every table of the PostgreSQL database.
async fn database_contents(app: &TestApp) -> String {
    match app.db.kind {
        Kind::Sqlite => {
            let path = app.db.sqlite_path().unwrap();
            let dir = path.parent().unwrap();
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                if entry.file_name().to_string_lossy().starts_with("schalter.db") {
                    all.extend(std::fs::read(entry.path()).unwrap());
                }
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(tables.contains(&"events".to_owned()) && tables.contains(&"data_keys".to_owned()));
            let mut all = String::new();
            for table in tables {
                let row = sqlx::query(&format!(
                    "SELECT coalesce(string_agg(t::text, ' '), '') FROM \"{table}\" t"
                ))
                .fetch_one(&mut conn)
                .await
                .unwrap();
                all.push_str(&row.get::<String, _>(0));
            }
            all
        }
    }
}

async fn personal_data_never_reaches_the_database_in_plain(db: TestDb) {
    let app = spawn_app(db).start().await;
    let booked = book(&app, NAME, EMAIL, PHONE, 0).await;
    let code = booked.code.as_deref().expect("the code in the first answer");
    let (_, seen) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(
        (seen["name"].as_str(), seen["email"].as_str()),
        (Some(NAME), Some(EMAIL))
    );
    assert_eq!(seen["personal_data_erased"], false);

    let stored = database_contents(&app).await;
    assert!(stored.contains("BookingPlaced"), "the scan sees the log");
    for secret in [NAME, "Wolkenschieber", EMAIL, "9917-4242", code] {
        assert!(!stored.contains(secret), "{secret:?} is in the database in plain");
    }
    app.stop().await;
}

async fn retention_and_requests_erase_personal_data_and_keep_the_log(db: TestDb) {
    let app = spawn_app(db).start().await;
    let first = book(&app, NAME, EMAIL, PHONE, 0).await;
    let second = book(
        &app,
        "Rosalind Fernweh",
        "rosalind.fernweh@example.org",
        "+49 30 1234567",
        1,
    )
    .await;
    let (first, second) = (first.code.as_deref().unwrap(), second.code.as_deref().unwrap());

    // An upcoming appointment keeps its data until cancelled.
    let r = app
        .client
        .delete(format!("{}/api/bookings/{first}/personal-data", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "booking_active");
    let r = app
        .client
        .delete(format!("{}/api/bookings/{first}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let head_before = app.store().head().await.unwrap();
    for _ in 0..2 {
        let r = app
            .client
            .delete(format!("{}/api/bookings/{first}/personal-data", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "erasing twice is fine");
        let view: Value = r.json().await.unwrap();
        assert_eq!(
            (view["personal_data_erased"].as_bool(), view["name"].as_str()),
            (Some(true), Some(""))
        );
    }
    assert_eq!(
        app.store().head().await.unwrap(),
        head_before + 1,
        "one erasure recorded"
    );

    // Retention: everything that ended before the cutoff (here: a year ahead, so all).
    let (_, before) = app.get_json(&format!("/api/bookings/{second}")).await;
    let availability = format!(
        "/api/availability?location=buergerbuero&service=meldebescheinigung&from={}&days=10",
        (Utc::now() + chrono::Duration::days(3)).date_naive()
    );
    let (_, free_before) = app.get_json(&availability).await;
    let cutoff = Utc::now() + chrono::Duration::days(365);
    let vault = app.vault().await;
    let erased = schalter_server::jobs::retention::purge(app.store(), &vault, cutoff)
        .await
        .unwrap();
    assert_eq!(erased, 1, "the other one was erased already");
    assert_eq!(
        schalter_server::jobs::retention::purge(app.store(), &vault, cutoff)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.store().head().await.unwrap(), head_before + 2);

    let (status, after) = app.get_json(&format!("/api/bookings/{second}")).await;
    assert_eq!(status, 200);
    assert_eq!(after["personal_data_erased"], true);
    assert_eq!((after["name"].as_str(), after["email"].as_str()), (Some(""), Some("")));
    for field in ["status", "start", "service", "location"] {
        assert_eq!(after[field], before[field], "{field} stays");
    }
    let (_, free_after) = app.get_json(&availability).await;
    assert_eq!(free_after, free_before, "the appointment still takes its place");

    // The sealed data is still in the log, but its key is gone.
    let stream = schalter_events::booking::stream(&schalter_server::features::bookings::code_hash(second).unwrap());
    let events = app.store().read_stream(&stream, 0).await.unwrap();
    let booking = schalter_events::booking::Booking::fold(&events).unwrap().unwrap();
    let Personal::Sealed(sealed) = &booking.contact else {
        panic!("new bookings are sealed")
    };
    assert_eq!(app.store().data_key(&sealed.key).await.unwrap(), None);
    assert_eq!(vault.open(&booking.contact).await.unwrap(), None);
    assert_eq!(events.last().unwrap().event_type, "PersonalDataErased");

    // The operator's command does the same (nothing left to erase here).
    let out = cli(&["purge", "--database-url", &app.db.url, "--retention-days", "0"]);
    assert!(out.contains("erased the personal data of 0 booking(s)"), "{out}");
    app.stop().await;
}

on_both_backends!(an_admin_exports_what_is_held_about_a_booking);

/// GDPR art. 15: everything about one booking, for the citizen who asks with its code.
async fn an_admin_exports_what_is_held_about_a_booking(db: TestDb) {
    let app = spawn_app(db).start().await;
    schalter_tests::app::add_user(&app.db.url, "root", "admin", "administrator-2026");
    schalter_tests::app::add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let booked = book(&app, NAME, EMAIL, PHONE, 0).await;
    let code = booked.code.as_deref().expect("the code in the first answer");
    let export = |cookie: String| {
        app.client
            .get(format!("{}/api/admin/bookings/{code}/export", app.url))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(export(anna).await.unwrap().status(), 403);
    let r = export(root.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let data: Value = r.json().await.unwrap();
    assert_eq!(data["personal_data"]["name"], NAME);
    assert_eq!(data["personal_data"]["email"], EMAIL);
    assert_eq!(data["history"][0]["step"], "BookingPlaced");
    assert_eq!(data["history"][0]["by"], "citizen");
    assert!(data["history"][0]["data"].get("contact").is_none());
    app.client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    app.client
        .delete(format!("{}/api/bookings/{code}/personal-data", app.url))
        .send()
        .await
        .unwrap();
    let data: Value = export(root).await.unwrap().json().await.unwrap();
    assert_eq!(data["personal_data"], Value::Null);
    let steps: Vec<&str> = data["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["BookingPlaced", "BookingCancelled", "PersonalDataErased"]);
    app.stop().await;
}

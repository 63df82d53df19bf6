//! Fair release: a place a citizen gives up is not public at once. Online it stays taken for a
//! while (the office's hold), so whoever cancelled it cannot hand it to someone waiting for the
//! moment; the desk, booking for a caller, sees and books it meanwhile.

use reqwest::Method;
use schalter_events::api::Availability;
use schalter_events::booking::Status;
use schalter_tests::app::add_user;
use schalter_tests::citizen::{booking, ID_CARD};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::json;

on_both_backends!(a_freed_place_is_held_back_online_but_not_from_the_desk);

/// Free places at `start` as the desk sees them (staff share included).
async fn desk_free_at(app: &TestApp, cookie: &str, start: &str) -> u32 {
    let path = format!(
        "/api/desk/availability?location=buergerbuero&service=personalausweis&from={}&days=1",
        &start[..10]
    );
    let answer: Availability = serde_json::from_value(app.staff_ok(cookie, Method::GET, &path).await).unwrap();
    answer
        .slots
        .into_iter()
        .find(|s| s.start.as_str() == start)
        .map_or(0, |s| s.free)
}

async fn cancel(app: &TestApp, code: &str) {
    let cancelled = app
        .client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
}

async fn a_freed_place_is_held_back_online_but_not_from_the_desk(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let (admin, anna) = (
        app.sign_in("root", "administrator-2026").await,
        app.sign_in("anna", "counter-one-2026").await,
    );
    let mut schedule = app.schedule_of(&admin, "buergerbuero").await;
    schedule["release_hold_minutes"] = json!(10);
    app.set_schedule(&admin, "buergerbuero", &schedule).await;

    let starts = app.free_starts(3).await;
    let (start, elsewhere) = (&starts[0], &starts[5]);
    let online = app.free_at(ID_CARD, start).await;
    let desk = desk_free_at(&app, &anna, start).await;
    assert!(online >= 1 && desk >= online, "{online} online, {desk} at the desk");

    // Booked and cancelled: the place is free again for the desk, not yet online.
    let first = app.booked(&booking(start, "first@example.org")).await;
    cancel(&app, first.code.as_deref().unwrap()).await;
    assert_eq!(app.free_at(ID_CARD, start).await, online - 1, "held back online");
    assert_eq!(desk_free_at(&app, &anna, start).await, desk, "free at the desk");

    // The other online places go as usual; then the held one is refused online, by a new
    // booking and by a move.
    for i in 1..online {
        app.booked(&booking(start, &format!("citizen{i}@example.org"))).await;
    }
    assert_eq!(app.free_at(ID_CARD, start).await, 0);
    let (status, body) = app.book(&booking(start, "trader@example.org")).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("slot_taken")), "{body}");
    let mover = app.booked(&booking(elsewhere, "mover@example.org")).await;
    let (status, body) = app
        .post_json(
            &format!("/api/bookings/{}/reschedule", mover.code.as_deref().unwrap()),
            &json!({ "start": start }),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("slot_taken")), "{body}");

    // The desk books it for a caller.
    let caller = json!({
        "location": "buergerbuero", "service": "personalausweis", "start": start,
        "name": "Walter Ohnenetz", "channel": "phone"
    });
    let (status, booked) = app.post_as("/api/desk/bookings", ("cookie", &anna), &caller).await;
    assert_eq!(
        (status, &booked["status"]),
        (201, &json!(Status::Confirmed)),
        "{booked}"
    );
    assert_eq!(desk_free_at(&app, &anna, start).await, desk - online);
    app.stop().await;
}

on_both_backends!(a_cancelled_place_booked_again_counts_as_refilled);

/// What the no-show loop frees is worth as much as the share someone else gets: managers see it.
async fn a_cancelled_place_booked_again_counts_as_refilled(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "maria", "manager", "evaluation-2026");
    let maria = app.sign_in("maria", "evaluation-2026").await;
    let starts = app.free_starts(3).await;
    let day = &starts[0][..10];
    let other = starts
        .iter()
        .skip(3)
        .find(|s| s.starts_with(day))
        .expect("two times on one day");
    let first = app.booked(&booking(&starts[0], "first@example.org")).await;
    let second = app.booked(&booking(other, "second@example.org")).await;
    cancel(&app, first.code.as_deref().unwrap()).await;
    cancel(&app, second.code.as_deref().unwrap()).await;
    app.booked(&booking(&starts[0], "third@example.org")).await;

    let figures = app.office_figures(&maria, day, day).await;
    assert_eq!(
        (&figures["cancellations"], &figures["refilled"], &figures["refill_rate"]),
        (&json!(2), &json!(1), &json!(0.5)),
        "{figures}"
    );
    let csv = app
        .client
        .get(format!("{}/api/stats/export.csv?from={day}&to={day}", app.url))
        .header("cookie", &maria)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[1] == "buergerbuero" && r[2] == "personalausweis")
        .expect("the day's row for the ID card");
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!((column("refilled"), column("refill_rate")), ("1", "0.5"), "{csv}");
    app.stop().await;
}

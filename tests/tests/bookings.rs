//! Booking, moving and cancelling over HTTP, on both backends, including the races that must
//! never over-book a counter.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Utc};
use schalter_events::api::BookingRequest;
use schalter_tests::citizen::{booking, ID_CARD};
use schalter_tests::{eventually, on_both_backends, spawn_app, when, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    book_view_calendar_cancel,
    two_hundred_citizens_race_for_one_slot,
    reschedule_racing_a_booking_never_overbooks,
    one_email_holds_at_most_two_bookings,
    one_email_booking_many_times_at_once_gets_two,
    bad_booking_input_is_refused_and_stores_nothing,
    an_idempotency_key_answers_only_its_own_request,
);

const LOCATION: &str = "buergerbuero";

/// Free places per slot start, from the public availability endpoint.
async fn availability(app: &TestApp, from: NaiveDate, days: u32) -> Vec<(String, u32)> {
    app.availability(ID_CARD, from, days)
        .await
        .slots
        .into_iter()
        .map(|s| (s.start.as_str().to_owned(), s.free))
        .collect()
}

/// Slots a week from now, so lead time and "today" never interfere.
async fn future_slots(app: &TestApp) -> Vec<(String, u32)> {
    let from = (Utc::now() + Duration::days(7)).date_naive();
    let slots = availability(app, from, 14).await;
    assert!(
        slots.len() > 50,
        "a fortnight of office hours has many slots: {}",
        slots.len()
    );
    slots
}

/// Every booking here leaves a phone number too.
fn request(start: &str, email: &str) -> BookingRequest {
    BookingRequest {
        phone: Some("+49 621 504-0".into()),
        ..booking(start, email)
    }
}

async fn book_view_calendar_cancel(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    let (start, free) = slots[0].clone();
    assert_eq!(free, 3, "the demo office serves 3 appointments at a time");

    let (status, booked) = app.book(&request(&start, "erika@example.org")).await;
    assert_eq!(status, 201, "{booked}");
    let code = booked["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19);
    assert_eq!(booked["status"], "confirmed");
    assert_eq!(booked["start"], start.as_str());
    assert_eq!(app.free_at(ID_CARD, &start).await, 2, "taken at once");

    let (status, view) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(status, 200);
    assert_eq!(view["name"], "Erika Mustermann");
    assert!(view.get("code").is_none(), "the code is only in the creating answer");
    let (status, view) = app
        .get_json(&format!("/api/bookings/{}", code.to_lowercase().replace('-', "")))
        .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (200, Some("confirmed")),
        "codes are forgiving when typed"
    );

    let ics = app.get(&format!("/api/bookings/{code}/calendar.ics")).await;
    assert_eq!(ics.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = ics.text().await.unwrap();
    let utc_start = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&Utc);
    assert!(
        ics.contains(&format!("DTSTART:{}", utc_start.format("%Y%m%dT%H%M%SZ"))),
        "{ics}"
    );
    assert!(ics.contains(&format!(
        "DTEND:{}",
        (utc_start + Duration::minutes(20)).format("%Y%m%dT%H%M%SZ")
    )));
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert!(ics.lines().all(|l| l.len() <= 75));
    let booked_event = schalter_tests::ics::appointment(&ics);
    assert_eq!(booked_event.method, "PUBLISH");
    // An absolute link to the site, without the code (calendars are shared).
    assert!(
        booked_event.description.contains(&format!("{}/", app.url)),
        "{booked_event:?}"
    );
    assert!(!booked_event.description.contains(&code), "{booked_event:?}");

    let r = app
        .client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    assert_eq!(
        app.free_at(ID_CARD, &start).await,
        3,
        "cancel frees the slot immediately"
    );
    let ics = app
        .get(&format!("/api/bookings/{code}/calendar.ics"))
        .await
        .text()
        .await
        .unwrap();
    let cancelled_event = schalter_tests::ics::appointment(&ics);
    assert_eq!(
        (cancelled_event.method.as_str(), cancelled_event.status),
        ("CANCEL", Some(icalendar::EventStatus::Cancelled))
    );
    assert!(cancelled_event.sequence > booked_event.sequence, "{cancelled_event:?}");
    assert_eq!(cancelled_event.uid, booked_event.uid);
    let r = app
        .client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "already_cancelled");
    let (status, err) = app.get_json("/api/bookings/0000-0000-0000-0000").await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")));
    app.stop().await;
}

async fn two_hundred_citizens_race_for_one_slot(db: TestDb) {
    let app = spawn_app(db).start().await;
    race_for_one_slot(&app, std::slice::from_ref(&app.url)).await;
    app.stop().await;
}

/// Scale-out: the same race with the requests split between two servers on one PostgreSQL.
/// Each server's projection may be a moment behind the other's bookings; the store decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_race_for_one_slot_on_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let app = spawn_app(db).start().await;
    let peer = app.peer(8).await;
    race_for_one_slot(&app, &[app.url.clone(), peer.url.clone()]).await;
    peer.stop().await;
    app.stop().await;
}

/// 200 citizens book the same 3-place slot at once through `servers`: exactly 3 succeed, the
/// rest hear `slot_taken`, and the slot shows 0 free.
async fn race_for_one_slot(app: &TestApp, servers: &[String]) {
    let slots = future_slots(app).await;
    let start = slots[10].0.clone();
    let attempts = (0..200).map(|i| {
        let client = app.client.clone();
        let url = format!("{}/api/bookings", servers[i % servers.len()]);
        let body = request(&start, &format!("citizen{i}@example.org"));
        tokio::spawn(async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for (status, _) in &results {
        *by_status.entry(*status).or_default() += 1;
    }
    assert_eq!(by_status.get(&201), Some(&3), "{by_status:?}");
    assert_eq!(by_status.get(&409), Some(&197), "{by_status:?}");
    assert!(results
        .iter()
        .filter(|(s, _)| *s == 409)
        .all(|(_, b)| b["error"] == "slot_taken"));
    // This server learns of the other's bookings through the log.
    eventually("the slot shown taken", std::time::Duration::from_secs(5), async || {
        let free = app.free_at(ID_CARD, &start).await;
        when(free, free == 0)
    })
    .await;
}

async fn reschedule_racing_a_booking_never_overbooks(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    for round in 0..5 {
        let target = slots[20 + 3 * round].0.clone();
        let elsewhere = slots[40 + 3 * round].0.clone();
        for i in 0..2 {
            assert_eq!(
                app.book(&request(&target, &format!("filler{round}-{i}@example.org")))
                    .await
                    .0,
                201
            );
        }
        let (_, mover) = app
            .book(&request(&elsewhere, &format!("mover{round}@example.org")))
            .await;
        let code = mover["code"].as_str().unwrap().to_owned();
        let (move_path, move_body) = (format!("/api/bookings/{code}/reschedule"), json!({ "start": target }));
        let move_it = app.post_json(&move_path, &move_body);
        let newcomer_email = format!("newcomer{round}@example.org");
        let newcomer_request = request(&target, &newcomer_email);
        let newcomer = app.book(&newcomer_request);
        let ((moved, _), (booked, _)) = tokio::join!(move_it, newcomer);
        let winners = [moved == 200, booked == 201].iter().filter(|w| **w).count();
        assert_eq!(
            winners, 1,
            "round {round}: exactly one gets the last place ({moved}, {booked})"
        );
        assert!(
            moved == 409 || booked == 409,
            "the other is refused: ({moved}, {booked})"
        );
        assert_eq!(app.free_at(ID_CARD, &target).await, 0);
        let expected_elsewhere = if moved == 200 { 3 } else { 2 };
        assert_eq!(
            app.free_at(ID_CARD, &elsewhere).await,
            expected_elsewhere,
            "old slot freed only if moved"
        );
    }
    app.stop().await;
}

async fn one_email_holds_at_most_two_bookings(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    assert_eq!(app.book(&request(&slots[0].0, "busy@example.org")).await.0, 201);
    let (_, second) = app.book(&request(&slots[5].0, "Busy@Example.org")).await;
    let (status, err) = app.book(&request(&slots[9].0, "busy@example.org")).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("too_many_bookings")));
    // Cancelling one makes room again.
    let code = second["code"].as_str().unwrap();
    app.client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(app.book(&request(&slots[9].0, "busy@example.org")).await.0, 201);
    app.stop().await;
}

/// The same email books ten different times at once (each time with turns of its own, all on
/// one holder counter): exactly the limit of two succeed.
async fn one_email_booking_many_times_at_once_gets_two(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    let requests: Vec<BookingRequest> = (0..10).map(|i| request(&slots[3 * i].0, "eager@example.org")).collect();
    let attempts = requests.iter().map(|r| app.book(r));
    let results = futures::future::join_all(attempts).await;
    let mut by_status: HashMap<(u16, String), usize> = HashMap::new();
    for (status, body) in &results {
        let code = body["error"].as_str().unwrap_or("").to_owned();
        *by_status.entry((*status, code)).or_default() += 1;
    }
    assert_eq!(by_status.get(&(201, String::new())), Some(&2), "{by_status:?}");
    assert_eq!(
        by_status.get(&(409, "too_many_bookings".into())),
        Some(&8),
        "{by_status:?}"
    );
    app.stop().await;
}

async fn bad_booking_input_is_refused_and_stores_nothing(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    let start = chrono::DateTime::parse_from_rfc3339(&slots[0].0).unwrap();
    // Close the office on the day of slot 0 (configuration is events too) and wait until the
    // projection shows it.
    let closed_day = start.date_naive();
    let mut schedule = schalter_events::catalogue::demo().schedules[LOCATION].clone();
    schedule.closures.push(schalter_events::slots::Closure::days(
        closed_day,
        closed_day,
        schalter_events::catalogue::Text::new("Personalversammlung", "Staff meeting"),
    ));
    let event = schalter_events::catalogue::CatalogueEvent::ScheduleSet {
        location: LOCATION.into(),
        schedule,
    };
    app.store()
        .append(&schalter_events::store::AppendRequest::new(vec![event.to_new_event()]))
        .await
        .unwrap();
    for _ in 0..100 {
        if !availability(&app, closed_day, 1).await.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    assert!(availability(&app, closed_day, 1).await.is_empty());
    let head = app.store().head().await.unwrap();
    let good = serde_json::to_value(request(
        &slots[slots
            .iter()
            .position(|(s, _)| !s.starts_with(&closed_day.to_string()))
            .unwrap()]
        .0,
        "a@example.org",
    ))
    .unwrap();
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let next_day = chrono::DateTime::parse_from_rfc3339(good["start"].as_str().unwrap()).unwrap();
    let cases = vec![
        (with("location", json!("atlantis")), 422, "unknown_location"),
        (with("service", json!("mondflug")), 422, "unknown_service"),
        (
            with("service", json!("kfz-neuzulassung")),
            422,
            "service_not_at_location",
        ),
        (
            {
                let mut body = with("service", json!("wunschkennzeichen"));
                body["location"] = json!("kfz-zulassung");
                body
            },
            422,
            "not_bookable_online",
        ),
        (
            with("start", json!((next_day + Duration::minutes(3)).to_rfc3339())),
            422,
            "not_on_grid",
        ),
        (
            with("start", json!((Utc::now() - Duration::days(1)).to_rfc3339())),
            422,
            "in_past",
        ),
        (
            with("start", json!((next_day + Duration::days(90)).to_rfc3339())),
            422,
            "beyond_window",
        ),
        (with("start", json!(start.to_rfc3339())), 422, "closed"),
        (with("start", json!("2026-13-45T99:00:00+01:00")), 422, "invalid_body"),
        (with("start", json!("tomorrow at nine")), 422, "invalid_body"),
        (with("email", json!("not-an-email")), 422, "invalid_contact"),
        (with("name", json!("   ")), 422, "invalid_contact"),
        (with("name", json!("x".repeat(500))), 422, "invalid_contact"),
        (with("phone", json!("call me maybe")), 422, "invalid_contact"),
        (with("privacy_accepted", json!(false)), 422, "consent_required"),
        (with("name", json!(42)), 422, "invalid_body"),
        (with("extra", json!("field")), 422, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let (got, err) = app.post_json("/api/bookings", &body).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(code)), "{body}");
    }
    let r = app
        .client
        .post(format!("{}/api/bookings", app.url))
        .header("content-type", "application/json")
        .body("{\"location\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .post(format!("{}/api/bookings", app.url))
        .json(&json!({"name": "x".repeat(70_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    for query in [
        "location=atlantis&service=reisepass",
        "location=buergerbuero&service=reisepass&days=100",
        "location=buergerbuero&service=reisepass&from=yesterday",
        "service=reisepass",
    ] {
        let (status, err) = app.get_json(&format!("/api/availability?{query}")).await;
        assert_eq!(status, 422, "{query}: {err}");
        assert!(err["error"].is_string());
    }
    let (status, _) = app
        .post_json(
            "/api/bookings/AAAA-BBBB-CCCC-DDDD/reschedule",
            &json!({"start": slots[1].0}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "nothing stored by any refused request"
    );
    app.stop().await;
}

/// POSTs `body` (text, sent as it is) to `path` with `key`: status and answer.
async fn keyed(app: &TestApp, path: &str, key: &str, body: String) -> (u16, Value) {
    let request = app
        .client
        .post(format!("{}{path}", app.url))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body);
    schalter_tests::app::status_and_json(request).await
}

/// A key answers again only for the very request it came with (the same JSON, in any field
/// order); any other request with it gets 422 and learns nothing, and nothing is stored.
async fn an_idempotency_key_answers_only_its_own_request(db: TestDb) {
    let app = spawn_app(db).start().await;
    let slots = future_slots(&app).await;
    // Far enough apart that no appointment at one overlaps another.
    let (first, second, third) = (&slots[0].0, &slots[6].0, &slots[12].0);
    let erika = serde_json::to_value(request(first, "erika@example.org")).unwrap();
    let (status, booked) = keyed(&app, "/api/bookings", "key-erika-01", erika.to_string()).await;
    assert_eq!(status, 201, "{booked}");
    let code = booked["code"].as_str().unwrap().to_owned();

    // The same request again, its fields in another order: the first booking, without the code.
    let mut reordered: Vec<(String, Value)> = erika.as_object().unwrap().clone().into_iter().collect();
    reordered.reverse();
    let reordered = format!(
        "{{{}}}",
        reordered
            .iter()
            .map(|(k, v)| format!("{}:{v}", json!(k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (status, again) = keyed(&app, "/api/bookings", "key-erika-01", reordered).await;
    assert_eq!((status, &again["id"]), (200, &booked["id"]), "{again}");
    assert!(again.get("code").is_none());

    // Another citizen with the same key: refused, and nothing of Erika's in the answer.
    let head = app.store().head().await.unwrap();
    let max = serde_json::to_value(BookingRequest {
        name: "Max Muster".into(),
        ..request(second, "max@example.org")
    })
    .unwrap();
    let (status, refused) = keyed(&app, "/api/bookings", "key-erika-01", max.to_string()).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert!(!refused.to_string().contains("erika") && !refused.to_string().contains("Erika"));
    // The same key at another address (a move) is another request too.
    let move_to = |start: &str| json!({ "start": start }).to_string();
    let reschedule = format!("/api/bookings/{code}/reschedule");
    let (status, refused) = keyed(&app, &reschedule, "key-erika-01", move_to(second)).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "nothing stored for a reused key"
    );
    assert_eq!(app.free_at(ID_CARD, second).await, 3);

    // A move with its own key, repeated: moved once; the key sent with another time: refused, and
    // the appointment stays where the first move put it.
    let (status, moved) = keyed(&app, &reschedule, "key-move-0001", move_to(second)).await;
    assert_eq!(
        (status, moved["start"].as_str()),
        (200, Some(second.as_str())),
        "{moved}"
    );
    let (status, _) = keyed(&app, &reschedule, "key-move-0001", move_to(second)).await;
    assert_eq!(status, 200);
    let (status, refused) = keyed(&app, &reschedule, "key-move-0001", move_to(third)).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(view["start"].as_str(), Some(second.as_str()));
    assert_eq!(
        (app.free_at(ID_CARD, first).await, app.free_at(ID_CARD, third).await),
        (3, 3)
    );
    app.stop().await;
}

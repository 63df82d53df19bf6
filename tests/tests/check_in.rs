//! Checking in an appointment at the kiosk: one ticket per booking, within the time window, at
//! its own location; due appointments are called before walk-ins.

use schalter_tests::app::{add_device, add_user};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    appointments_check_in_once_and_go_first_when_due,
    the_short_number_checks_in_on_the_day_only
);

async fn booking_at(app: &TestApp, code: &str, minutes_from_now: i64) {
    app.booking_near_now(code, minutes_from_now, "Erika Mustermann", "erika@example.org")
        .await;
}

async fn post(app: &TestApp, path: &str, auth: (&str, String), body: Value) -> (u16, Value) {
    app.post_as(path, (auth.0, &auth.1), &body).await
}

async fn appointments_check_in_once_and_go_first_when_due(db: TestDb) {
    let app = spawn_app(db).start().await;
    let kiosk = (
        "authorization",
        format!("Bearer {}", add_device(&app.db.url, "buergerbuero", "kiosk")),
    );
    let kfz_kiosk = (
        "authorization",
        format!("Bearer {}", add_device(&app.db.url, "kfz-zulassung", "kiosk")),
    );
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = ("cookie", app.sign_in("anna", "counter-one-2026").await);
    app.open_counter(&anna.1, "buergerbuero-1").await;

    booking_at(&app, "AAAA-BBBB-CCCC-DDDD", 10).await; // early, inside the window
    booking_at(&app, "EEEE-FFFF-GGGG-HHHH", -5).await; // due now
    booking_at(&app, "JJJJ-KKKK-MMMM-NNNN", 120).await; // too early
    booking_at(&app, "PPPP-QQQQ-RRRR-SSSS", -30).await; // too late
    let check_in = |code: &str| json!({ "code": code });

    // A walk-in arrives first.
    let (status, walk_in) = post(
        &app,
        "/api/locations/buergerbuero/tickets",
        kiosk.clone(),
        json!({"service": "personalausweis"}),
    )
    .await;
    assert_eq!(status, 201);

    let (status, early) = post(
        &app,
        "/api/locations/buergerbuero/check-in",
        kiosk.clone(),
        check_in("aaaa bbbb cccc dddd"),
    )
    .await;
    assert_eq!((status, early["number"].as_str()), (201, Some("T-001")), "{early}");
    let (status, err) = post(
        &app,
        "/api/locations/buergerbuero/check-in",
        kiosk.clone(),
        check_in("AAAA-BBBB-CCCC-DDDD"),
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (409, Some("already_checked_in")));
    let (_, booking) = app.get_json("/api/bookings/AAAA-BBBB-CCCC-DDDD").await;
    assert_eq!(booking["status"], "checked-in");
    let r = app
        .client
        .delete(format!("{}/api/bookings/AAAA-BBBB-CCCC-DDDD", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a checked-in booking is no longer cancelled online");

    let (status, due) = post(
        &app,
        "/api/locations/buergerbuero/check-in",
        anna.clone(),
        check_in("EEEE-FFFF-GGGG-HHHH"),
    )
    .await;
    assert_eq!(
        (status, due["number"].as_str()),
        (201, Some("T-002")),
        "the desk can check in too"
    );

    for (code, auth, status, error) in [
        ("JJJJ-KKKK-MMMM-NNNN", kiosk.clone(), 409, "too_early"),
        ("PPPP-QQQQ-RRRR-SSSS", kiosk.clone(), 409, "too_late"),
        ("0000-0000-0000-0000", kiosk.clone(), 404, "not_found"),
    ] {
        let (got, err) = post(&app, "/api/locations/buergerbuero/check-in", auth, check_in(code)).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(error)), "{code}");
    }
    let (status, err) = post(
        &app,
        "/api/locations/kfz-zulassung/check-in",
        kfz_kiosk.clone(),
        check_in("JJJJ-KKKK-MMMM-NNNN"),
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (422, Some("other_location")));
    assert_eq!(
        post(
            &app,
            "/api/locations/buergerbuero/check-in",
            kfz_kiosk,
            check_in("JJJJ-KKKK-MMMM-NNNN")
        )
        .await
        .0,
        403
    );

    // Call order: the due appointment, then the walk-in, then the early appointment.
    let mut order = vec![];
    for _ in 0..3 {
        let (_, called) = post(
            &app,
            "/api/counters/buergerbuero-1/call-next",
            anna.clone(),
            json!(null),
        )
        .await;
        order.push(called["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        order,
        vec![
            "T-002".to_owned(),
            walk_in["number"].as_str().unwrap().to_owned(),
            "T-001".to_owned()
        ]
    );
    app.stop().await;
}

fn number_of(code: &str) -> String {
    let hash = schalter_server::features::bookings::code_hash(code).expect("a well-formed code");
    schalter_server::features::bookings::check_in_number(&hash)
}

/// A well-formed booking code made from `i` (the alphabet's first 32 symbols as digits).
fn code_from(i: u32) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let symbols: String = (0..16)
        .map(|k| ALPHABET[((i >> (k % 6 * 5)) as usize + k) % 32] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &symbols[..4],
        &symbols[4..8],
        &symbols[8..12],
        &symbols[12..]
    )
}

/// Five digits instead of sixteen characters at the kiosk: they check in the appointment due
/// now at this office and nothing else; two due at once with the same number ask for the code;
/// mistyped numbers are limited per kiosk.
async fn the_short_number_checks_in_on_the_day_only(db: TestDb) {
    let app = spawn_app(db).protected().start().await;
    let kiosk = (
        "authorization",
        format!("Bearer {}", add_device(&app.db.url, "buergerbuero", "kiosk")),
    );
    let kfz_kiosk = (
        "authorization",
        format!("Bearer {}", add_device(&app.db.url, "kfz-zulassung", "kiosk")),
    );
    let (due, tomorrow) = ("AAAA-BBBB-CCCC-DDDD", "EEEE-FFFF-GGGG-HHHH");
    booking_at(&app, due, 10).await;
    booking_at(&app, tomorrow, 24 * 60).await;
    // The citizen finds the number on the booking's page (and in the email).
    let (_, view) = app.get_json(&format!("/api/bookings/{due}")).await;
    assert_eq!(view["check_in_number"], number_of(due).as_str());

    let path = "/api/locations/buergerbuero/check-in";
    let number = |code: &str| json!({ "code": number_of(code) });
    let (status, _) = post(&app, path, kiosk.clone(), number(tomorrow)).await;
    assert_eq!(status, 404, "tomorrow's number means nothing today");
    let (status, _) = post(
        &app,
        "/api/locations/kfz-zulassung/check-in",
        kfz_kiosk.clone(),
        number(due),
    )
    .await;
    assert_eq!(status, 404, "another office's kiosk does not know it");
    let (status, ticket) = post(&app, path, kiosk.clone(), number(due)).await;
    assert_eq!((status, ticket["number"].as_str()), (201, Some("T-001")), "{ticket}");
    let (_, view) = app.get_json(&format!("/api/bookings/{due}")).await;
    assert_eq!(view["status"], "checked-in");
    assert!(view.get("check_in_number").is_none(), "spent once checked in");
    let (status, _) = post(&app, path, kiosk.clone(), number(due)).await;
    assert_eq!(status, 404, "checked in: the number is spent");

    // Two appointments due now that share a number: the kiosk asks for the code instead.
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0..5_000u32)
        .map(code_from)
        .find_map(|code| seen.insert(number_of(&code), code.clone()).map(|other| (other, code)))
        .expect("a shared number among 5,000 codes");
    booking_at(&app, &a, 20).await;
    booking_at(&app, &b, 30).await;
    let (status, err) = post(&app, path, kiosk.clone(), number(&a)).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("ambiguous_number")));
    let (status, _) = post(&app, path, kiosk.clone(), json!({ "code": a })).await;
    assert_eq!(status, 201, "the code still works");

    // Guessing: ten wrong numbers per kiosk in ten minutes (two were above), then 429 even
    // for a right one.
    let mut misses = 2;
    for guess in (0..100_000u32)
        .map(|g| format!("{g:05}"))
        .filter(|g| *g != number_of(&b))
    {
        let (status, _) = post(&app, path, kiosk.clone(), json!({ "code": guess })).await;
        if status == 429 {
            break;
        }
        assert_eq!(status, 404);
        misses += 1;
        assert!(misses <= 10, "still guessing after {misses} misses");
    }
    assert_eq!(misses, 10);
    let (status, err) = post(&app, path, kiosk.clone(), number(&b)).await;
    assert_eq!((status, err["error"].as_str()), (429, Some("rate_limited")));
    let (status, _) = post(
        &app,
        "/api/locations/kfz-zulassung/check-in",
        kfz_kiosk,
        json!({ "code": "00000" }),
    )
    .await;
    assert_eq!(status, 404, "another kiosk has its own count");
    app.stop().await;
}

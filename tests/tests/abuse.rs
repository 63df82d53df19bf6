//! Rate limits and cooling-off: clear 429s with Retry-After for bots and slot traders, nothing
//! a citizen booking for the family would meet. (The browser journeys book with all of it on.)

use schalter_events::api::BookingRequest;
use schalter_tests::app::{add_user, spawn_app};
use schalter_tests::citizen::{booking, CERTIFICATE};
use schalter_tests::{TestApp, TestDb};
use serde_json::{json, Value};

async fn book(app: &TestApp, ip: &str, start: &str, email: &str) -> (u16, Value, Option<String>) {
    let proof = json!(app.proof().await);
    post_booking(app, ip, start, email, Some(proof)).await
}

async fn post_booking(
    app: &TestApp,
    ip: &str,
    start: &str,
    email: &str,
    proof: Option<Value>,
) -> (u16, Value, Option<String>) {
    let request = BookingRequest {
        location: CERTIFICATE.location.into(),
        service: CERTIFICATE.service.into(),
        name: "Karl Klick".into(),
        ..booking(start, email)
    };
    let mut body = serde_json::to_value(request).unwrap();
    if let Some(p) = proof {
        body["proof"] = p;
    }
    let r = app
        .client
        .post(format!("{}/api/bookings", app.url))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_per_address_and_email_with_retry_after() {
    let app = spawn_app(TestDb::sqlite().await).protected().start().await;
    let starts = app.free_starts_of(CERTIFICATE, 2).await;
    // One address: 20 bookings an hour, then a clear 429.
    for (i, start) in starts.iter().take(20).enumerate() {
        let (status, body, _) = book(&app, "203.0.113.7", start, &format!("bot{i}@example.org")).await;
        assert_eq!(status, 201, "{i}: {body}");
    }
    let (status, body, retry) = book(&app, "203.0.113.7", &starts[20], "bot20@example.org").await;
    assert_eq!((status, body["error"].as_str()), (429, Some("rate_limited")));
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((3000..=3600).contains(&retry), "{retry}");
    let (status, _, _) = book(&app, "198.51.100.9", &starts[21], "someone@example.org").await;
    assert_eq!(status, 201, "other addresses are not affected");

    // One email, from many addresses: 2 active bookings, then refusals, then a 429.
    let mut statuses = vec![];
    for i in 0..7 {
        let ip = format!("192.0.2.{}", 10 + i);
        statuses.push(book(&app, &ip, &starts[30 + i], "trader@example.org").await.0);
    }
    assert_eq!(statuses, [201, 201, 409, 409, 409, 409, 429]);
    app.stop().await;
}

/// A used Idempotency-Key is no way around the limits: once the address has used up its
/// bookings, even the repeat of its first request is refused (the repeat itself, with the same
/// proof, is answered while the limit allows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_come_before_the_idempotency_key() {
    let app = spawn_app(TestDb::sqlite().await).protected().start().await;
    let starts = app.free_starts_of(CERTIFICATE, 2).await;
    let request = BookingRequest {
        location: CERTIFICATE.location.into(),
        service: CERTIFICATE.service.into(),
        proof: Some(app.proof().await),
        ..booking(&starts[0], "first@example.org")
    };
    let send = || {
        app.client
            .post(format!("{}/api/bookings", app.url))
            .header("x-forwarded-for", "203.0.113.77")
            .header("idempotency-key", "retry-me-please")
            .json(&request)
            .send()
    };
    assert_eq!(send().await.unwrap().status().as_u16(), 201);
    assert_eq!(
        send().await.unwrap().status().as_u16(),
        200,
        "a repeat may carry its proof again"
    );
    for (i, start) in starts[1..].iter().take(18).enumerate() {
        let (status, body, _) = book(&app, "203.0.113.77", start, &format!("more{i}@example.org")).await;
        assert_eq!(status, 201, "{i}: {body}");
    }
    let repeat = send().await.unwrap();
    assert_eq!(repeat.status().as_u16(), 429);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_slot_is_not_grabbed_back_at_once() {
    let app = spawn_app(TestDb::sqlite().await).protected().start().await;
    let starts = app.free_starts_of(CERTIFICATE, 2).await;
    let (_, booked, _) = book(&app, "203.0.113.50", &starts[0], "holder@example.org").await;
    let code = booked["code"].as_str().unwrap();
    let r = app
        .client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .header("x-forwarded-for", "203.0.113.50")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, body, _) = book(&app, "203.0.113.51", &starts[0], "holder@example.org").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("cooling_off")),
        "same email"
    );
    let (status, body, _) = book(&app, "203.0.113.50", &starts[0], "friend@example.org").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("cooling_off")),
        "same address"
    );
    let (status, _, _) = book(&app, "198.51.100.20", &starts[0], "next.citizen@example.org").await;
    assert_eq!(status, 201, "free for everyone else");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_slowed_down() {
    let app = spawn_app(TestDb::sqlite().await).protected().start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let login = |password: &'static str| {
        app.client
            .post(format!("{}/api/auth/login", app.url))
            .json(&json!({"username": "anna", "password": password}))
            .send()
    };
    for _ in 0..10 {
        assert_eq!(login("guess-guess-guess").await.unwrap().status(), 401);
    }
    let r = login("counter-one-2026").await.unwrap();
    assert_eq!(r.status(), 429, "even the right password waits now");
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_needs_a_fresh_proof_of_work() {
    let app = spawn_app(TestDb::sqlite().await).protected().start().await;
    let starts = app.free_starts_of(CERTIFICATE, 2).await;
    let (status, body, _) = post_booking(&app, "203.0.113.80", &starts[0], "a@example.org", None).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("proof_required")));
    let forged = json!({"challenge": "1790000000.abcdef.0123456789abcdef0123456789abcdef", "nonce": 1});
    let (status, body, _) = post_booking(&app, "203.0.113.80", &starts[0], "a@example.org", Some(forged)).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_proof")));
    let good = json!(app.proof().await);
    let (status, _, _) = post_booking(&app, "203.0.113.80", &starts[1], "b@example.org", Some(good.clone())).await;
    assert_eq!(status, 201);
    let (status, body, _) = post_booking(&app, "203.0.113.80", &starts[2], "c@example.org", Some(good)).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("proof_used")));
    let (status, body, _) = post_booking(&app, "203.0.113.80", &starts[2], "c@example.org", Some(json!("x"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_body")),
        "a proof of the wrong type"
    );
    app.stop().await;
}

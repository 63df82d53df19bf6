//! The hall screen's live feed, the desk's view of counters and the line, and who may see what.

use std::time::Duration;

use schalter_tests::app::{add_device, add_user};
use schalter_tests::sse::{called_numbers, SseEvent, SseStream};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    hall_screen_sees_calls_live_resumes_and_shows_no_personal_data,
    who_may_watch_and_administer,
    desk_sees_counters_the_line_and_learned_estimates
);

/// Distinctive enough that finding them anywhere in a feed can only mean a leak.
const NAME: &str = "Zacharias Quellenbrunner-Oyelaran";
const EMAIL: &str = "zq-xylophon-4471@example.org";
const CODE: &str = "QQQQ-RRRR-SSSS-TTTT";
const WAIT: Duration = Duration::from_secs(5);

async fn post(app: &TestApp, path: &str, auth: (&str, &str), body: Option<Value>) -> (u16, Value) {
    let mut r = app.client.post(format!("{}{path}", app.url)).header(auth.0, auth.1);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, auth: (&str, &str)) -> (u16, Value) {
    let r = app
        .client
        .get(format!("{}{path}", app.url))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn screen(app: &TestApp, token: &str) -> reqwest::RequestBuilder {
    app.client.get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={token}",
        app.url
    ))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn hall_screen_sees_calls_live_resumes_and_shows_no_personal_data(db: TestDb) {
    let app = spawn_app(db).start().await;
    let display = add_device(&app.db.url, "buergerbuero", "display");
    let kiosk = bearer(&add_device(&app.db.url, "buergerbuero", "kiosk"));
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let anna = ("cookie", anna.as_str());
    app.open_counter(anna.1, "buergerbuero-1").await;
    app.booking_near_now(CODE, 5, NAME, EMAIL).await;
    let (status, _) = post(
        &app,
        "/api/locations/buergerbuero/check-in",
        ("authorization", &kiosk),
        Some(json!({"code": CODE})),
    )
    .await;
    assert_eq!(status, 201);

    let mut feed = SseStream::open(screen(&app, &display)).await;
    let snapshot = feed.next(WAIT).await.expect("a snapshot first");
    assert_eq!(snapshot.event, "snapshot");
    let data = snapshot.json();
    assert_eq!(data["calls"], json!([]));
    assert_eq!(data["location"]["de"], "Bürgerbüro im Rathaus");
    let id_card = data["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == "personalausweis")
        .expect("a group per service");
    assert_eq!(id_card["waiting"], 1, "the checked-in appointment waits");
    assert!(
        id_card["estimate_minutes"].is_array(),
        "an open counter serves it: {id_card}"
    );

    let (status, called) = post(&app, "/api/counters/buergerbuero-1/call-next", anna, None).await;
    assert_eq!((status, called["number"].as_str()), (200, Some("T-001")));
    let call = feed.next_named("call", WAIT).await.expect("the call arrives");
    assert_eq!(
        (call.json()["number"].as_str(), call.json()["counter"].as_str()),
        (Some("T-001"), Some("1"))
    );
    let seen = call.id.clone().expect("calls carry ids");
    let waiting = feed.next_named("waiting", WAIT).await.expect("counts follow the call");
    assert!(waiting.json().as_array().unwrap().iter().all(|g| g["waiting"] == 0));
    let mut raw = std::mem::take(&mut feed.raw);
    drop(feed);

    // While the screen is away: T-001 finished, a walk-in called and called again.
    let id = called["id"].as_str().unwrap();
    assert_eq!(
        post(&app, &format!("/api/tickets/{id}/finish"), anna, None).await.0,
        200
    );
    post(
        &app,
        "/api/locations/buergerbuero/tickets",
        ("authorization", &kiosk),
        Some(json!({"service": "meldebescheinigung"})),
    )
    .await;
    let (_, walk_in) = post(&app, "/api/counters/buergerbuero-1/call-next", anna, None).await;
    let walk_in_id = walk_in["id"].as_str().unwrap();
    assert_eq!(
        post(&app, &format!("/api/tickets/{walk_in_id}/recall"), anna, None)
            .await
            .0,
        200
    );

    let mut feed = SseStream::open(screen(&app, &display).header("last-event-id", &seen)).await;
    let mut resumed: Vec<SseEvent> = vec![];
    while let Some(e) = feed.next(WAIT).await {
        let done = e.event == "snapshot";
        resumed.push(e);
        if done {
            break;
        }
    }
    let missed: Vec<(String, bool)> = resumed
        .iter()
        .filter(|e| e.event == "call")
        .map(|e| {
            (
                e.json()["number"].as_str().unwrap().to_owned(),
                e.json()["recall"] == true,
            )
        })
        .collect();
    let number = walk_in["number"].as_str().unwrap().to_owned();
    assert_eq!(
        missed,
        vec![(number.clone(), false), (number.clone(), true)],
        "every missed call, in order, before the new snapshot"
    );
    let snapshot = resumed.last().unwrap().json();
    assert_eq!(snapshot["calls"][0]["number"], number.as_str(), "newest first");
    assert_eq!(snapshot["calls"].as_array().unwrap().len(), 3);

    // Parked (a document missing): the number waits again and the screen stops showing it as
    // called, live and in the next snapshot.
    let park = format!("/api/tickets/{walk_in_id}/park");
    assert_eq!(post(&app, &park, anna, None).await.0, 200);
    let withdrawn = feed
        .next_named("withdrawn", WAIT)
        .await
        .expect("the call is taken back");
    assert_eq!(withdrawn.json()["number"], number.as_str());
    raw.push_str(&feed.raw);
    drop(feed);
    let mut feed = SseStream::open(screen(&app, &display)).await;
    let snapshot = feed.next(WAIT).await.expect("a snapshot").json();
    let shown = called_numbers(&snapshot);
    assert_eq!(shown, ["T-001"], "the parked number is not shown as called");
    raw.push_str(&feed.raw);

    for secret in [NAME, "Quellenbrunner", EMAIL, CODE, "QQQQ"] {
        assert!(!raw.contains(secret), "the hall feed leaked {secret:?}");
    }
    assert!(raw.contains("T-001"), "the feed was read: {raw}");
    app.stop().await;
}

async fn who_may_watch_and_administer(db: TestDb) {
    let app = spawn_app(db).start().await;
    let display = add_device(&app.db.url, "buergerbuero", "display");
    let kfz_display = add_device(&app.db.url, "kfz-zulassung", "display");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let boss = app.sign_in("boss", "statistics-2026").await;
    let root = app.sign_in("root", "administrator-2026").await;
    let stream = "/api/locations/buergerbuero/display/stream";

    let status = |r: reqwest::Response| r.status().as_u16();
    let open = |auth: Option<(&str, String)>| {
        let mut r = app.client.get(format!("{}{stream}", app.url));
        if let Some((k, v)) = auth {
            r = r.header(k, v);
        }
        r.send()
    };
    assert_eq!(status(open(None).await.unwrap()), 401);
    assert_eq!(
        status(open(Some(("authorization", bearer(&kiosk)))).await.unwrap()),
        403
    );
    assert_eq!(
        status(open(Some(("authorization", bearer(&kfz_display)))).await.unwrap()),
        403,
        "a screen shows its own location only"
    );
    assert_eq!(status(open(Some(("cookie", boss.clone()))).await.unwrap()), 403);
    assert_eq!(status(open(Some(("cookie", anna.clone()))).await.unwrap()), 200);
    assert_eq!(
        status(open(Some(("authorization", bearer(&display)))).await.unwrap()),
        200
    );
    let (status_code, err) = get(&app, &format!("{stream}?token=nope.nope"), ("x-none", "")).await;
    assert_eq!((status_code, err["error"].as_str()), (401, Some("invalid_token")));

    // A screen cannot act.
    let display_auth = bearer(&display);
    let as_display = ("authorization", display_auth.as_str());
    assert_eq!(
        post(&app, "/api/counters/buergerbuero-1/call-next", as_display, None)
            .await
            .0,
        401
    );
    assert_eq!(
        post(&app, "/api/counters/buergerbuero-1/open", as_display, None)
            .await
            .0,
        401
    );
    assert_eq!(
        post(
            &app,
            "/api/locations/buergerbuero/tickets",
            as_display,
            Some(json!({"service": "meldebescheinigung"}))
        )
        .await
        .0,
        403
    );

    // The admin API: admins only.
    for who in [anna.as_str(), boss.as_str()] {
        assert_eq!(get(&app, "/api/admin/users", ("cookie", who)).await.0, 403);
        assert_eq!(get(&app, "/api/admin/devices", ("cookie", who)).await.0, 403);
        let (s, _) = post(
            &app,
            "/api/admin/users",
            ("cookie", who),
            Some(json!({"username": "eve", "role": "admin", "password": "takeover-2026"})),
        )
        .await;
        assert_eq!(s, 403);
    }
    assert_eq!(get(&app, "/api/admin/users", ("x-none", "")).await.0, 401);
    let root = ("cookie", root.as_str());
    let (s, users) = get(&app, "/api/admin/users", root).await;
    assert_eq!(s, 200);
    assert!(users
        .as_array()
        .unwrap()
        .contains(&json!({"username": "anna", "role": "desk", "active": true})));
    assert!(!users.to_string().contains("argon2"), "no password hashes");
    let new_user = |password: &str, role: &str| json!({"username": "clara", "role": role, "password": password});
    let (s, e) = post(&app, "/api/admin/users", root, Some(new_user("short", "desk"))).await;
    assert_eq!((s, e["error"].as_str()), (422, Some("password_too_short")));
    let (s, e) = post(
        &app,
        "/api/admin/users",
        root,
        Some(new_user("long-enough-2026", "boss")),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (422, Some("unknown_role")));
    let (s, _) = post(
        &app,
        "/api/admin/users",
        root,
        Some(new_user("long-enough-2026", "desk")),
    )
    .await;
    assert_eq!(s, 201);
    let (s, e) = post(
        &app,
        "/api/admin/users",
        root,
        Some(new_user("long-enough-2026", "desk")),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("user_exists")));
    app.sign_in("clara", "long-enough-2026").await;

    let (s, e) = post(
        &app,
        "/api/admin/devices",
        root,
        Some(json!({"location": "mond", "role": "display"})),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (422, Some("unknown_location")));
    let (s, added) = post(
        &app,
        "/api/admin/devices",
        root,
        Some(json!({"location": "buergerbuero", "role": "display"})),
    )
    .await;
    assert_eq!(s, 201);
    let token = added["token"].as_str().unwrap().to_owned();
    assert_eq!(
        status(open(Some(("authorization", bearer(&token)))).await.unwrap()),
        200
    );

    // Revoking stops the token at once, for the old screen as for the new one.
    let old_id = display.split('.').next().unwrap();
    for (id, token) in [
        (old_id, display.as_str()),
        (added["id"].as_str().unwrap(), token.as_str()),
    ] {
        assert_eq!(
            post(&app, &format!("/api/admin/devices/{id}/revoke"), root, None)
                .await
                .0,
            204
        );
        let (s, e) = get(&app, &format!("{stream}?token={token}"), ("x-none", "")).await;
        assert_eq!((s, e["error"].as_str()), (401, Some("invalid_token")), "{id}");
    }
    let (_, devices) = get(&app, "/api/admin/devices", root).await;
    let revoked = devices
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["revoked"] == true)
        .count();
    assert_eq!(revoked, 2);
    assert_eq!(post(&app, "/api/admin/devices/nope/revoke", root, None).await.0, 404);
    app.stop().await;
}

async fn desk_sees_counters_the_line_and_learned_estimates(db: TestDb) {
    let app = spawn_app(db).start().await;
    let kiosk = bearer(&add_device(&app.db.url, "buergerbuero", "kiosk"));
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let anna = ("cookie", anna.as_str());

    let (s, counters) = get(&app, "/api/locations/buergerbuero/counters", anna).await;
    assert_eq!(s, 200);
    let counters = counters.as_array().unwrap();
    assert_eq!(counters.len(), 4);
    assert!(
        counters.iter().all(|c| c["open"] == false),
        "closed until someone opens"
    );
    let (s, opened) = post(&app, "/api/counters/buergerbuero-1/open", anna, None).await;
    assert_eq!((s, opened["open"].as_bool()), (200, Some(true)));
    assert_eq!(
        post(&app, "/api/counters/buergerbuero-1/open", anna, None).await.1["open"],
        true,
        "opening twice changes nothing"
    );
    assert_eq!(post(&app, "/api/counters/buergerbuero-1/lock", anna, None).await.0, 404);

    let mut tokens = vec![];
    for _ in 0..7 {
        let (s, t) = post(
            &app,
            "/api/locations/buergerbuero/tickets",
            ("authorization", &kiosk),
            Some(json!({"service": "personalausweis"})),
        )
        .await;
        assert_eq!(s, 201);
        tokens.push(t["token"].as_str().unwrap().to_owned());
    }
    // One open counter, nothing measured yet: 6 ahead × 20 planned minutes = 120, shown 90–180.
    let last = format!("/api/tickets/status/{}", tokens[6]);
    assert_eq!(app.get_json(&last).await.1["estimate_minutes"], json!([90, 180]));

    let (_, line) = get(&app, "/api/locations/buergerbuero/queue", anna).await;
    let numbers: Vec<&str> = line["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["A-001", "A-002", "A-003", "A-004", "A-005", "A-006", "A-007"]);

    // Three served in no time: the estimate learns that this office is quick today.
    for _ in 0..3 {
        let (_, called) = post(&app, "/api/counters/buergerbuero-1/call-next", anna, None).await;
        let id = called["id"].as_str().unwrap().to_owned();
        assert_eq!(
            post(&app, &format!("/api/tickets/{id}/finish"), anna, None).await.0,
            200
        );
    }
    assert_eq!(app.get_json(&last).await.1["estimate_minutes"], json!([0, 5]));

    let (_, called) = post(&app, "/api/counters/buergerbuero-1/call-next", anna, None).await;
    let (_, counters) = get(&app, "/api/locations/buergerbuero/counters", anna).await;
    assert_eq!(counters[0]["current"]["number"], called["number"]);
    let (_, line) = get(&app, "/api/locations/buergerbuero/queue", anna).await;
    assert_eq!(line["waiting"].as_array().unwrap().len(), 3);
    assert_eq!(line["active"][0]["counter"], "1");
    assert_eq!(line["finished"], 3);

    let (s, closed) = post(&app, "/api/counters/buergerbuero-1/close", anna, None).await;
    assert_eq!((s, closed["open"].as_bool()), (200, Some(false)));
    let (s, e) = post(&app, "/api/counters/buergerbuero-1/call-next", anna, None).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("counter_closed")));
    assert_eq!(get(&app, "/api/locations/mond/queue", anna).await.0, 404);
    assert_eq!(
        get(&app, "/api/locations/buergerbuero/queue", ("x-none", "")).await.0,
        401
    );
    app.stop().await;
}

on_both_backends!(every_staff_endpoint_checks_sign_in_and_role);

/// Each staff endpoint: 401 without a session, 403 for a role that may not use it.
async fn every_staff_endpoint_checks_sign_in_and_role(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let boss = app.sign_in("boss", "statistics-2026").await;
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let ticket = "buergerbuero-20261202-A-001";
    let desk_endpoints = [
        ("POST", "/api/counters/buergerbuero-1/call-next".to_owned()),
        ("POST", "/api/counters/buergerbuero-1/open".to_owned()),
        ("POST", "/api/counters/buergerbuero-1/close".to_owned()),
        ("GET", "/api/locations/buergerbuero/counters".to_owned()),
        ("GET", "/api/locations/buergerbuero/queue".to_owned()),
        ("GET", "/api/locations/buergerbuero/display/stream".to_owned()),
        ("POST", "/api/locations/buergerbuero/tickets".to_owned()),
        ("POST", "/api/locations/buergerbuero/check-in".to_owned()),
        ("POST", format!("/api/tickets/{ticket}/finish")),
        ("POST", format!("/api/tickets/{ticket}/recall")),
    ];
    let admin_endpoints = [
        ("GET", "/api/admin/users".to_owned()),
        ("POST", "/api/admin/users".to_owned()),
        ("GET", "/api/admin/devices".to_owned()),
        ("POST", "/api/admin/devices".to_owned()),
        ("POST", "/api/admin/devices/display-x/revoke".to_owned()),
    ];
    let send = |method: &str, path: &str, cookie: Option<&str>| {
        let url = format!("{}{path}", app.url);
        let mut r = if method == "GET" {
            app.client.get(url)
        } else {
            app.client.post(url).json(&json!({}))
        };
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };
    for (method, path) in desk_endpoints.iter().chain(admin_endpoints.iter()) {
        let r = send(method, path, None).await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without a session");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{method} {path}: JSON error");
        let r = send(method, path, Some(&boss)).await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path} as manager");
    }
    for (method, path) in &admin_endpoints {
        let r = send(method, path, Some(&anna)).await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path} as desk");
    }
    app.stop().await;
}

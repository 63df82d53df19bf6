//! Running the offices from the browser: every admin edit is checked on the server, a refused
//! one stores nothing, an accepted one is bookable at once and audited; and no one but an admin
//! reaches any admin endpoint.

use fantoccini::Locator;
use reqwest::Method;
use schalter_events::api::BookingRequest;
use schalter_tests::app::{add_device, add_user, status_and_json};
use schalter_tests::citizen::{booking, Offer};
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::{eventually, on_both_backends, spawn_app, when, TestApp, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    refused_edits_name_the_field_and_store_nothing,
    a_new_service_is_bookable_and_audited,
    fewer_hours_and_a_withdrawn_service_ask_about_the_bookings_first,
    the_staff_share_and_near_days_are_left_to_the_desk,
    a_counter_goes_when_the_others_can_do_without_it
);

async fn send(app: &TestApp, cookie: &str, method: Method, path: &str, body: &Value) -> (u16, Value) {
    app.send_as(cookie, method, path, body).await
}

async fn admin(app: &TestApp) -> String {
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    app.sign_in("root", "administrator-2026").await
}

fn hours(periods: &[(u8, &str, &str, u32)]) -> Value {
    json!({
        "unit_minutes": 10,
        "region": "rhineland-palatinate",
        "opening": periods.iter().map(|(weekday, open, close, capacity)| json!({
            "weekday": weekday, "open": open, "close": close, "online_capacity": capacity
        })).collect::<Vec<_>>(),
        "booking_window_days": 60,
        "min_lead_minutes": 60,
        "max_active_per_email": 2
    })
}

fn service(id: &str, prefix: &str, locations: &[&str]) -> Value {
    json!({
        "id": id,
        "name": {"de": "Gewerbe anmelden", "en": "Register a business"},
        "description": {"de": "Anmeldung eines Gewerbes.", "en": "Registering a business."},
        "locations": locations,
        "duration_minutes": 20,
        "documents": [{"de": "Personalausweis", "en": "ID card"}],
        "fee": {"de": "26,00 €", "en": "€26.00"},
        "bookable_online": true,
        "walk_in": true,
        "ticket_prefix": prefix
    })
}

async fn refused_edits_name_the_field_and_store_nothing(db: TestDb) {
    let app = spawn_app(db).start().await;
    let root = admin(&app).await;
    let setup_before = app.staff_ok(&root, Method::GET, "/api/admin/setup").await;
    let head = app.store().head().await.unwrap();

    let schedule = "/api/admin/locations/buergerbuero/schedule";
    let mut negative = service("gewerbe", "G", &["buergerbuero"]);
    negative["duration_minutes"] = json!(-20);
    let mut zero = service("gewerbe", "G", &["buergerbuero"]);
    zero["duration_minutes"] = json!(0);
    let counter = |location: &str, services: &[&str]| json!({"id": "buergerbuero-9", "location": location, "name": "9", "services": services});
    let mut no_zone = setup_before["locations"][0]["location"].clone();
    no_zone["time_zone"] = json!("Mars/Olympus");
    let cases: Vec<(Method, &str, Value, u16, &str, &str)> = vec![
        (
            Method::PUT,
            schedule,
            hours(&[(1, "08:00", "12:00", 3), (1, "11:00", "14:00", 3)]),
            422,
            "opening[1].open",
            "overlapping_hours",
        ),
        (
            Method::PUT,
            schedule,
            hours(&[(1, "12:00", "08:00", 3)]),
            422,
            "opening[0].close",
            "ends_before_start",
        ),
        (
            Method::PUT,
            schedule,
            hours(&[(2, "08:00", "12:00", 5)]),
            422,
            "opening[0].online_capacity",
            "capacity_above_counters",
        ),
        (
            Method::PUT,
            schedule,
            hours(&[(8, "08:00", "12:00", 1)]),
            422,
            "opening[0].weekday",
            "invalid_weekday",
        ),
        (
            Method::POST,
            "/api/admin/services",
            zero,
            422,
            "duration_minutes",
            "invalid_duration",
        ),
        (
            Method::POST,
            "/api/admin/services",
            negative,
            422,
            "duration_minutes",
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/admin/services",
            service("gewerbe", "K", &["buergerbuero"]),
            422,
            "ticket_prefix",
            "duplicate_ticket_prefix",
        ),
        (
            Method::POST,
            "/api/admin/services",
            service("gewerbe", "G", &["atlantis"]),
            422,
            "locations",
            "unknown_location",
        ),
        (
            Method::POST,
            "/api/admin/services",
            service("Gewerbe!", "G", &["buergerbuero"]),
            422,
            "id",
            "invalid_id",
        ),
        (
            Method::POST,
            "/api/admin/counters",
            counter("buergerbuero", &["kfz-abmeldung"]),
            422,
            "services",
            "unknown_service",
        ),
        (
            Method::POST,
            "/api/admin/counters",
            counter("atlantis", &["reisepass"]),
            422,
            "location",
            "unknown_location",
        ),
        (
            Method::POST,
            "/api/admin/locations",
            no_zone,
            422,
            "time_zone",
            "unknown_time_zone",
        ),
    ];
    for (i, (method, path, body, status, field, code)) in cases.into_iter().enumerate() {
        let (got, answer) = send(&app, &root, method, path, &body).await;
        assert_eq!(got, status, "case {i}: {answer}");
        assert_eq!(answer["error"], code, "case {i}: {answer}");
        assert_eq!(answer["field"], field, "case {i}: {answer}");
        assert!(!answer["message"].as_str().unwrap_or("").is_empty(), "case {i}");
    }
    let (status, answer) = send(
        &app,
        &root,
        Method::PUT,
        "/api/admin/locations/atlantis/schedule",
        &hours(&[(1, "08:00", "12:00", 1)]),
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "not_found");

    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "a refused edit stored something"
    );
    assert_eq!(app.staff_ok(&root, Method::GET, "/api/admin/setup").await, setup_before);
    app.stop().await;
}

async fn a_new_service_is_bookable_and_audited(db: TestDb) {
    let app = spawn_app(db).start().await;
    let root = admin(&app).await;
    let (status, answer) = send(
        &app,
        &root,
        Method::POST,
        "/api/admin/services",
        &service("gewerbe", "G", &["buergerbuero"]),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = send(
        &app,
        &root,
        Method::POST,
        "/api/admin/counters",
        &json!({"id": "buergerbuero-5", "location": "buergerbuero", "name": "5", "services": ["gewerbe"]}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // Every weekday 07:00–19:00, so the test finds a free time whenever it runs; five counters
    // now hold five appointments at a time.
    let all_week: Vec<(u8, &str, &str, u32)> = (1..=7).map(|d| (d, "07:00", "19:00", 5)).collect();
    let (status, answer) = send(
        &app,
        &root,
        Method::PUT,
        "/api/admin/locations/buergerbuero/schedule",
        &hours(&all_week),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // The same edit again changes nothing and records nothing.
    let head = app.store().head().await.unwrap();
    let (status, _) = send(
        &app,
        &root,
        Method::POST,
        "/api/admin/services",
        &service("gewerbe", "G", &["buergerbuero"]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.store().head().await.unwrap(), head);

    let (status, services) = app.get_json("/api/services?location=buergerbuero").await;
    assert_eq!(status, 200);
    assert!(
        services.as_array().unwrap().iter().any(|s| s["id"] == "gewerbe"),
        "{services}"
    );
    let business = Offer {
        location: "buergerbuero",
        service: "gewerbe",
    };
    let starts = app.free_starts_of(business, 3).await;
    assert!(!starts.is_empty(), "the new service has free times");
    let booked = app
        .booked(&BookingRequest {
            service: "gewerbe".into(),
            ..booking(&starts[0], "erika@example.org")
        })
        .await;
    assert_eq!(booked.service, "gewerbe");

    // From a day three weeks ahead, mornings only: the hours hold until the day before it.
    let first_short = chrono::Utc::now().date_naive() + chrono::Duration::days(21);
    let mut changed = hours(&all_week);
    let mornings: Vec<Value> = (1..=7)
        .map(|d| {
            json!({"weekday": d, "open": "07:00", "close": "12:00", "online_capacity": 5,
            "valid_from": first_short})
        })
        .collect();
    let opening = changed["opening"].as_array_mut().unwrap();
    for period in opening.iter_mut() {
        period["valid_until"] = json!(first_short - chrono::Duration::days(1));
    }
    opening.extend(mornings);
    let (status, answer) = send(
        &app,
        &root,
        Method::PUT,
        "/api/admin/locations/buergerbuero/schedule",
        &changed,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let hours_of_day = |from: chrono::NaiveDate| {
        let app = &app;
        async move {
            let (_, free) = app
                .get_json(&format!(
                    "/api/availability?location=buergerbuero&service=gewerbe&from={from}&days=7"
                ))
                .await;
            free["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["start"].as_str().unwrap()[11..16].to_owned())
                .collect::<Vec<_>>()
        }
    };
    let before = hours_of_day(first_short - chrono::Duration::days(7)).await;
    assert!(before.iter().any(|t| t.as_str() >= "12:00"), "{before:?}");
    let after = hours_of_day(first_short).await;
    assert!(
        !after.is_empty() && after.iter().all(|t| t.as_str() < "12:00"),
        "{after:?}"
    );

    let services_audit = app.staff_ok(&root, Method::GET, "/api/admin/audit?area=offices").await;
    let created = services_audit
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "gewerbe")
        .unwrap_or_else(|| panic!("the new service in the audit: {services_audit:#}"));
    assert_eq!(created["actor"], "staff:root");
    assert_eq!(created["before"], "");
    let hours_audit = app.staff_ok(&root, Method::GET, "/api/admin/audit?area=hours").await;
    let changed = hours_audit
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["actor"] == "staff:root");
    let changed = changed.unwrap_or_else(|| panic!("the admin's hours in the audit: {hours_audit:#}"));
    assert!(
        changed["after"].as_str().unwrap().contains("Su 07:00–19:00 (5 online"),
        "{changed}"
    );
    app.stop().await;
}

/// The pick-up counter goes; the next one would leave three online places for two counters
/// and is refused, naming why, with nothing stored.
async fn a_counter_goes_when_the_others_can_do_without_it(db: TestDb) {
    let app = spawn_app(db).start().await;
    let root = admin(&app).await;
    let (status, answer) = send(
        &app,
        &root,
        Method::DELETE,
        "/api/admin/counters/buergerbuero-9",
        &json!({}),
    )
    .await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")), "{answer}");
    let (status, answer) = send(
        &app,
        &root,
        Method::DELETE,
        "/api/admin/counters/buergerbuero-4",
        &json!({}),
    )
    .await;
    assert_eq!(status, 204, "{answer}");
    let setup = app.staff_ok(&root, Method::GET, "/api/admin/setup").await;
    let counters: Vec<&str> = setup["counters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["location"] == "buergerbuero")
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(counters, ["buergerbuero-1", "buergerbuero-2", "buergerbuero-3"]);

    let head = app.store().head().await.unwrap();
    let (status, answer) = send(
        &app,
        &root,
        Method::DELETE,
        "/api/admin/counters/buergerbuero-3",
        &json!({}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        (answer["error"].as_str(), answer["field"].as_str()),
        (Some("capacity_above_counters"), Some("id"))
    );
    assert_eq!(app.store().head().await.unwrap(), head, "nothing stored");

    let audit = app.staff_ok(&root, Method::GET, "/api/admin/audit?area=offices").await;
    let removed = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "buergerbuero-4")
        .unwrap_or_else(|| panic!("the removal in the audit: {audit:#}"));
    assert_eq!(
        (removed["actor"].as_str(), removed["after"].as_str()),
        (Some("staff:root"), Some(""))
    );
    assert!(
        removed["before"].as_str().unwrap().contains("ausweis-abholung"),
        "{removed}"
    );
    app.stop().await;
}

/// The admin drops a weekday with two appointments booked on it (kept), then withdraws the
/// service (cancelled with a message): each time the change is refused with the count until the
/// admin chooses, and only the cancelled ones are mailed and counted as cancelled by the office.
async fn fewer_hours_and_a_withdrawn_service_ask_about_the_bookings_first(db: TestDb) {
    let mail = SmtpSink::start().await;
    let app = spawn_app(db).mailing(&mail.url).start().await;
    let root = admin(&app).await;
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let starts = app.free_starts(3).await;
    let day = starts[0][..10].to_owned();
    let on_day: Vec<&String> = starts.iter().filter(|s| s.starts_with(&day)).collect();
    for (i, start) in [on_day[0], on_day[on_day.len() - 1]].into_iter().enumerate() {
        app.booked(&BookingRequest {
            name: format!("Bürger Nummer{i}"),
            ..booking(start, &format!("citizen{i}@example.org"))
        })
        .await;
    }
    assert_eq!(mail.wait_for(2, Duration::from_secs(10)).await.len(), 2);

    let mut hours = app.schedule_of(&root, "buergerbuero").await;
    let weekday: u32 = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .unwrap()
        .format("%u")
        .to_string()
        .parse()
        .unwrap();
    let opening = hours["opening"].as_array().unwrap().clone();
    hours["opening"] = json!(opening
        .into_iter()
        .filter(|o| o["weekday"] != weekday)
        .collect::<Vec<_>>());
    let path = "/api/admin/locations/buergerbuero/schedule";
    let head = app.store().head().await.unwrap();
    let (status, answer) = send(&app, &root, Method::PUT, path, &hours).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("bookings_affected")),
        "{answer}"
    );
    assert_eq!(answer["count"], 2);
    // The outbox may still be recording the confirmations' delivery; nothing else may land.
    let since: Vec<String> = app
        .store()
        .read_all(head, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.stream)
        .filter(|stream| !stream.starts_with("message-"))
        .collect();
    assert!(since.is_empty(), "nothing recorded without a choice: {since:?}");
    let (status, impact) = app.post_as(&format!("{path}/impact"), ("cookie", &root), &hours).await;
    assert_eq!(status, 200, "{impact}");
    assert_eq!(impact["bookings"].as_array().unwrap().len(), 2);
    assert!(!impact.to_string().contains("Nummer"), "no names: {impact}");
    hours["bookings"] = json!("keep");
    let (status, answer) = send(&app, &root, Method::PUT, path, &hours).await;
    assert_eq!((status, &answer), (200, &json!({"cancelled": 0, "kept": 2})));
    assert!(
        app.free_starts(3).await.iter().all(|s| !s.starts_with(&day)),
        "the weekday is gone"
    );

    let withdraw = "/api/admin/services/personalausweis/withdraw";
    let (status, answer) = app.post_as(withdraw, ("cookie", &root), &json!({})).await;
    assert_eq!((status, answer["count"].clone()), (409, json!(2)), "{answer}");
    let (status, impact) = app
        .post_as(&format!("{withdraw}/impact"), ("cookie", &root), &json!({}))
        .await;
    assert_eq!(
        (status, impact["bookings"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{impact}"
    );
    let note = "Personalausweise gibt es ab sofort im neuen Bürgerbüro Nord.";
    let body = json!({"bookings": "cancel", "message": note});
    let (status, answer) = app.post_as(withdraw, ("cookie", &root), &body).await;
    assert_eq!((status, &answer), (200, &json!({"cancelled": 2, "kept": 0})));
    let all = mail.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(all.len(), 4, "two confirmations, two cancellations");
    assert!(all[2..].iter().all(|m| decoded(m).contains(note)));
    let (_, services) = app.get_json("/api/services?location=buergerbuero").await;
    assert!(services
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["id"] != "personalausweis"));
    let counters = app.staff_ok(&root, Method::GET, "/api/admin/setup").await["counters"].clone();
    assert!(!counters.to_string().contains("personalausweis"), "no counter calls it");
    let boss = app.sign_in("boss", "statistics-2026").await;
    let figures = app.office_figures(&boss, &day, &day).await;
    assert_eq!(figures["cancellations_by_office"], 2, "{figures}");
    app.stop().await;
}

/// One place per unit online and one more for staff, and tomorrow kept for staff: a citizen
/// cannot take the clerk's place or tomorrow's times; the clerk can, once.
async fn the_staff_share_and_near_days_are_left_to_the_desk(db: TestDb) {
    let app = spawn_app(db).start().await;
    let root = admin(&app).await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let all_day: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "00:00", "close": "23:50", "online_capacity": 1, "staff_capacity": 1}))
        .collect();
    let mut hours = hours(&[]);
    hours["opening"] = json!(all_day);
    hours["staff_only_days"] = json!(2);
    hours["release_time"] = json!("07:00");
    let path = "/api/admin/locations/buergerbuero/schedule";
    let (status, answer) = send(&app, &root, Method::PUT, path, &hours).await;
    assert_eq!(status, 200, "{answer}");
    let setup = app.staff_ok(&root, Method::GET, "/api/admin/setup").await;
    assert!(setup.to_string().contains(r#""release_time":"07:00:00""#), "{setup}");

    // A time three days ahead: one place online, a second only for the desk.
    let start = app.free_starts(3).await[0].clone();
    let online = |email: &str| booking(&start, email);
    assert_eq!(app.book(&online("one@example.org")).await.0, 201);
    let (status, answer) = app.book(&online("two@example.org")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("slot_taken")),
        "{answer}"
    );
    let caller = |name: &str, at: &str| json!({"location": "buergerbuero", "service": "personalausweis", "start": at, "name": name, "channel": "phone"});
    let (status, answer) = app
        .post_as("/api/desk/bookings", ("cookie", &anna), &caller("Walter", &start))
        .await;
    assert_eq!(status, 201, "the clerk takes the staff share: {answer}");
    let (status, answer) = app
        .post_as("/api/desk/bookings", ("cookie", &anna), &caller("Wilma", &start))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("slot_taken")),
        "{answer}"
    );

    // Tomorrow is for the desk only, and the desk sees it.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let q = format!("location=buergerbuero&service=personalausweis&from={tomorrow}&days=1");
    let (_, citizens) = app.get_json(&format!("/api/availability?{q}")).await;
    assert!(citizens["slots"].as_array().unwrap().is_empty(), "{citizens}");
    let desk = app
        .staff_ok(&anna, Method::GET, &format!("/api/desk/availability?{q}"))
        .await;
    let first = desk["slots"][0]["start"]
        .as_str()
        .expect("the desk sees tomorrow's times")
        .to_owned();
    let (status, answer) = app.book(&online_at(&first)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("staff_only")),
        "{answer}"
    );
    let (status, answer) = app
        .post_as("/api/desk/bookings", ("cookie", &anna), &caller("Walter", &first))
        .await;
    assert_eq!(status, 201, "{answer}");
    app.stop().await;
}

fn online_at(start: &str) -> BookingRequest {
    booking(start, "three@example.org")
}

/// Every path under `/api/admin/` in the published API, with each of its methods.
async fn admin_endpoints(app: &TestApp) -> Vec<(Method, String)> {
    let (status, spec) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    let mut endpoints = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/admin/") {
            continue;
        }
        // Path parameters get a value of the right shape; the refusal comes before it is read.
        let concrete: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "buergerbuero" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            endpoints.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    endpoints
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_one_but_an_admin_reaches_an_admin_endpoint() {
    let app = spawn_app(TestDb::sqlite().await).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let desk = app.sign_in("anna", "counter-one-2026").await;
    let manager = app.sign_in("boss", "statistics-2026").await;
    let root = app.sign_in("root", "administrator-2026").await;
    let endpoints = admin_endpoints(&app).await;
    // Users, devices, setup (5), closures (2), audit (2), messages, demo outbox (2), export.
    assert!(endpoints.len() >= 17, "{endpoints:?}");
    for (method, path) in &endpoints {
        let request = || {
            app.client
                .request(method.clone(), format!("{}{path}", app.url))
                .json(&json!({}))
        };
        let (status, answer) = status_and_json(request()).await;
        assert_eq!(status, 401, "{method} {path} without a session: {answer}");
        for (who, cookie) in [("desk", &desk), ("manager", &manager)] {
            let (status, answer) = status_and_json(request().header("cookie", cookie)).await;
            assert_eq!(status, 403, "{method} {path} as {who}: {answer}");
            assert_eq!(answer["error"], "forbidden");
        }
        let (status, answer) = status_and_json(request().header("authorization", format!("Bearer {kiosk}"))).await;
        assert!(
            status == 401 || status == 403,
            "{method} {path} as a kiosk: {status} {answer}"
        );
        let (status, answer) = status_and_json(request().header("cookie", &root)).await;
        assert!(
            ![401, 403].contains(&status) && status < 500,
            "{method} {path} as admin: {status} {answer}"
        );
    }
    app.stop().await;
}

async fn type_into(browser: &schalter_tests::browser::Browser, css: &str, text: &str) {
    let input = browser.wait(css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// The admin in Chromium sets up a new service with a counter and one more opening period; the
/// forms name what is wrong as it is typed; then a citizen finds the service and books it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_a_service_in_the_browser() {
    use schalter_tests::browser::Browser;

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    // One ID card appointment, which withdrawing the service meets.
    let first = app.free_starts(3).await[0].clone();
    app.booked(&BookingRequest {
        proof: Some(app.proof().await),
        ..booking(&first, "citizen@example.org")
    })
    .await;
    for (width, height) in [(1280, 1000), (390, 844)] {
        let Some(browser) = Browser::launch(width, height).await else {
            return;
        };
        let a11y = |state: &'static str| browser.assert_accessible(state);
        browser
            .sign_in_at(&format!("{}/admin", app.url), "root", "administrator-2026")
            .await;
        browser.wait("#service-id").await;
        a11y("the setup forms").await;
        if width < 1000 {
            browser.set_value("#service-pick", "gewerbe", "change").await;
            browser.wait("#service-id[readonly]").await;
            type_into(&browser, "#service-duration_minutes", "0").await;
            browser.wait("#service-duration_minutes[aria-invalid=true]").await;
            a11y("a wrong duration on a phone").await;
            browser.screenshot("setup-390-service").await;
            let overflow = browser
                .client
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(overflow, json!(true), "no sideways scrolling at 390 px");
            browser.scroll_to("#hours-h").await;
            browser.screenshot("setup-390-hours").await;
            browser.close().await;
            continue;
        }
        type_into(&browser, "#service-id", "gewerbe").await;
        type_into(&browser, "#service-name-de", "Gewerbe anmelden").await;
        // Checked as it is typed: the first rule broken is named at its field.
        browser
            .wait("#service-locations.invalid #service-locations-error:not(:empty)")
            .await;
        browser.click("#service-locations-buergerbuero").await;
        type_into(&browser, "#service-duration_minutes", "0").await;
        let said = browser
            .wait("#service-duration_minutes-error")
            .await
            .text()
            .await
            .unwrap();
        assert!(said.contains("480"), "{said}");
        a11y("a wrong duration").await;
        browser.screenshot("setup-1280-service-wrong").await;
        type_into(&browser, "#service-duration_minutes", "20").await;
        type_into(&browser, "#service-ticket_prefix", "k").await;
        let said = browser.wait("#service-ticket_prefix-error").await.text().await.unwrap();
        assert!(said.contains("anderen Standorts"), "{said}");
        type_into(&browser, "#service-ticket_prefix", "G").await;
        type_into(&browser, "#service-name-en", "Register a business").await;
        browser
            .click("form[aria-labelledby=service-h] button[type=submit]")
            .await;
        browser.wait("[data-testid=service-saved]:not(:empty)").await;
        browser.screenshot("setup-1280-service-saved").await;

        // A counter that calls it: the new service is offered in the list at once.
        type_into(&browser, "#counter-id", "buergerbuero-5").await;
        type_into(&browser, "#counter-name", "5").await;
        browser.click("#counter-services-gewerbe").await;
        browser
            .click("form[aria-labelledby=counter-h] button[type=submit]")
            .await;
        browser.wait("[data-testid=counter-saved]:not(:empty)").await;

        // The new counter is the only one calling the new service, so it cannot go; the
        // pick-up counter can.
        let remove = "form[aria-labelledby=remove-counter-h] button[type=submit]";
        browser.click(remove).await;
        let said = browser
            .wait("form[aria-labelledby=remove-counter-h] [role=alert] p")
            .await
            .text()
            .await
            .unwrap();
        assert!(said.contains("anderen Schalter"), "{said}");
        a11y("a refused counter removal").await;
        browser.screenshot("setup-1280-counter-refused").await;
        browser.set_value("#counter-pick", "buergerbuero-4", "change").await;
        browser.wait("#counter-id[readonly]").await;
        browser.click(remove).await;
        browser.wait("[data-testid=counter-removed]:not(:empty)").await;

        // One more period: it starts on Friday morning, which already has one, so it is
        // refused until it is moved to Saturday.
        browser.click("#hours-add").await;
        browser.wait("#hours-opening-8-open[aria-invalid=true]").await;
        let said = browser.wait("#hours-opening-error").await.text().await.unwrap();
        assert!(
            said.starts_with("Zeitraum 9: ") && said.contains("überschneidet"),
            "{said}"
        );
        a11y("overlapping hours").await;
        browser.screenshot("setup-1280-hours-overlap").await;
        browser.set_value("#hours-opening-8-weekday", "6", "change").await;
        browser.wait("#hours-opening-8-open[aria-invalid=false]").await;
        browser.click("form[aria-labelledby=hours-h] button[type=submit]").await;
        browser.wait("[data-testid=hours-saved]:not(:empty)").await;
        a11y("saved hours").await;
        browser.screenshot("setup-1280-hours-saved").await;

        // Only who missed appointments lately confirms by email: checked as it is typed.
        type_into(&browser, "#hours-confirm_after_no_shows", "0").await;
        let said = browser
            .wait("#hours-confirm_after_no_shows-error")
            .await
            .text()
            .await
            .unwrap();
        assert!(said.contains("1 to 10") || said.contains("1 bis 10"), "{said}");
        type_into(&browser, "#hours-confirm_after_no_shows", "2").await;
        type_into(&browser, "#hours-no_show_days", "60").await;
        browser.wait("#hours-confirm_after_no_shows[aria-invalid=false]").await;
        browser.click("form[aria-labelledby=hours-h] button[type=submit]").await;
        browser.wait("[data-testid=hours-saved]:not(:empty)").await;
        a11y("the no-show rule").await;
        browser.scroll_to("#hours-confirm_within_minutes").await;
        browser.screenshot("setup-1280-no-show-rule").await;
        let root = app.sign_in("root", "administrator-2026").await;
        let kept = app.schedule_of(&root, "buergerbuero").await;
        assert_eq!(
            (&kept["confirm_after_no_shows"], &kept["no_show_days"]),
            (&json!(2), &json!(60))
        );

        // Withdrawing the ID card shows the appointment it meets and asks what becomes of it.
        browser.set_value("#service-pick", "personalausweis", "change").await;
        browser
            .click("form[aria-labelledby=withdraw-h] button[type=submit]")
            .await;
        let met = browser.wait("[data-testid=withdraw-met]").await.text().await.unwrap();
        assert!(met.ends_with(": 1"), "{met}");
        a11y("a withdrawal meeting an appointment").await;
        browser.screenshot("setup-1280-withdraw").await;
        browser.click("#withdraw-cancel").await;
        type_into(&browser, "#withdraw-message", "Bitte buchen Sie im Bürgerbüro Nord.").await;
        browser
            .click("form[aria-labelledby=withdraw-h] button[type=submit]")
            .await;
        browser.wait("[data-testid=withdraw-done]:not(:empty)").await;

        // The citizen's start page lists the new service.
        browser.client.goto(&app.url).await.unwrap();
        let listed = browser.wait("main").await;
        eventually(
            "the new service on the start page",
            std::time::Duration::from_secs(5),
            async || {
                let shown = listed.text().await.unwrap();
                let there = shown.contains("Gewerbe anmelden");
                when(shown, there)
            },
        )
        .await;
        // And the citizen books it with the clicks anyone would make.
        browser.click("li[data-service=gewerbe] a.button").await;
        browser.wait("a.day").await;
        let days = browser.client.find_all(Locator::Css("a.day")).await.unwrap();
        days[days.len().min(4) - 1].click().await.unwrap();
        browser.click("a.time").await;
        type_into(&browser, "#name", "Erika Mustermann").await;
        type_into(&browser, "#email", "erika@example.org").await;
        browser.click("#consent").await;
        browser.click("button.primary").await;
        let code = browser.wait("[data-testid=booking-code]").await.text().await.unwrap();
        assert_eq!(code.len(), 19, "{code}");
        browser.screenshot("setup-1280-citizen-booked").await;
        browser.close().await;
    }
    let setup = {
        let root = app.sign_in("root", "administrator-2026").await;
        app.staff_ok(&root, Method::GET, "/api/admin/setup").await
    };
    let saturday = setup["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"]["id"] == "buergerbuero")
        .map(|l| {
            l["schedule"]["opening"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["weekday"] == 6)
        })
        .unwrap();
    assert!(saturday, "{setup:#}");
    let counter = setup["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "buergerbuero-5")
        .cloned();
    assert_eq!(counter.unwrap()["services"], json!(["gewerbe"]));
    let ids: Vec<&str> = setup["counters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"buergerbuero-4"), "removed: {ids:?}");
    let (_, services) = app.get_json("/api/services?location=buergerbuero").await;
    assert!(
        services
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != "personalausweis"),
        "withdrawn"
    );
    // The citizen's booking is in the log, for the new service.
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let made = events
        .iter()
        .filter(|e| e.event_type == "BookingPlaced" && e.data["service"] == "gewerbe")
        .count();
    assert_eq!(made, 1, "one booking of the new service");
    app.stop().await;
}

/// Accounts and devices in Chromium: a new clerk account, deactivated and reactivated; a kiosk
/// registered with its pairing link and QR code, then revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_accounts_and_devices_in_the_browser() {
    use schalter_tests::browser::Browser;

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let Some(browser) = Browser::launch(1280, 1000).await else {
        return;
    };
    browser
        .sign_in_at(&format!("{}/admin", app.url), "root", "administrator-2026")
        .await;
    type_into(&browser, "#account-username", "berta").await;
    type_into(&browser, "#account-password", "first-password-1").await;
    browser
        .click("form[aria-labelledby=new-account-h] button[type=submit]")
        .await;
    browser.wait("[data-testid=accounts-notice]:not(:empty)").await;
    let table = browser.wait("[data-testid=accounts-table]").await.text().await.unwrap();
    assert!(table.contains("berta") && table.contains("Schalterdienst"), "{table}");
    browser.click("button[aria-label='Deaktivieren berta']").await;
    browser.wait("button[aria-label='Reaktivieren berta']").await;
    let (status, _) = app
        .post_json(
            "/api/auth/login",
            &json!({"username": "berta", "password": "first-password-1"}),
        )
        .await;
    assert_eq!(status, 401, "a deactivated account cannot sign in");
    browser.click("button[aria-label='Reaktivieren berta']").await;
    browser.wait("button[aria-label='Deaktivieren berta']").await;

    browser.set_value("#device-role", "display", "change").await;
    browser
        .click("form[aria-labelledby=new-device-h] button[type=submit]")
        .await;
    browser.wait("[data-testid=device-added] .device-qr svg").await;
    let link = browser.wait("#device-link").await.prop("value").await.unwrap().unwrap();
    assert!(
        link.starts_with(&format!("{}/display/buergerbuero?token=display-", app.url)),
        "{link}"
    );
    browser.assert_accessible("a device just registered").await;
    browser.scroll_to("#devices-h").await;
    browser.screenshot("admin-1280-devices").await;
    // The pairing link works once opened on the screen.
    let token = link.split("token=").nth(1).unwrap();
    let (status, me) = status_and_json(
        app.client
            .get(format!("{}/api/devices/me", app.url))
            .header("authorization", format!("Bearer {token}")),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let id = me["id"].as_str().unwrap().to_owned();
    browser.click(&format!("button[aria-label='Sperren {id}']")).await;
    let revoked = format!("{}/api/devices/me", app.url);
    eventually("the revoked screen refused", Duration::from_secs(5), async || {
        let r = app
            .client
            .get(&revoked)
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        when(r.status().as_u16(), r.status() == 401)
    })
    .await;
    browser.close().await;
    app.stop().await;
}

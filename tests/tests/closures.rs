//! Closing an office for a time in the browser's API: the bookings it meets are shown first
//! (no names), nothing is recorded without the admin's choice, and "cancel" tells each
//! citizen by email (and SMS where they left a number) with the admin's text and a link to
//! book again; the statistics count those cancellations as the office's.

use std::time::Duration;

use reqwest::Method;
use schalter_events::api::{BookingRequest, BookingView};
use schalter_server::jobs::outbox::{MailSettings, MessageSettings};
use schalter_tests::app::{add_device, add_user, cli, status_and_json, texting};
use schalter_tests::citizen::booking;
use schalter_tests::sms::SmsSink;
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    closing_a_day_cancels_its_bookings_only_when_the_admin_says_so,
    an_afternoon_closed_keeps_the_morning_and_the_kept_bookings,
    closures_survive_export_and_import
);

const CLOSURES: &str = "/api/admin/locations/buergerbuero/closures";
const NOTE: &str = "Wegen einer Personalversammlung bleibt das Bürgerbüro an diesem Tag geschlossen.";

/// The first day from three days on with at least `n` free starts for the ID card, and those
/// starts, `step` apart in the list (so that bookings never share a place).
async fn day_with(app: &TestApp, n: usize, step: usize) -> (String, Vec<String>) {
    let starts = app.free_starts(3).await;
    let mut days: Vec<&str> = starts.iter().map(|s| &s[..10]).collect();
    days.dedup();
    for day in days {
        let on_day: Vec<String> = starts.iter().filter(|s| s.starts_with(day)).cloned().collect();
        let picked: Vec<String> = on_day.iter().step_by(step).take(n).cloned().collect();
        if picked.len() == n {
            return (day.to_owned(), picked);
        }
    }
    panic!("no day with {n} free starts: {starts:?}");
}

async fn book(app: &TestApp, start: &str, i: usize, phone: Option<&str>) -> BookingView {
    app.booked(&BookingRequest {
        name: format!("Bürgerin Nummer{i}"),
        phone: phone.map(str::to_owned),
        ..booking(start, &format!("citizen{i}@example.org"))
    })
    .await
}

async fn close(app: &TestApp, cookie: &str, body: &Value) -> (u16, Value) {
    app.post_as(CLOSURES, ("cookie", cookie), body).await
}

async fn head(app: &TestApp) -> i64 {
    app.get_json("/api/health").await.1["head"].as_i64().unwrap()
}

async fn free_on(app: &TestApp, day: &str) -> Vec<String> {
    app.free_starts(3)
        .await
        .into_iter()
        .filter(|s| s.starts_with(day))
        .collect()
}

async fn closing_a_day_cancels_its_bookings_only_when_the_admin_says_so(db: TestDb) {
    let mail = SmtpSink::start().await;
    let sms = SmsSink::start().await;
    let settings = MessageSettings {
        mail: Some(MailSettings {
            smtp_url: mail.url.clone(),
            from: "Bürgerservice <noreply@schalter.test>".into(),
        }),
        ..texting(&sms.url, 24)
    };
    let app = spawn_app(db).messages(settings).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let root = app.sign_in("root", "administrator-2026").await;

    let (day, starts) = day_with(&app, 5, 4).await;
    let mut codes = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let phone = (i == 0).then_some("0151 2345 6789");
        codes.push(book(&app, start, i, phone).await.code.unwrap());
    }
    assert_eq!(
        mail.wait_for(5, Duration::from_secs(10)).await.len(),
        5,
        "the confirmations"
    );
    let closure = json!({"from": day, "to": day, "reason": {"de": "Personalversammlung", "en": "Staff meeting"}});

    // Every role but admin is refused, and no session at all.
    for who in ["anna", "boss"] {
        let password = if who == "anna" {
            "counter-one-2026"
        } else {
            "statistics-2026"
        };
        let cookie = app.sign_in(who, password).await;
        assert_eq!(close(&app, &cookie, &closure).await.0, 403, "{who}");
        let impact = format!("{CLOSURES}/impact");
        assert_eq!(app.post_as(&impact, ("cookie", &cookie), &closure).await.0, 403);
    }
    let as_kiosk = format!("Bearer {kiosk}");
    assert_eq!(
        app.post_as(CLOSURES, ("authorization", &as_kiosk), &closure).await.0,
        401
    );
    assert_eq!(app.post_json(CLOSURES, &closure).await.0, 401);

    // Wrong closures name their field; none is recorded.
    let before = head(&app).await;
    let past = (chrono::Utc::now() - chrono::Duration::days(2))
        .date_naive()
        .to_string();
    for (body, field) in [
        (
            json!({"from": day, "to": "2020-01-01", "reason": {"de": "x", "en": ""}}),
            "to",
        ),
        (
            json!({"from": day, "to": day, "from_time": "13:00", "until_time": "12:00", "reason": {"de": "x", "en": ""}}),
            "until_time",
        ),
        (
            json!({"from": day, "to": day, "reason": {"de": " ", "en": "x"}}),
            "reason",
        ),
        (json!({"from": past, "to": past, "reason": {"de": "x", "en": ""}}), "to"),
        (
            json!({"from": day, "to": day, "reason": {"de": "x", "en": ""}, "bookings": "cancel"}),
            "message",
        ),
    ] {
        let (status, answer) = close(&app, &root, &body).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some(field)),
            "{body}: {answer}"
        );
    }
    let (status, answer) = close(&app, &root, &json!({"from": day, "to": day})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("invalid_body")),
        "{answer}"
    );
    let (status, answer) = close(
        &app,
        &root,
        &json!({"from": "9.12.", "to": day, "reason": {"de": "x", "en": ""}}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("invalid_body")),
        "{answer}"
    );
    let unknown = app
        .post_as("/api/admin/locations/nowhere/closures", ("cookie", &root), &closure)
        .await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);

    // What it would meet: times and services, no names.
    let (status, impact) = app
        .post_as(&format!("{CLOSURES}/impact"), ("cookie", &root), &closure)
        .await;
    assert_eq!(status, 200, "{impact}");
    let met: Vec<&str> = impact["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    assert_eq!(met, starts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!impact.to_string().contains("Nummer"), "no names: {impact}");

    // No choice: 409 with the count, nothing recorded.
    let (status, refused) = close(&app, &root, &closure).await;
    assert_eq!(
        (status, refused["error"].as_str(), refused["count"].as_u64()),
        (409, Some("bookings_affected"), Some(5))
    );
    assert_eq!(head(&app).await, before, "nothing recorded by any refusal");
    assert!(!free_on(&app, &day).await.is_empty());

    let mut cancel = closure.clone();
    cancel["bookings"] = json!("cancel");
    cancel["message"] = json!(NOTE);
    let (status, done) = close(&app, &root, &cancel).await;
    assert_eq!((status, &done), (201, &json!({"cancelled": 5, "kept": 0})), "{done}");

    // Exactly five more mails, each with the admin's text and a link to book again.
    let all = mail.wait_for(10, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        mail.wait_for(11, Duration::ZERO).await.len(),
        10,
        "one message per cancelled booking"
    );
    let cancellations: Vec<String> = all[5..].iter().map(|m| decoded(m)).collect();
    for (i, text) in cancellations.iter().enumerate() {
        assert!(text.contains("Termin vom Amt abgesagt"), "{text}");
        assert!(text.contains(NOTE), "{text}");
        assert!(text.contains("Neuen Termin buchen: http://schalter.test/"), "{text}");
        assert!(text.contains("method=CANCEL"), "the calendar entry goes: {text}");
        assert!(
            cancellations
                .iter()
                .filter(|t| t.contains(&format!("citizen{i}@")))
                .count()
                == 1
        );
    }
    let texts = sms.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(texts.len(), 1, "the one citizen who left a number: {texts:?}");
    let sms_text = texts[0].body["text"].as_str().unwrap();
    assert!(
        sms_text.contains(NOTE) && sms_text.contains("http://schalter.test/"),
        "{sms_text}"
    );

    // The places are gone, the bookings cancelled, the figures the office's.
    assert!(free_on(&app, &day).await.is_empty(), "the day is closed");
    for code in &codes {
        let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
        assert_eq!(view["status"], "cancelled", "{view}");
    }
    let boss = app.sign_in("boss", "statistics-2026").await;
    let figures = app.office_figures(&boss, &day, &day).await;
    assert_eq!(
        (&figures["cancellations"], &figures["cancellations_by_office"]),
        (&json!(5), &json!(5)),
        "{figures}"
    );
    app.stop().await;
}

async fn an_afternoon_closed_keeps_the_morning_and_the_kept_bookings(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    // Eight starts apart: the first appointment ends before the second begins.
    let (day, starts) = day_with(&app, 2, 8).await;
    // Closed from the second start on: the first stays open, the second is met.
    let from_time = &starts[1][11..16];
    let kept = book(&app, &starts[1], 1, None).await.code.unwrap();
    let closure = json!({
        "from": day, "to": day, "from_time": from_time,
        "reason": {"de": "Krankheit", "en": "Illness"}, "bookings": "keep"
    });
    let (status, done) = close(&app, &root, &closure).await;
    assert_eq!((status, &done), (201, &json!({"cancelled": 0, "kept": 1})), "{done}");
    let free = free_on(&app, &day).await;
    assert!(free.contains(&starts[0]), "the morning is open: {free:?}");
    assert!(
        free.iter().all(|s| s[11..16] < *from_time),
        "nothing from {from_time}: {free:?}"
    );
    let (_, view) = app.get_json(&format!("/api/bookings/{kept}")).await;
    assert_eq!(view["status"], "confirmed", "kept: {view}");
    // Booking into the closed hours is refused like any closed time.
    let (status, answer) = app
        .book(&BookingRequest {
            start: starts[1].clone().into(),
            ..booking(&starts[1], "late@example.org")
        })
        .await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("closed")), "{answer}");
    app.stop().await;
}

/// The ill-clerk morning in Chromium: the admin closes the afternoon, sees the two appointments
/// it meets (no names), cancels them with a message, and both citizens are mailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_closes_an_afternoon_in_the_browser() {
    use schalter_tests::browser::Browser;

    let mail = SmtpSink::start().await;
    let Some(app) = spawn_app(TestDb::sqlite().await)
        .mailing(&mail.url)
        .start_with_ui()
        .await
    else {
        return;
    };
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let (day, starts) = day_with(&app, 3, 8).await;
    // The first start stays open; the afternoon from the second on is closed.
    // The page runs with the abuse protection on: each booking brings its proof of work.
    for (i, start) in starts[1..].iter().enumerate() {
        app.booked(&BookingRequest {
            name: format!("Bürgerin Nummer{i}"),
            proof: Some(app.proof().await),
            ..booking(start, &format!("citizen{i}@example.org"))
        })
        .await;
    }
    assert_eq!(mail.wait_for(2, Duration::from_secs(10)).await.len(), 2);
    let from_time = &starts[1][11..16];

    for (width, height) in [(1280, 1000), (390, 844)] {
        let Some(browser) = Browser::launch(width, height).await else {
            return;
        };
        let a11y = |state: &'static str| browser.assert_accessible(state);
        browser
            .sign_in_at(&format!("{}/admin", app.url), "root", "administrator-2026")
            .await;
        browser.wait("#closure-from").await;
        a11y("the closure form").await;
        if width < 1000 {
            // The phone: the form fits and checks the reason before asking the server.
            browser.set_value("#closure-from", &day, "input").await;
            browser.click("form.closure-form button[type=submit]").await;
            browser.wait("#closure-reason[aria-invalid=true]").await;
            a11y("a reason missing").await;
            browser.screenshot("closure-390-reason-missing").await;
            let overflow = browser
                .client
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(overflow, json!(true), "no sideways scrolling at 390 px");
            browser.close().await;
            continue;
        }
        browser.set_value("#closure-from", &day, "input").await;
        browser.set_value("#closure-from_time", from_time, "input").await;
        browser
            .wait("#closure-reason")
            .await
            .send_keys("Krankheit")
            .await
            .unwrap();
        browser.click("form.closure-form button[type=submit]").await;
        let count = browser.wait("[data-testid=closure-met]").await.text().await.unwrap();
        assert!(count.starts_with("2 "), "{count}");
        let listed = browser.wait(".closure-met").await.text().await.unwrap();
        assert!(!listed.contains("Nummer"), "no names: {listed}");
        a11y("the appointments met").await;
        browser.screenshot("closure-1280-impact").await;
        // Nothing is chosen for them yet: the page asks first.
        browser.click("form.closure-form button[type=submit]").await;
        browser.wait(".error p").await;
        browser.click("#closure-cancel").await;
        browser.wait("#closure-message").await.send_keys(NOTE).await.unwrap();
        a11y("cancel with a message").await;
        browser.screenshot("closure-1280-cancel").await;
        browser.click("form.closure-form button[type=submit]").await;
        let done = browser.wait("[data-testid=closure-done]").await.text().await.unwrap();
        assert!(done.contains("2 Termine abgesagt"), "{done}");
        browser.screenshot("closure-1280-done").await;
        // The audit log names who closed it, with the time closed.
        browser.client.goto(&format!("{}/admin", app.url)).await.unwrap();
        let table = browser.wait("[data-testid=audit-table]").await.text().await.unwrap();
        assert!(table.contains("staff:root") && table.contains("Krankheit"), "{table}");
        browser.scroll_to("#audit-h").await;
        a11y("the audit log").await;
        browser.screenshot("closure-1280-audit").await;
        browser.close().await;
    }
    let all = mail.wait_for(4, Duration::from_secs(15)).await;
    assert_eq!(all.len(), 4, "two confirmations, two cancellations");
    assert!(all[2..].iter().all(|m| decoded(m).contains(NOTE)));
    let free = free_on(&app, &day).await;
    assert!(
        free.contains(&starts[0]) && !free.iter().any(|s| s[11..16] >= *from_time),
        "{free:?}"
    );
    app.stop().await;
}

/// Every service's free times at every office for 60 days from tomorrow, as citizens see them.
async fn all_availability(app: &TestApp) -> Vec<Value> {
    let (_, services) = app.get_json("/api/services").await;
    let from = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let mut all = Vec::new();
    for s in services.as_array().unwrap() {
        let service = s["id"].as_str().unwrap();
        for location in s["locations"].as_array().unwrap() {
            let location = location.as_str().unwrap();
            let (status, availability) = app
                .get_json(&format!(
                    "/api/availability?location={location}&service={service}&from={from}&days=60"
                ))
                .await;
            if status == 200 {
                all.push(availability);
            }
        }
    }
    all
}

/// The closures an admin made are part of the exported configuration: imported into an empty
/// database, the next 60 days offer exactly the same times.
async fn closures_survive_export_and_import(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let (day, starts) = day_with(&app, 2, 8).await;
    let later = (chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap() + chrono::Duration::days(7)).to_string();
    for closure in [
        json!({"from": day, "to": day, "from_time": &starts[1][11..16], "reason": {"de": "Krankheit", "en": "Illness"}}),
        json!({"from": later, "to": later, "reason": {"de": "Betriebsausflug", "en": "Staff outing"}}),
    ] {
        let (status, answer) = close(&app, &root, &closure).await;
        assert_eq!(status, 201, "{answer}");
    }
    // And hours that change in a month, a staff share, a release time and a near day for staff.
    let setup = app.staff_ok(&root, Method::GET, "/api/admin/setup").await;
    let mut hours = setup["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"]["id"] == "buergerbuero")
        .map(|l| l["schedule"].clone())
        .unwrap();
    let change = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let opening = hours["opening"].as_array_mut().unwrap();
    let mut later = opening[0].clone();
    later["close"] = json!("11:00");
    opening[0]["valid_until"] = json!(change);
    later["valid_from"] = json!((chrono::Utc::now().date_naive() + chrono::Duration::days(31)).to_string());
    opening[1]["online_capacity"] = json!(2);
    opening[1]["staff_capacity"] = json!(1);
    opening.push(later);
    hours["release_time"] = json!("07:00");
    hours["staff_only_days"] = json!(1);
    hours["bookings"] = json!("keep");
    let (status, answer) = status_and_json(
        app.client
            .put(format!("{}/api/admin/locations/buergerbuero/schedule", app.url))
            .header("cookie", &root)
            .json(&hours),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let before = all_availability(&app).await;
    assert!(before.len() >= 5, "{} offers", before.len());

    let exported = cli(&["export-config", "--database-url", &app.db.url]);
    assert!(
        exported.contains("from_time")
            && exported.contains("Betriebsausflug")
            && exported.contains("valid_from")
            && exported.contains("staff_capacity"),
        "{exported}"
    );
    let copy = TestDb::sqlite().await;
    let file = copy.sqlite_path().unwrap().with_file_name("exported.toml");
    std::fs::write(&file, &exported).unwrap();
    cli(&["import-config", "--database-url", &copy.url, file.to_str().unwrap()]);
    let imported = spawn_app(copy).without_demo().start().await;
    let after = all_availability(&imported).await;
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a, b, "{} at {}", b["service"], b["location"]);
    }
    imported.stop().await;
    app.stop().await;
}

/// Bookings for a day pour in through two servers while an admin closes that day through one of
/// them: whichever server decided a booking before it had seen the closure, when all is done no
/// appointment on the day is still active, and every booking refused was refused as `closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookings_racing_a_closure_on_two_servers_end_cancelled_or_refused() {
    let Some(db) = TestDb::postgres().await else { return };
    let app = spawn_app(db).start().await;
    let peer = app.peer(8).await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let (day, starts) = day_with(&app, 24, 1).await;
    let closure = json!({
        "from": day, "to": day, "reason": {"de": "Wasserschaden", "en": "Water damage"},
        "bookings": "cancel", "message": NOTE
    });
    let mut racing = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let base = if i % 2 == 0 { app.url.clone() } else { peer.url.clone() };
        let request = BookingRequest {
            name: format!("Eilige Nummer{i}"),
            ..booking(start, &format!("racer{i}@example.org"))
        };
        racing.push(tokio::spawn(async move {
            schalter_tests::citizen::book(&reqwest::Client::new(), &base, &request).await
        }));
        if i == starts.len() / 3 {
            let (status, answer) = close(&app, &root, &closure).await;
            assert_eq!(status, 201, "{answer}");
        }
    }
    let mut codes = Vec::new();
    for task in racing {
        let (status, body) = task.await.unwrap();
        match status {
            201 => codes.push(body["code"].as_str().unwrap().to_owned()),
            422 => assert_eq!(body["error"], "closed", "{body}"),
            409 => assert_eq!(body["error"], "slot_taken", "{body}"),
            _ => panic!("{status}: {body}"),
        }
    }
    for code in &codes {
        let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
        assert_eq!(
            view["status"], "cancelled",
            "acknowledged on a closed day and left: {view}"
        );
    }
    assert!(free_on(&app, &day).await.is_empty());
    let on_peer = schalter_tests::citizen::free_starts(
        &reqwest::Client::new(),
        &peer.url,
        schalter_tests::citizen::ID_CARD,
        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap(),
        1,
    )
    .await;
    assert!(on_peer.is_empty(), "{on_peer:?}");
    peer.stop().await;
    app.stop().await;
}

//! Booking on behalf of a caller: the desk books for someone on the phone or at the counter,
//! with only a name if that is all they give; the code is read out, mail goes only where an
//! address was given, and the statistics count the channel.

use std::time::Duration;

use schalter_tests::app::{add_device, add_user, status_and_json};
use schalter_tests::citizen::ID_CARD;
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::{eventually, on_both_backends, spawn_app, when, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    the_desk_books_for_callers_without_internet,
    the_desk_moves_and_cancels_a_callers_booking
);

const DESK_BOOKINGS: &str = "/api/desk/bookings";

async fn book_for(app: &TestApp, cookie: &str, body: &Value) -> (u16, Value) {
    app.post_as(DESK_BOOKINGS, ("cookie", cookie), body).await
}

/// A citizen booked online and calls: the clerk looks the booking up by its code, moves it to
/// another time and later cancels it; the booking's history names the clerk.
async fn the_desk_moves_and_cancels_a_callers_booking(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let starts = app.free_starts(3).await;
    let booked = app
        .booked(&schalter_tests::citizen::booking(&starts[0], "caller@example.org"))
        .await;
    let code = booked.code.unwrap();
    let path = format!("{DESK_BOOKINGS}/{code}");
    let found = app.staff_ok(&anna, reqwest::Method::GET, &path).await;
    assert_eq!(
        (found["start"].as_str(), found["status"].as_str()),
        (Some(starts[0].as_str()), Some("confirmed"))
    );

    let (status, moved) = app
        .post_as(
            &format!("{path}/reschedule"),
            ("cookie", &anna),
            &json!({"start": starts[3]}),
        )
        .await;
    assert_eq!(
        (status, moved["start"].as_str()),
        (200, Some(starts[3].as_str())),
        "{moved}"
    );
    assert_eq!(app.free_at(ID_CARD, &starts[0]).await, 3, "the old time is free again");
    let (status, _) = status_and_json(app.client.delete(format!("{}{path}", app.url))).await;
    assert_eq!(status, 401, "only staff");
    let (status, cancelled) =
        status_and_json(app.client.delete(format!("{}{path}", app.url)).header("cookie", &anna)).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );

    let root = app.sign_in("root", "administrator-2026").await;
    let export = app
        .staff_ok(
            &root,
            reqwest::Method::GET,
            &format!("/api/admin/bookings/{code}/export"),
        )
        .await;
    let by: Vec<&str> = export["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["by"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(by[1..], ["staff:anna", "staff:anna"], "{export:#}");
    app.stop().await;
}

async fn the_desk_books_for_callers_without_internet(db: TestDb) {
    let mail = SmtpSink::start().await;
    let app = spawn_app(db).mailing(&mail.url).start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let starts = app.free_starts(3).await;
    let caller = |start: &str, channel: &str| {
        json!({
            "location": ID_CARD.location, "service": ID_CARD.service, "start": start,
            "name": "Walter Ohnenetz", "channel": channel
        })
    };

    // On the phone, a name only: the code and the kiosk number to read out.
    let free_before = app.free_at(ID_CARD, &starts[0]).await;
    let (status, phoned) = book_for(&app, &anna, &caller(&starts[0], "phone")).await;
    assert_eq!(status, 201, "{phoned}");
    let code = phoned["code"].as_str().expect("the code to read out").to_owned();
    assert_eq!(phoned["check_in_number"].as_str().map(str::len), Some(5), "{phoned}");
    assert_eq!(phoned["status"], "confirmed", "nothing to confirm by email: {phoned}");
    // At the counter, with an address: the confirmation goes there.
    let mut with_mail = caller(&starts[4], "desk");
    with_mail["email"] = json!("walter@example.org");
    let (status, counter) = book_for(&app, &anna, &with_mail).await;
    assert_eq!(status, 201, "{counter}");
    let sent = mail.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        mail.wait_for(2, Duration::ZERO).await.len(),
        1,
        "no mail without an address"
    );
    assert!(decoded(&sent[0]).contains("To: walter@example.org"));
    let (status, view) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!((status, &view["status"]), (200, &json!("confirmed")), "{view}");
    assert_eq!(
        app.free_at(ID_CARD, &starts[0]).await,
        free_before - 1,
        "the place is taken"
    );

    // Wrong details name their field; nothing is booked.
    let mut nameless = caller(&starts[8], "phone");
    nameless["name"] = json!("  ");
    let mut bad_mail = caller(&starts[8], "phone");
    bad_mail["email"] = json!("walter at home");
    let mut bad_phone = caller(&starts[8], "phone");
    bad_phone["phone"] = json!("call me");
    for (body, field) in [(nameless, "name"), (bad_mail, "email"), (bad_phone, "phone")] {
        let (status, answer) = book_for(&app, &anna, &body).await;
        assert_eq!((status, answer["field"].as_str()), (422, Some(field)), "{answer}");
    }
    let mut unknown = caller(&starts[8], "letter");
    let (status, answer) = book_for(&app, &anna, &unknown).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("invalid_body")),
        "{answer}"
    );
    unknown["channel"] = json!("phone");
    unknown["privacy_accepted"] = json!(true);
    assert_eq!(
        book_for(&app, &anna, &unknown).await.0,
        422,
        "no fields beyond the caller's"
    );

    // The desk's (and admins') business only.
    let boss = app.sign_in("boss", "statistics-2026").await;
    assert_eq!(book_for(&app, &boss, &caller(&starts[8], "phone")).await.0, 403);
    let as_kiosk = format!("Bearer {kiosk}");
    let body = caller(&starts[8], "phone");
    assert_eq!(
        app.post_as(DESK_BOOKINGS, ("authorization", &as_kiosk), &body).await.0,
        401
    );
    assert_eq!(app.post_json(DESK_BOOKINGS, &body).await.0, 401);

    // The statistics count how each appointment was booked.
    let (from, to) = (&starts[0][..10], &starts[4][..10]);
    let f = app.office_figures(&boss, from, to).await;
    assert_eq!(
        (&f["bookings_phone"], &f["bookings_desk"], &f["bookings_online"]),
        (&json!(1), &json!(1), &json!(0)),
        "{f}"
    );
    app.stop().await;
}

/// A clerk books for a caller on the phone with the keyboard alone and reads out the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clerk_books_for_a_caller_with_the_keyboard() {
    use fantoccini::key::Key;
    use schalter_tests::browser::Browser;
    use schalter_tests::keyboard::{press, tab_to};

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    // Open around the clock, so the first free time is today or tomorrow whenever this runs:
    // the day's list shows those two days.
    let root = app.sign_in("root", "administrator-2026").await;
    let all_day: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "00:00", "close": "23:50", "online_capacity": 3}))
        .collect();
    let hours = json!({"unit_minutes": 10, "region": "rhineland-palatinate", "opening": all_day,
        "booking_window_days": 60, "min_lead_minutes": 60, "max_active_per_email": 2});
    let (status, answer) = status_and_json(
        app.client
            .put(format!("{}/api/admin/locations/buergerbuero/schedule", app.url))
            .header("cookie", &root)
            .json(&hours),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for (width, height) in [(1280, 1000), (390, 844)] {
        let Some(browser) = Browser::launch(width, height).await else {
            return;
        };
        let a11y = |state: &'static str| browser.assert_accessible(state);
        let c = &browser.client;
        c.goto(&format!("{}/desk", app.url)).await.unwrap();
        browser.wait("#username").await.send_keys("anna").await.unwrap();
        browser
            .wait("#password")
            .await
            .send_keys("counter-one-2026")
            .await
            .unwrap();
        press(c, Key::Enter).await;
        // The office first, as every morning at a new workstation.
        browser.wait(".desk-pick select option[value=buergerbuero]").await;
        tab_to(c, ".desk-pick select").await;
        press(c, Key::Down).await;
        tab_to(c, ".caller-booking summary").await;
        press(c, Key::Enter).await;
        tab_to(c, "#caller-service").await;
        press(c, Key::Down).await;
        let first_time = browser.wait("#caller-start option:nth-child(2)").await;
        // Each time is given with its office: `office|start`.
        let value = first_time.attr("value").await.unwrap().unwrap();
        let start = value.split_once('|').expect("office|start").1.to_owned();
        tab_to(c, "#caller-start").await;
        press(c, Key::Down).await;
        a11y("the caller form").await;
        tab_to(c, "#caller-name").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys(&format!("Walter Ohnenetz{width}"))
            .await
            .unwrap();
        press(c, Key::Enter).await;
        let code = browser.wait("[data-testid=caller-code]").await.text().await.unwrap();
        let number = browser.wait("[data-testid=caller-number]").await.text().await.unwrap();
        assert_eq!(number.len(), 5, "{number}");
        a11y("booked for the caller").await;
        browser.screenshot(&format!("caller-{width}-booked")).await;
        let (status, view) = app.get_json(&format!("/api/bookings/{code}")).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["start"].as_str(), Some(start.as_str()));
        assert_eq!(view["name"], format!("Walter Ohnenetz{width}"));
        assert_eq!(view["status"], "confirmed");

        // The same clerk finds the caller on the day's list, and the contact on request.
        tab_to(c, ".day-list summary").await;
        press(c, Key::Enter).await;
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive()
            .to_string();
        if !start.starts_with(&today) {
            tab_to(c, "#day-today").await;
            press(c, Key::Right).await;
        }
        // The list shown before the booking may still be on screen until the reload on opening
        // arrives (the first pass's caller is on it too): wait for this caller's time.
        browser.wait("[data-testid=day-table] tr[data-state=Booked]").await;
        let table = eventually("the booking in the day's list", Duration::from_secs(5), async || {
            let table = browser.wait("[data-testid=day-table]").await.text().await.unwrap();
            let listed = table.contains(&start[11..16]);
            when(table, listed)
        })
        .await;
        assert!(
            table.contains(&start[11..16]) && table.contains("telefonisch"),
            "{table}"
        );
        assert!(!table.contains("Ohnenetz"), "no names before asking: {table}");
        tab_to(c, "[data-testid=day-table] button").await;
        press(c, Key::Enter).await;
        browser.wait(".day-contact").await;
        let table = browser.wait("[data-testid=day-table]").await.text().await.unwrap();
        assert!(table.contains("Walter Ohnenetz"), "{table}");
        a11y("the day's list with a contact").await;
        browser.screenshot(&format!("day-list-{width}")).await;

        // The caller rings back: the clerk finds the booking by its code and moves it.
        tab_to(c, ".caller-change summary").await;
        press(c, Key::Enter).await;
        tab_to(c, "#change-code").await;
        c.active_element().await.unwrap().send_keys(&code).await.unwrap();
        press(c, Key::Enter).await;
        browser.wait("[data-testid=change-found]").await;
        browser.wait("#change-start option:nth-child(3)").await;
        tab_to(c, "#change-start").await;
        press(c, Key::Down).await;
        press(c, Key::Down).await;
        tab_to(c, ".change-actions .primary").await;
        press(c, Key::Enter).await;
        let notice = browser.wait("[data-testid=change-notice]").await;
        eventually("the move confirmed on the page", Duration::from_secs(5), async || {
            let said = notice.text().await.unwrap();
            let moved = said.contains("verschoben");
            when(said, moved)
        })
        .await;
        a11y("a caller's booking moved").await;
        browser.screenshot(&format!("caller-{width}-moved")).await;
        let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
        assert_ne!(view["start"].as_str(), Some(start.as_str()), "moved: {view}");
        browser.close().await;
    }
    app.stop().await;
}

/// A city with two citizen offices: the clerk searches the free times of a service at both and
/// books the caller at the other office.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clerk_finds_free_times_at_every_office() {
    use schalter_tests::browser::Browser;

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let admin = |path: &'static str, body: Value| {
        let root = root.clone();
        let app = &app;
        async move {
            let (status, answer) = app.post_as(path, ("cookie", &root), &body).await;
            assert_eq!(status, 201, "{path}: {answer}");
        }
    };
    admin(
        "/api/admin/locations",
        json!({"id": "buergerbuero-nord", "name": {"de": "Bürgerbüro Nord", "en": "Citizens' Office North"},
            "address": "Nordring 5, 67059 Ludwigshafen", "time_zone": "Europe/Berlin",
            "accessibility": {"de": "", "en": ""}}),
    )
    .await;
    admin(
        "/api/admin/services",
        json!({"id": "beglaubigung", "name": {"de": "Beglaubigung", "en": "Certification"},
            "description": {"de": "", "en": ""}, "locations": ["buergerbuero", "buergerbuero-nord"],
            "duration_minutes": 10, "documents": [], "fee": {"de": "", "en": ""},
            "bookable_online": true, "walk_in": true, "ticket_prefix": "D"}),
    )
    .await;
    admin(
        "/api/admin/counters",
        json!({"id": "nord-1", "location": "buergerbuero-nord", "name": "1", "services": ["beglaubigung"]}),
    )
    .await;
    let all_day: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "00:00", "close": "23:50", "online_capacity": 1}))
        .collect();
    let (status, answer) = status_and_json(
        app.client
            .put(format!("{}/api/admin/locations/buergerbuero-nord/schedule", app.url))
            .header("cookie", &root)
            .json(
                &json!({"unit_minutes": 10, "region": "rhineland-palatinate", "opening": all_day,
                "booking_window_days": 60, "min_lead_minutes": 60, "max_active_per_email": 2}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let Some(browser) = Browser::launch(1280, 1000).await else {
        return;
    };
    browser
        .sign_in_at(&format!("{}/desk", app.url), "anna", "counter-one-2026")
        .await;
    browser.wait(".desk-pick select option[value=buergerbuero]").await;
    browser.set_value(".desk-pick select", "buergerbuero", "change").await;
    browser.click(".caller-booking summary").await;
    browser.click("#caller-everywhere").await;
    browser.set_value("#caller-service", "beglaubigung", "change").await;
    browser.wait("#caller-start option[value^='buergerbuero-nord|']").await;
    let options = browser.wait("#caller-start").await.text().await.unwrap();
    assert!(options.contains("Bürgerbüro Nord: "), "{options}");
    let nord = browser
        .wait("#caller-start option[value^='buergerbuero-nord|']")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    browser.set_value("#caller-start", &nord, "change").await;
    browser.wait("#caller-name").await.send_keys("Nora Nord").await.unwrap();
    browser.click("form.caller-form button[type=submit]").await;
    let code = browser.wait("[data-testid=caller-code]").await.text().await.unwrap();
    browser.assert_accessible("a caller booked at the other office").await;
    let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(view["location"], "buergerbuero-nord", "{view}");
    assert_eq!(view["start"].as_str(), nord.split_once('|').map(|(_, s)| s));
    browser.close().await;
    app.stop().await;
}

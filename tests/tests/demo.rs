//! The demo's first run: every role's door printed and working, and the mails it would send
//! shown to admins instead of going nowhere.

use std::time::{Duration, Instant};

use icalendar::{Calendar, CalendarComponent, Component};
use schalter_events::api::{MessageChannel, OutboxMessage};
use schalter_tests::app::{add_user, spawn_app, ServerProcess};
use schalter_tests::browser::Browser;
use schalter_tests::citizen::booking;
use schalter_tests::smtp::SmtpSink;
use schalter_tests::{eventually, on_both_backends, when, TestApp, TestDb};

on_both_backends!(a_booking_appears_in_the_demo_outbox_with_its_calendar_file);

async fn demo_outbox(app: &TestApp, cookie: &str) -> (u16, Vec<OutboxMessage>) {
    let r = app
        .client
        .get(format!("{}/api/admin/demo-outbox", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn a_booking_appears_in_the_demo_outbox_with_its_calendar_file(db: TestDb) {
    let app = spawn_app(db).demo_outbox().start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let cookie = app.sign_in("root", "administrator-2026").await;
    assert_eq!(
        demo_outbox(&app, &cookie).await,
        (200, vec![]),
        "empty before any booking"
    );

    let start = app.free_starts(3).await.remove(0);
    let booked = app.booked(&booking(&start, "erika@example.org")).await;
    let code = booked.code.expect("the code in the first answer");
    let sent = Instant::now();
    let confirmation = loop {
        let (_, messages) = demo_outbox(&app, &cookie).await;
        if let Some(m) = messages
            .into_iter()
            .find(|m| m.subject.starts_with("Terminbestätigung"))
        {
            break m;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "no confirmation in the demo outbox within a second"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(confirmation.channel, MessageChannel::Mail);
    assert_eq!(confirmation.to, "erika@example.org");
    assert!(confirmation.calendar);

    // The manage link in the mail opens the booking.
    let link = confirmation
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/booking/"))
        .expect("a manage link");
    assert!(link.ends_with(&code), "{link}");
    let path = &link[link.find("/booking/").unwrap()..];
    assert_eq!(app.get(path).await.status(), 200);
    let (status, view) = app
        .get_json(&format!("/api{}", path.replace("/booking/", "/bookings/")))
        .await;
    assert_eq!((status, view["status"].as_str()), (200, Some("confirmed")));

    // The calendar file parses, with the appointment at its time.
    let r = app
        .client
        .get(format!(
            "{}/api/admin/demo-outbox/{}/calendar.ics",
            app.url, confirmation.id
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    let calendar: Calendar = r.text().await.unwrap().parse().expect("an iCalendar file");
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 1, "{calendar}");
    let expected = chrono::DateTime::parse_from_rfc3339(&start).unwrap().to_utc();
    assert_eq!(
        events[0].get_start(),
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(
            expected
        )))
    );
    assert!(events[0].get_summary().is_some_and(|s| !s.is_empty()));

    // Only admins see it.
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    assert_eq!(demo_outbox(&app, &anna).await.0, 403);
    app.stop().await;
}

/// A booking two hours ahead gets its confirmation first and then the reminder, not the
/// reminder first because its moment (24 hours before) has long passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_comes_before_the_reminder() {
    let app = spawn_app(TestDb::sqlite().await).demo_outbox().start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let cookie = app.sign_in("root", "administrator-2026").await;
    app.booking_near_now("7K2M-9QXR-4HWT-3ZPB", 120, "Konrad Kurzfrist", "konrad@example.org")
        .await;
    let messages = eventually("two messages in the demo outbox", Duration::from_secs(5), async || {
        let (_, messages) = demo_outbox(&app, &cookie).await;
        match messages.len() {
            2.. => Ok(messages),
            n => Err(format!("{n} message(s)")),
        }
    })
    .await;
    // Newest first.
    let subjects: Vec<&str> = messages.iter().rev().map(|m| m.subject.as_str()).collect();
    assert!(subjects[0].starts_with("Terminbestätigung"), "{subjects:?}");
    assert!(subjects[1].starts_with("Erinnerung"), "{subjects:?}");
    app.stop().await;
}

/// Outside demo mode, and in demo mode with a mail server, there is no demo outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn there_is_no_demo_outbox_without_demo_mode_or_with_a_mail_server() {
    let sink = SmtpSink::start().await;
    let without_demo = spawn_app(TestDb::sqlite().await).start().await;
    let with_smtp = spawn_app(TestDb::sqlite().await)
        .demo_outbox()
        .mailing(&sink.url)
        .start()
        .await;
    for app in [&without_demo, &with_smtp] {
        add_user(&app.db.url, "root", "admin", "administrator-2026");
        let cookie = app.sign_in("root", "administrator-2026").await;
        assert_eq!(demo_outbox(app, &cookie).await.0, 404);
        let r = app
            .client
            .get(format!("{}/api/admin/demo-outbox/confirm-1/calendar.ics", app.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    without_demo.stop().await;
    with_smtp.stop().await;
}

/// One printed door: the page, and the account that signs in there (staff) or none (devices).
struct Door {
    url: String,
    account: Option<(String, String)>,
}

/// The doors `serve --demo --welcome` printed: each address, with the user and password on the
/// line after it where it is a staff page.
fn doors(printed: &[String]) -> Vec<Door> {
    let mut doors = Vec::new();
    for (i, line) in printed.iter().enumerate() {
        let Some(at) = line.find("http://") else { continue };
        let url = line[at..].split_whitespace().next().unwrap().to_owned();
        let account = printed.get(i + 1).and_then(|next| {
            let rest = next.trim().strip_prefix("user ")?;
            let (user, password) = rest.split_once(", password ")?;
            Some((user.to_owned(), password.trim().to_owned()))
        });
        doors.push(Door { url, account });
    }
    doors
}

/// Follows every printed link in Chromium: each page opens signed in or paired as its role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_demo_start_prints_every_roles_door_and_each_opens() {
    let db = TestDb::sqlite().await;
    let server = ServerProcess::start(&db.url, &["--demo", "--welcome"]).await;
    let doors = doors(&server.printed);
    let again = ServerProcess::start(&TestDb::sqlite().await.url, &["--demo"]).await;
    assert!(
        again.printed.iter().all(|l| !l.contains("http://")),
        "no doors without --welcome"
    );
    let find = |path: &str| {
        doors
            .iter()
            .find(|d| d.url.contains(path))
            .map(|d| (d.url.clone(), d.account.clone()))
    };
    // The citizens' page, three staff pages with accounts, a kiosk and a hall screen per office,
    // and the outbox hint (the admin page again).
    assert_eq!(doors.len(), 1 + 3 + 4 + 1, "{:?}", server.printed);
    assert_eq!(doors[0].url, format!("{}/", server.url), "the citizens' address first");
    let Some(browser) = Browser::launch(1280, 900).await else {
        return;
    };
    let c = &browser.client;
    c.goto(&doors[0].url).await.unwrap();
    browser.wait("li[data-service=personalausweis]").await;

    let staff_pages = [
        ("/desk", ".desk-user"),
        ("/stats", "form.stats-filter"),
        ("/admin", "[data-testid=admin-user]"),
    ];
    for (path, signed_in) in staff_pages {
        let (url, account) = find(path).expect(path);
        let (user, password) = account.unwrap_or_else(|| panic!("{path} has an account printed"));
        c.goto(&url).await.unwrap();
        browser.wait("#username").await.send_keys(&user).await.unwrap();
        browser.wait("#password").await.send_keys(&password).await.unwrap();
        browser.click("form.login button[type=submit]").await;
        browser.wait(signed_in).await;
        browser.screenshot(&format!("welcome{}", path.replace('/', "-"))).await;
        // Signed out again, so that the next page asks for its own account.
        c.execute(
            "return fetch('/api/auth/logout', {method: 'POST'}).then(() => true)",
            vec![],
        )
        .await
        .unwrap();
    }
    for (office, name) in [
        ("buergerbuero", "Bürgerbüro im Rathaus"),
        ("kfz-zulassung", "Kfz-Zulassungsstelle"),
    ] {
        // The kiosk is paired: its ticket is issued with its token.
        let (kiosk, _) = find(&format!("/kiosk/{office}?token=")).expect("a kiosk link");
        c.goto(&kiosk).await.unwrap();
        browser.wait(".kiosk-choices").await;
        let choices = c
            .find_all(fantoccini::Locator::Css(".kiosk-choices .kiosk-button"))
            .await
            .unwrap();
        choices[1].click().await.unwrap();
        browser.click(".kiosk-services .kiosk-button").await;
        browser.wait("[data-testid=ticket-number]").await;
        // The hall screen is paired: its feed names the office.
        let (display, _) = find(&format!("/display/{office}?token=")).expect("a hall screen link");
        c.goto(&display).await.unwrap();
        eventually("the hall screen connected", Duration::from_secs(15), async || {
            let shown = browser.wait("#display-h").await.text().await.unwrap();
            let connected = shown == name;
            when(shown, connected)
        })
        .await;
        browser.screenshot(&format!("welcome-display-{office}")).await;
    }
    browser.close().await;
    server.kill9().await;
    again.kill9().await;
}

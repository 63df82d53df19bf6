//! Fewer no-shows: every reminder asks the citizen to cancel if they cannot come, with a link
//! that opens the cancel question; one button then frees the place for everyone else.

use std::time::Duration;

use chrono::{Duration as ChronoDuration, Utc};
use reqwest::Method;
use schalter_events::booking::{BookingEvent, Status};
use schalter_events::store::AppendRequest;
use schalter_events::{encode, Expectation};
use schalter_tests::app::{add_user, spawn_app};
use schalter_tests::browser::Browser;
use schalter_tests::citizen::booking;
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::{eventually, on_both_backends, TestApp, TestDb};
use serde_json::json;

const CODE: &str = "KKKK-MMMM-NNNN-PPPP";

/// The reminder's "can't come" link, as the path below the public address.
fn cant_come_path(mail: &str) -> String {
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("absagen="))
        .unwrap_or_else(|| panic!("no cancel link in the reminder: {mail}"));
    link[link.find("/booking/").expect("a booking link")..].to_owned()
}

fn is_reminder(raw: &str) -> bool {
    raw.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("message-id: <remind-")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reminder_link_cancels_in_the_browser() {
    let db = TestDb::sqlite().await;
    let sink = SmtpSink::start().await;
    let Some(app) = spawn_app(db).mailing(&sink.url).start_with_ui().await else {
        return;
    };
    // Within the reminder period: the confirmation and the reminder go at once.
    app.booking_near_now(CODE, 120, "Nora Nichtkommen", "nora@example.org")
        .await;
    let mails = sink.wait_for(2, Duration::from_secs(10)).await;
    let (reminders, others): (Vec<&String>, Vec<&String>) = mails.iter().partition(|m| is_reminder(m));
    assert_eq!((reminders.len(), others.len()), (1, 1), "{mails:#?}");
    let reminder = decoded(reminders[0]);
    assert!(reminder.contains("Sie können nicht kommen?"), "{reminder}");
    assert!(reminder.contains("Can't come?"), "{reminder}");
    let path = cant_come_path(&reminder);
    assert_eq!(path, format!("/booking/{CODE}?absagen=1"));
    // Only the reminder asks: the confirmation has no such line.
    let confirmation = decoded(others[0]);
    assert!(!confirmation.contains("absagen="), "{confirmation}");

    let Some(browser) = Browser::launch(390, 844).await else {
        return;
    };
    // Opening the link changes nothing: link scanners open every link in a message.
    browser.client.goto(&format!("{}{path}", app.url)).await.unwrap();
    browser.wait("[role=alertdialog]").await;
    let (_, view) = app.get_json(&format!("/api/bookings/{CODE}")).await;
    assert_eq!(view["status"], "confirmed");
    let focused = browser
        .client
        .execute("return document.activeElement && document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "cancel-no", "the safe answer holds the focus");
    browser.assert_accessible("cancel question").await;
    browser.screenshot("no-show-1-question").await;

    browser.click("[role=alertdialog] .button.danger").await;
    browser.wait_for_text("[data-testid=status]", "Abgesagt").await;
    browser.screenshot("no-show-2-cancelled").await;
    let (_, view) = app.get_json(&format!("/api/bookings/{CODE}")).await;
    assert_eq!(view["status"], "cancelled");
    // The question does not come back on the cancelled booking.
    assert!(browser
        .client
        .find(fantoccini::Locator::Css("[role=alertdialog]"))
        .await
        .is_err());
    browser.close().await;
    app.stop().await;
}

on_both_backends!(repeated_no_shows_make_the_next_online_booking_wait_for_a_confirmation);

/// Sets the Bürgerbüro's rule through the admin API: `after` missed appointments in 90 days.
async fn ask_after_missed(app: &TestApp, admin: &str, after: u32) {
    let setup = app.staff_ok(admin, Method::GET, "/api/admin/setup").await;
    let mut schedule = setup["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"]["id"] == "buergerbuero")
        .expect("the Bürgerbüro")["schedule"]
        .clone();
    assert!(schedule["confirm_within_minutes"].is_null(), "the demo asks nobody");
    schedule["confirm_after_no_shows"] = json!(after);
    let (status, saved) = app
        .send_as(
            admin,
            Method::PUT,
            "/api/admin/locations/buergerbuero/schedule",
            &schedule,
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let setup = app.staff_ok(admin, Method::GET, "/api/admin/setup").await;
    let kept = &setup["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"]["id"] == "buergerbuero")
        .unwrap()["schedule"];
    assert_eq!(
        (&kept["confirm_after_no_shows"], &kept["no_show_days"]),
        (&json!(after), &json!(90)),
        "{kept}"
    );
}

async fn repeated_no_shows_make_the_next_online_booking_wait_for_a_confirmation(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app = spawn_app(db).mailing(&sink.url).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let admin = app.sign_in("root", "administrator-2026").await;
    ask_after_missed(&app, &admin, 2).await;
    let email = "mia.meier@example.org";
    let holder = app.vault().await.keyed_hash("holder", email);
    let now = Utc::now();

    // Earlier this autumn: one appointment missed, one cancelled in time, one missed long ago.
    app.recorded_booking(
        "0000-0000-0000-0001",
        now - ChronoDuration::days(20),
        &holder,
        "Mia",
        email,
    )
    .await;
    let cancelled = app
        .recorded_booking(
            "0000-0000-0000-0002",
            now - ChronoDuration::days(10),
            &holder,
            "Mia",
            email,
        )
        .await;
    let cancellation = BookingEvent::BookingCancelled {
        lead_minutes: 24 * 60,
        by_office: None,
    };
    let request = AppendRequest::new(vec![encode(cancelled.clone(), 1, &cancellation)])
        .expect(cancelled, Expectation::AtVersion(1));
    app.applied(app.store().append(&request).await.unwrap().last_position)
        .await;
    app.recorded_booking(
        "0000-0000-0000-0003",
        now - ChronoDuration::days(200),
        &holder,
        "Mia",
        email,
    )
    .await;

    // One missed within 90 days: booked at once, as everyone.
    let starts = app.free_starts(3).await;
    let first = app.booked(&booking(&starts[0], email)).await;
    assert_eq!(
        (first.status, &first.confirm_by),
        (Status::Confirmed, &None),
        "{first:?}"
    );

    // The second missed appointment: the next online booking waits for the emailed link.
    app.recorded_booking(
        "0000-0000-0000-0004",
        now - ChronoDuration::days(3),
        &holder,
        "Mia",
        email,
    )
    .await;
    let second = app.booked(&booking(&starts[1], email)).await;
    assert_eq!(second.status, Status::Pending, "{second:?}");
    let code = second.code.clone().expect("the code in the first answer");
    let mail_about = async |code: &str| {
        let link = format!("/booking/{code}");
        eventually("the booking's confirmation mail", Duration::from_secs(10), async || {
            let messages = sink.messages();
            let mail = messages.iter().map(|m| decoded(m)).find(|m| m.contains(&link));
            mail.ok_or_else(|| format!("{} other messages", messages.len()))
        })
        .await
    };
    let mail = mail_about(&code).await;
    assert!(
        mail.contains("mehrere Termine nicht wahrgenommen"),
        "the reason is told: {mail}"
    );
    assert!(mail.contains("Several recent appointments"), "{mail}");
    let token = mail
        .split_whitespace()
        .find_map(|w| w.split("bestaetigen=").nth(1))
        .unwrap_or_else(|| panic!("no confirmation link in {mail}"))
        .trim()
        .to_owned();
    let first_mail = mail_about(first.code.as_deref().expect("the first code")).await;
    assert!(!first_mail.contains("nicht wahrgenommen"), "{first_mail}");
    let (status, body) = app
        .post_json(&format!("/api/bookings/{code}/confirm"), &json!({ "token": token }))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("confirmed")), "{body}");

    // Another address is not concerned; the desk, with the caller on the line, asks nobody.
    let other = app.booked(&booking(&starts[2], "someone.else@example.org")).await;
    assert_eq!(other.status, Status::Confirmed);
    let cancelled = app
        .client
        .delete(format!("{}/api/bookings/{}", app.url, first.code.as_deref().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cancelled.status(),
        200,
        "the first booking cancelled: room under the email's limit"
    );
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let caller = json!({
        "location": "buergerbuero", "service": "personalausweis", "start": starts[2],
        "name": "Mia Meier", "email": email, "channel": "phone"
    });
    let (status, desk) = app.post_as("/api/desk/bookings", ("cookie", &anna), &caller).await;
    assert_eq!((status, &desk["status"]), (201, &json!("confirmed")), "{desk}");
    app.stop().await;
}

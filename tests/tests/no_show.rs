//! Fewer no-shows: every reminder asks the citizen to cancel if they cannot come, with a link
//! that opens the cancel question; one button then frees the place for everyone else.

use std::time::Duration;

use chrono::{Duration as ChronoDuration, Utc};
use schalter_events::booking::{BookingEvent, Status};
use schalter_events::store::AppendRequest;
use schalter_events::{encode, Expectation};
use schalter_server::engine::clock::Clock;
use schalter_tests::app::{add_user, spawn_app};
use schalter_tests::browser::Browser;
use schalter_tests::citizen::{booking, ID_CARD};
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
    let mut schedule = app.schedule_of(admin, "buergerbuero").await;
    assert!(schedule["confirm_within_minutes"].is_null(), "the demo asks nobody");
    schedule["confirm_after_no_shows"] = json!(after);
    app.set_schedule(admin, "buergerbuero", &schedule).await;
    let kept = app.schedule_of(admin, "buergerbuero").await;
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
    let mail = mail_with(&sink, &code, "Bitte bestätigen").await;
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
    let first_mail = mail_with(&sink, first.code.as_deref().expect("the first code"), "").await;
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

on_both_backends!(appointments_booked_long_ahead_are_confirmed_again_or_released);

/// A start with a free place more than a day and less than three days from now: close enough
/// to be asked for a reconfirmation at once, far enough to answer it.
async fn start_in_two_days(app: &TestApp) -> Vec<String> {
    let now = Utc::now();
    let starts = app.free_starts(1).await;
    let near: Vec<String> = starts
        .into_iter()
        .filter(|s| {
            let at = chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
            at > now + ChronoDuration::hours(26) && at < now + ChronoDuration::hours(70)
        })
        .collect();
    assert!(near.len() >= 2, "the demo office opens within the next three days");
    near
}

async fn appointments_booked_long_ahead_are_confirmed_again_or_released(db: TestDb) {
    let sink = SmtpSink::start().await;
    let (clock, hand) = Clock::with_hand();
    let app = spawn_app(db).mailing(&sink.url).message_clock(clock).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let admin = app.sign_in("root", "administrator-2026").await;
    let mut schedule = app.schedule_of(&admin, "buergerbuero").await;
    // Booked more than a day ahead: asked three days before (the default), so at once here.
    schedule["reconfirm_booked_days_ahead"] = json!(1);
    app.set_schedule(&admin, "buergerbuero", &schedule).await;
    let starts = start_in_two_days(&app).await;
    let keeps = app.booked(&booking(&starts[0], "kommt@example.org")).await;
    let forgets = app.booked(&booking(&starts[1], "vergisst@example.org")).await;
    let (keeps_code, forgets_code) = (keeps.code.clone().unwrap(), forgets.code.clone().unwrap());
    assert_eq!((keeps.status, forgets.status), (Status::Confirmed, Status::Confirmed));
    let free_before = app.free_at(ID_CARD, &starts[1]).await;

    // Asked by mail, with the confirmation link and the deadline a day before.
    let asked = mail_with(&sink, &keeps_code, "vor längerer Zeit gebucht").await;
    assert!(asked.contains("vor längerer Zeit gebucht"), "{asked}");
    assert!(asked.contains("You booked this appointment a while ago"), "{asked}");
    let token = asked
        .split_whitespace()
        .find_map(|w| w.split("bestaetigen=").nth(1))
        .unwrap_or_else(|| panic!("no confirmation link in {asked}"))
        .trim()
        .to_owned();
    let (_, view) = app.get_json(&format!("/api/bookings/{keeps_code}")).await;
    assert_eq!(view["status"], "pending", "{view}");
    let (status, body) = app
        .post_json(
            &format!("/api/bookings/{keeps_code}/confirm"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("confirmed")), "{body}");
    mail_with(&sink, &forgets_code, "vor längerer Zeit gebucht").await;

    // The deadline passes: the unconfirmed one is released and told so; the other stands.
    let deadline = chrono::DateTime::parse_from_rfc3339(&starts[1])
        .unwrap()
        .with_timezone(&Utc)
        - ChronoDuration::hours(24);
    hand.advance(deadline - Utc::now() + ChronoDuration::minutes(1));
    // Nothing left to manage: the notice names the service and day and offers a new booking.
    let day = format!("{}.{}.{}", &starts[1][8..10], &starts[1][5..7], &starts[1][..4]);
    let released = mail_where(&sink, "nicht rechtzeitig bestätigt", |m| m.contains(&day)).await;
    assert!(released.contains("Neuen Termin buchen"), "{released}");
    assert!(
        released.contains("method=CANCEL"),
        "the calendar entry is removed: {released}"
    );
    let (_, view) = app.get_json(&format!("/api/bookings/{forgets_code}")).await;
    assert_eq!(view["status"], "expired", "{view}");
    let (_, view) = app.get_json(&format!("/api/bookings/{keeps_code}")).await;
    assert_eq!(view["status"], "confirmed", "{view}");
    assert_eq!(
        app.free_at(ID_CARD, &starts[1]).await,
        free_before + 1,
        "the place is free again"
    );
    // Asked once only: no second request for either.
    let asks = |code: &str| {
        sink.messages()
            .iter()
            .map(|m| decoded(m))
            .filter(|m| m.contains(code) && m.contains("vor längerer Zeit gebucht"))
            .count()
    };
    assert_eq!((asks(&keeps_code), asks(&forgets_code)), (1, 1));
    app.stop().await;
}

/// The first mail about booking `code` that contains `text`, once it has arrived.
async fn mail_with(sink: &SmtpSink, code: &str, text: &str) -> String {
    mail_where(sink, text, |m| m.contains(&format!("/booking/{code}"))).await
}

/// The first mail that contains `text` and passes `also`, once it has arrived.
async fn mail_where(sink: &SmtpSink, text: &str, also: impl Fn(&str) -> bool) -> String {
    eventually(&format!("a mail with {text:?}"), Duration::from_secs(20), async || {
        let messages = sink.messages();
        let mail = messages
            .iter()
            .map(|m| decoded(m))
            .find(|m| m.contains(text) && also(m));
        mail.ok_or_else(|| format!("{} other messages", messages.len()))
    })
    .await
}

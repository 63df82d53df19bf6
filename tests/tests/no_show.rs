//! Fewer no-shows: every reminder asks the citizen to cancel if they cannot come, with a link
//! that opens the cancel question; one button then frees the place for everyone else.

use std::time::Duration;

use schalter_tests::app::spawn_app;
use schalter_tests::browser::Browser;
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::TestDb;

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

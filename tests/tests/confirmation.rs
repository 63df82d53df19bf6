//! Where an office asks for it, a booking holds its place only until the citizen confirms it
//! with the link from the email; unconfirmed, the place goes back on its own.

use std::time::Duration;

use schalter_events::api::{BookingRequest, BookingView};
use schalter_events::booking::Status;
use schalter_tests::app::{import_demo_config, spawn_app};
use schalter_tests::citizen::{booking, ID_CARD};
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::{eventually, on_both_backends, when, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(a_booking_waits_for_the_emailed_confirmation);

/// The demo catalogue with the Bürgerbüro asking for confirmation within `minutes`.
fn confirming_office(db: &TestDb, minutes: u32) {
    import_demo_config(&db.url, |config| {
        let edited = config.replacen(
            "[location.schedule]\n",
            &format!("[location.schedule]\nconfirm_within_minutes = {minutes}\n"),
            1,
        );
        assert_ne!(edited, config);
        edited
    });
}

async fn book(app: &TestApp, start: &str, email: &str) -> BookingView {
    app.booked(&BookingRequest {
        name: "Konrad Bestätiger".into(),
        ..booking(start, email)
    })
    .await
}

async fn confirm(app: &TestApp, code: &str, token: &str) -> (u16, Value) {
    app.post_json(&format!("/api/bookings/{code}/confirm"), &json!({ "token": token }))
        .await
}

async fn a_booking_waits_for_the_emailed_confirmation(db: TestDb) {
    confirming_office(&db, 1);
    let sink = SmtpSink::start().await;
    let app = spawn_app(db).mailing(&sink.url).start().await;
    let starts = app.free_starts(3).await;

    // Booked: pending, the place held, the email carries the confirmation link.
    let before = app.free_at(ID_CARD, &starts[0]).await;
    let booked = book(&app, &starts[0], "konrad@example.org").await;
    let code = booked.code.clone().expect("the code in the first answer");
    assert_eq!(booked.status, Status::Pending);
    assert!(booked.confirm_by.is_some(), "{booked:?}");
    assert_eq!(app.free_at(ID_CARD, &starts[0]).await, before - 1, "the place is held");
    let mail = decoded(&sink.wait_for(1, Duration::from_secs(10)).await[0]);
    assert!(mail.contains("Bitte bestätigen"), "{mail}");
    let link = mail
        .split_whitespace()
        .find(|w| w.contains(&format!("/booking/{code}?bestaetigen=")))
        .unwrap_or_else(|| panic!("no confirmation link in {mail}"));
    let token = link.split("bestaetigen=").nth(1).unwrap().trim();

    // Knowing the code is not enough; the link's token is.
    let (status, body) = confirm(&app, &code, "made-up-token").await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_confirmation")));
    let (status, body) = app
        .post_json(
            &format!("/api/bookings/{code}/reschedule"),
            &json!({ "start": starts[1] }),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_confirmed")), "{body}");
    let (status, body) = confirm(&app, &code, token).await;
    assert_eq!((status, &body["status"]), (200, &json!("confirmed")), "{body}");
    let (status, body) = confirm(&app, &code, token).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_pending")));
    assert_eq!(
        app.free_at(ID_CARD, &starts[0]).await,
        before - 1,
        "confirmed: still taken"
    );

    // Not confirmed: after the minute the place goes back by itself.
    let other_before = app.free_at(ID_CARD, &starts[1]).await;
    let lapsing = book(&app, &starts[1], "karla@example.org").await;
    let lapsing_code = lapsing.code.expect("the code in the first answer");
    assert_eq!(app.free_at(ID_CARD, &starts[1]).await, other_before - 1);
    eventually("released", Duration::from_secs(120), async || {
        let (_, view) = app.get_json(&format!("/api/bookings/{lapsing_code}")).await;
        let expired = view["status"] == "expired";
        when(view, expired)
    })
    .await;
    assert_eq!(
        app.free_at(ID_CARD, &starts[1]).await,
        other_before,
        "the place is free again"
    );
    let mails = sink.messages();
    let lapsing_mail = decoded(mails.iter().find(|m| decoded(m).contains(&lapsing_code)).unwrap());
    let late_token = lapsing_mail
        .split("bestaetigen=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (status, body) = confirm(&app, &lapsing_code, &late_token).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("confirmation_expired")));
    app.stop().await;
}

/// The citizen's side in Chromium: the link from the email opens the manage page, which says
/// what to do and confirms with one button.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_emailed_link_confirms_in_the_browser() {
    use schalter_tests::app::spawn_app;
    use schalter_tests::browser::Browser;

    let db = TestDb::sqlite().await;
    confirming_office(&db, 30);
    let sink = SmtpSink::start().await;
    let messages = schalter_server::jobs::outbox::MessageSettings {
        mail: Some(schalter_server::jobs::outbox::MailSettings {
            smtp_url: sink.url.clone(),
            from: "Bürgerservice <noreply@schalter.test>".into(),
        }),
        ..Default::default()
    };
    let Some(app) = spawn_app(db).messages(messages).start_with_ui().await else {
        return;
    };
    let start = app.free_starts(3).await.remove(0);
    // Booked through the API (proof of work and all is the booking journey's business).
    let proof = app.proof().await;
    let booked = app
        .booked(&BookingRequest {
            proof: Some(proof),
            ..booking(&start, "konrad@example.org")
        })
        .await;
    let code = booked.code.expect("the code in the first answer");
    let mail = decoded(&sink.wait_for(1, Duration::from_secs(10)).await[0]);
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("bestaetigen="))
        .unwrap()
        .replace("http://127.0.0.1", "")
        .to_owned();
    let path = &link[link.find("/booking/").unwrap()..];

    let Some(browser) = Browser::launch(390, 844).await else {
        return;
    };
    browser.client.goto(&format!("{}{path}", app.url)).await.unwrap();
    browser.wait("[data-testid=confirm]").await;
    let status = browser.wait("[data-testid=status]").await.text().await.unwrap();
    assert_eq!(status, "Noch nicht bestätigt");
    if let Some(violations) = browser.accessibility_violations().await {
        assert!(violations.is_empty(), "pending manage page: {violations:#?}");
    }
    browser.screenshot("confirm-1-pending").await;
    browser.click("[data-testid=confirm]").await;
    browser.wait_for_text("[data-testid=status]", "Gebucht").await;
    browser.screenshot("confirm-2-confirmed").await;
    let (_, view) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(view["status"], "confirmed");
    browser.close().await;
    app.stop().await;
}

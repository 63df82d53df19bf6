//! Text messages through a local HTTP SMS gateway: "your turn is near" for walk-ins who left a
//! phone number (once, also across a restart), reminders by SMS for bookings with a phone
//! number, failures visible to admins, and the number erased the day after.

use std::time::Duration;

use chrono::Utc;
use fantoccini::Locator;
use schalter_events::api::{BookingRequest, BookingView};
use schalter_tests::app::{add_device, add_user, texting};
use schalter_tests::browser::Browser;
use schalter_tests::citizen::booking;
use schalter_tests::sms::SmsSink;
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    walk_ins_hear_once_when_their_turn_is_near,
    bookings_with_a_phone_get_the_reminder_by_sms
);

const PHONE: &str = "+49 151 / 2345 6789";
const NORMALISED: &str = "+4915123456789";

async fn issue(app: &TestApp, kiosk: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn call_next(app: &TestApp, cookie: &str) -> Value {
    let path = "/api/counters/buergerbuero-1/call-next";
    app.staff_ok(cookie, reqwest::Method::POST, path).await
}

async fn walk_ins_hear_once_when_their_turn_is_near(db: TestDb) {
    let sink = SmsSink::start().await;
    let app = spawn_app(db).texting(&sink.url, 24).start().await;
    assert_eq!(app.get_json("/api/health").await.1["sms"], true);
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.open_counter(&anna, "buergerbuero-1").await;

    let walk_in = json!({"service": "personalausweis"});
    for _ in 0..3 {
        let (status, ticket) = issue(&app, &kiosk, walk_in.clone()).await;
        assert_eq!((status, &ticket["notify"]), (201, &json!(false)));
    }
    let (status, body) = issue(&app, &kiosk, json!({"service": "personalausweis", "phone": "0151 abc"})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_phone")), "{body}");
    let (status, mine) = issue(&app, &kiosk, json!({"service": "personalausweis", "phone": PHONE})).await;
    assert_eq!((status, &mine["notify"]), (201, &json!(true)), "{mine}");
    let id = mine["id"].as_str().unwrap().to_owned();
    let number = mine["number"].as_str().unwrap().to_owned();

    // Three ahead, the gateway is told at two: nothing yet.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(sink.received().is_empty(), "{:?}", sink.received());
    call_next(&app, &anna).await;
    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let sms = &received[0];
    assert_eq!(sms.body["to"], NORMALISED);
    assert_eq!(sms.body["from"], "Stadt");
    assert_eq!(sms.body["id"], format!("near-{id}"));
    assert_eq!(sms.idempotency_key.as_deref(), Some(format!("near-{id}").as_str()));
    assert_eq!(sms.authorization.as_deref(), Some("Bearer sms-test-token"));
    let text = sms.body["text"].as_str().unwrap();
    assert!(text.contains(&number) && text.contains("bald dran"), "{text}");

    // Nearer still, then a restart on the same log: never a second message.
    call_next(&app, &anna).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let db = app.stop().await;
    let app = spawn_app(db).texting(&sink.url, 24).start().await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(sink.received().len(), 1, "{:?}", sink.received());

    // The log holds only ciphertext; the day after, the number is erased for good.
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let digits = "15123456789";
    assert!(events.iter().all(|e| !e.data.to_string().contains(digits)));
    let vault = app.vault().await;
    // The ticket's day is the office's (Berlin) day, which begins an hour before UTC's.
    let tomorrow = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive() + chrono::Duration::days(1);
    let erased = schalter_server::jobs::retention::purge_ticket_contacts(app.store(), &vault, tomorrow)
        .await
        .unwrap();
    assert_eq!(erased, 1);
    let again = schalter_server::jobs::retention::purge_ticket_contacts(app.store(), &vault, tomorrow)
        .await
        .unwrap();
    assert_eq!(again, 0, "erased once");
    let ticket_events = app.store().read_stream(&format!("ticket-{id}"), 0).await.unwrap();
    assert_eq!(ticket_events.last().unwrap().event_type, "ContactErased");
    let issued = events
        .iter()
        .find(|e| e.stream.starts_with("numbers-") && e.data.to_string().contains("\"contact\""))
        .expect("the ticket with a phone number");
    let contact: schalter_events::booking::Personal = serde_json::from_value(issued.data["contact"].clone()).unwrap();
    assert_eq!(vault.open(&contact).await.unwrap(), None, "the data key is gone");
    app.stop().await;
}

async fn book(app: &TestApp, start: &str, email: &str, phone: Option<&str>) -> BookingView {
    app.booked(&BookingRequest {
        name: "Tamara Textnachricht".into(),
        phone: phone.map(str::to_owned),
        ..booking(start, email)
    })
    .await
}

async fn bookings_with_a_phone_get_the_reminder_by_sms(db: TestDb) {
    let sink = SmsSink::start().await;
    // A reminder 60 days ahead is due at once.
    let app = spawn_app(db).texting(&sink.url, 24 * 60).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let starts = app.free_starts(3).await;
    let booked = book(&app, &starts[0], "tamara@example.org", Some("0151 2345 6789")).await;
    let code = booked.code.as_deref().expect("the code in the first answer");
    book(&app, &starts[1], "theo@example.org", None).await;
    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let received = if received.len() == 1 { sink.received() } else { received };
    assert_eq!(received.len(), 1, "only the booking with a phone: {received:?}");
    let sms = &received[0];
    assert_eq!(sms.body["to"], "015123456789");
    assert!(
        sms.body["id"].as_str().unwrap().starts_with("sms-remind-"),
        "{:?}",
        sms.body
    );
    let text = sms.body["text"].as_str().unwrap();
    assert!(
        text.starts_with("Erinnerung: ") && text.contains(&format!("http://schalter.test/booking/{code}")),
        "{text}"
    );
    // The five digits for the kiosk on the day, without the email at hand.
    let hash = schalter_server::features::bookings::code_hash(code).unwrap();
    let number = schalter_server::features::bookings::check_in_number(&hash);
    assert!(
        text.contains(&format!("Anmeldenummer am Automaten: {number}")),
        "{text}"
    );

    // A gateway that is down: the admin sees the failing message, without the number.
    sink.refuse(true);
    book(&app, &starts[2], "tilda@example.org", Some("0151 9876 5432")).await;
    let problems = app.failing_messages(&root).await;
    let failing = &problems["failing"][0];
    assert_eq!(failing["kind"], "reminder-sms");
    assert!(failing["last_error"].as_str().unwrap().contains("503"), "{failing}");
    assert!(!problems.to_string().contains("9876"), "{problems}");
    app.stop().await;
}

/// At the kiosk in Chromium: the optional phone field appears where SMS is configured, the
/// ticket promises the message, and the gateway gets it once the turn is near.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kiosk_offers_the_sms() {
    let sink = SmsSink::start().await;
    let Some(app) = spawn_app(TestDb::sqlite().await)
        .messages(texting(&sink.url, 24))
        .start_with_ui()
        .await
    else {
        return;
    };
    let kiosk_token = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.open_counter(&anna, "buergerbuero-1").await;
    let Some(kiosk) = Browser::launch(1024, 900).await else {
        return;
    };
    kiosk
        .client
        .goto(&format!("{}/kiosk/buergerbuero?token={kiosk_token}", app.url))
        .await
        .unwrap();
    kiosk.wait(".kiosk-choices").await;
    let choices = kiosk
        .client
        .find_all(Locator::Css(".kiosk-choices .kiosk-button"))
        .await
        .unwrap();
    choices[1].click().await.unwrap();
    let field = kiosk.wait("#kiosk-phone-input").await;
    field.send_keys("0170 555 1234").await.unwrap();
    if let Some(violations) = kiosk.accessibility_violations().await {
        assert!(violations.is_empty(), "kiosk with phone field: {violations:#?}");
    }
    kiosk.screenshot("kiosk-sms-1-phone").await;
    kiosk.click(".kiosk-services .kiosk-button").await;
    let promise = kiosk.wait("[data-testid=sms-promise]").await.text().await.unwrap();
    assert!(promise.contains("SMS"), "{promise}");
    let number = kiosk.wait("[data-testid=ticket-number]").await.text().await.unwrap();
    kiosk.screenshot("kiosk-sms-2-ticket").await;
    // Nobody ahead: the message goes out at once.
    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].body["to"], "01705551234");
    assert!(received[0].body["text"].as_str().unwrap().contains(&number));
    kiosk.close().await;
    app.stop().await;
}

/// Without a gateway the kiosk cannot promise a message: a phone number is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_phone_numbers_without_a_gateway() {
    let app = spawn_app(TestDb::sqlite().await).start().await;
    assert_eq!(app.get_json("/api/health").await.1["sms"], false);
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let (status, body) = issue(&app, &kiosk, json!({"service": "personalausweis", "phone": PHONE})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("sms_unavailable")),
        "{body}"
    );
    app.stop().await;
}

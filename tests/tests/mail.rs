//! Citizens' email through a real SMTP conversation with a local sink: one message per step,
//! also when the server dies mid-send or two servers share the work.

use std::time::Duration;

use chrono::Utc;
use schalter_events::api::{BookingRequest, BookingView};
use schalter_events::outbox::{backoff, MessageEvent};
use schalter_server::engine::clock::Clock;
use schalter_tests::app::{spawn_app, ServerProcess};
use schalter_tests::citizen::{self, booking, ID_CARD};
use schalter_tests::ics;
use schalter_tests::smtp::{black_hole, decoded, SmtpSink};
use schalter_tests::{eventually, on_both_backends, when, TestApp, TestDb};
use serde_json::json;

on_both_backends!(
    citizens_get_one_message_per_step,
    an_hour_without_the_mail_server_delays_but_loses_nothing
);

/// The free places `days_ahead` days from now for the ID card, as the server at `base` shows them.
async fn free_starts(base: &str, days_ahead: i64) -> Vec<String> {
    let from = (Utc::now() + chrono::Duration::days(days_ahead)).date_naive();
    citizen::free_starts(&reqwest::Client::new(), base, ID_CARD, from, 10).await
}

async fn book(base: &str, start: &str, email: &str) -> BookingView {
    let request = BookingRequest {
        name: "Henrike Postmeister".into(),
        ..booking(start, email)
    };
    citizen::booked(&reqwest::Client::new(), base, &request).await
}

/// The same first message in two installations (or a rebuilt database) has other Message-IDs,
/// or mail services would drop the later one as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_differ_between_installations() {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let sink = SmtpSink::start().await;
        let app = spawn_app(TestDb::sqlite().await).mailing(&sink.url).start().await;
        let starts = free_starts(&app.url, 3).await;
        book(&app.url, &starts[0], "henrike@example.org").await;
        let sent = sink.wait_for(1, Duration::from_secs(10)).await;
        ids.push(message_id(&sent[0]));
        app.stop().await;
    }
    assert!(ids.iter().all(|id| id.starts_with("<confirm-")), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

fn message_id(raw: &str) -> String {
    raw.lines()
        .find_map(|l| {
            l.strip_prefix("Message-ID: ")
                .or_else(|| l.strip_prefix("Message-Id: "))
        })
        .unwrap_or_default()
        .trim()
        .to_owned()
}

async fn citizens_get_one_message_per_step(db: TestDb) {
    let sink = SmtpSink::start().await;
    let app: TestApp = spawn_app(db).mailing(&sink.url).start().await;
    let starts = free_starts(&app.url, 3).await;
    let booked = book(&app.url, &starts[0], "henrike@example.org").await;
    let code = booked.code.as_deref().expect("the code in the first answer");

    let first = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(first.len(), 1, "one confirmation");
    let text = decoded(&first[0]);
    assert!(message_id(&first[0]).starts_with("<confirm-"), "{}", first[0]);
    assert!(text.contains("To: henrike@example.org"), "{text}");
    assert!(text.contains(&format!("http://schalter.test/booking/{code}")), "{text}");
    assert!(text.contains("Guten Tag Henrike Postmeister"), "{text}");
    let hash = schalter_server::features::bookings::code_hash(code).unwrap();
    let number = schalter_server::features::bookings::check_in_number(&hash);
    assert!(
        text.contains(&format!("Anmeldenummer am Automaten am Termintag: {number}")),
        "the kiosk's five digits: {text}"
    );
    // The English half says as much as the German.
    assert!(text.contains("Please bring:") && text.contains("Fee:"), "{text}");
    assert!(text.contains("No internet? Call 115."), "{text}");
    assert!(message_id(&first[0]).ends_with("@schalter.test>"), "{}", first[0]);
    assert!(text.contains("Content-Type: text/calendar"), "{text}");
    assert!(text.contains("method=PUBLISH"), "{text}");
    let confirmed = ics::appointment(&text);
    let start_utc = chrono::DateTime::parse_from_rfc3339(&starts[0])
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        confirmed.start,
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(
            start_utc
        )))
    );
    assert_eq!(confirmed.method, "PUBLISH");
    // The calendar may be shared: the site's address, never the code.
    assert!(confirmed.description.contains("http://schalter.test/"), "{confirmed:?}");
    assert!(!confirmed.description.contains(code), "{confirmed:?}");

    let (status, _) = app
        .post_json(
            &format!("/api/bookings/{code}/reschedule"),
            &json!({"start": starts[3]}),
        )
        .await;
    assert_eq!(status, 200);
    let r = app
        .client
        .delete(format!("{}/api/bookings/{code}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let all = sink.wait_for(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all_after = sink.messages();
    assert_eq!(
        all_after.len(),
        3,
        "confirmation, change, cancellation, nothing twice: {all:#?}"
    );
    let ids: Vec<String> = all_after.iter().map(|m| message_id(m)).collect();
    assert!(
        ids[1].starts_with("<change-") && ids[2].starts_with("<cancel-"),
        "{ids:?}"
    );
    // The move updates the calendar's event, the cancellation removes it.
    let (moved, cancelled) = (
        ics::appointment(&decoded(&all_after[1])),
        ics::appointment(&decoded(&all_after[2])),
    );
    assert_eq!(
        (moved.uid.as_str(), cancelled.uid.as_str()),
        (confirmed.uid.as_str(), confirmed.uid.as_str())
    );
    assert!(moved.sequence > confirmed.sequence, "{moved:?}");
    assert!(cancelled.sequence > moved.sequence, "{cancelled:?}");
    assert_eq!(cancelled.method, "CANCEL");
    assert_eq!(cancelled.status, Some(icalendar::EventStatus::Cancelled));
    assert!(decoded(&all_after[2]).contains("method=CANCEL"));
    // Nothing to bring and nothing to manage once cancelled.
    let cancellation = decoded(&all_after[2]);
    let cancellation = cancellation.split("BEGIN:VCALENDAR").next().unwrap();
    assert!(
        !cancellation.contains("Bitte mitbringen") && !cancellation.contains("Please bring"),
        "{cancellation}"
    );
    assert!(!cancellation.contains(&format!("/booking/{code}")), "{cancellation}");
    assert!(
        cancellation.contains("Neuen Termin buchen: http://schalter.test/"),
        "{cancellation}"
    );

    // An appointment within the reminder period: confirmation and reminder at once.
    app.booking_near_now("WWWW-XXXX-YYYY-ZZZZ", 90, "Ida Erinnerung", "ida@example.org")
        .await;
    let all = sink.wait_for(5, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ida: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| m.contains("ida@example.org"))
        .map(|m| message_id(m))
        .collect();
    assert_eq!(ida.len(), 2, "{all:#?}");
    assert!(ida.iter().any(|id| id.starts_with("<remind-")), "{ida:?}");
    app.stop().await;
}

/// The server dies after claiming the confirmation, while the mail server hangs; restarted
/// against a working mail server, it sends the confirmation exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confirmation_survives_a_kill_mid_send() {
    let db = TestDb::sqlite().await;
    let (hanging, _hole) = black_hole().await;
    let args = |url: &str| {
        vec![
            "--demo".to_owned(),
            "--smtp-url".into(),
            url.into(),
            "--outbox-lease-seconds".into(),
            "2".into(),
        ]
    };
    let first = ServerProcess::start(&db.url, &args(&hanging).iter().map(String::as_str).collect::<Vec<_>>()).await;
    let starts = free_starts(&first.url, 3).await;
    book(&first.url, &starts[0], "kill@example.org").await;
    let store = schalter_events::store::Store::connect(&db.url, Default::default())
        .await
        .unwrap();
    eventually(
        "the message claimed by the sender",
        Duration::from_secs(10),
        async || {
            let events = store.read_all(0, 10_000).await.unwrap();
            let claimed = events.iter().any(|e| e.event_type == "DeliveryStarted");
            when(events.len(), claimed)
        },
    )
    .await;
    first.kill9().await;

    let sink = SmtpSink::start().await;
    let second = ServerProcess::start(&db.url, &args(&sink.url).iter().map(String::as_str).collect::<Vec<_>>()).await;
    let got = sink.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(sink.messages().len(), 1, "sent once, not again after the lease");
    assert!(message_id(&sink.messages()[0]).starts_with("<confirm-"));
    let events = store.read_all(0, 10_000).await.unwrap();
    let sent = events.iter().filter(|e| e.event_type == "MessageSent").count();
    assert_eq!(sent, 1);
    store.close().await;
    second.kill9().await;
}

/// Two servers on one PostgreSQL share the sending: every confirmation exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_send_each_message_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let sink = SmtpSink::start().await;
    let args = ["--demo", "--smtp-url", sink.url.as_str(), "--outbox-lease-seconds", "2"];
    let a = ServerProcess::start(&db.url, &args).await;
    let b = ServerProcess::start(&db.url, &args).await;
    let starts = free_starts(&a.url, 3).await;
    for (i, start) in starts.iter().take(12).enumerate() {
        let server = if i % 2 == 0 { &a.url } else { &b.url };
        book(server, start, &format!("twin{i}@example.org")).await;
    }
    sink.wait_for(12, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let messages = sink.messages();
    let mut ids: Vec<String> = messages.iter().map(|m| message_id(m)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((messages.len(), ids.len()), (12, 12), "{ids:?}");
    a.kill9().await;
    b.kill9().await;
}

/// A mail server that refuses: the admin sees the failing message (no address in it), and it
/// is tried again later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_visible_to_admins() {
    let app = spawn_app(TestDb::sqlite().await)
        .mailing("smtp://127.0.0.1:1")
        .start()
        .await;
    schalter_tests::app::add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let starts = free_starts(&app.url, 3).await;
    book(&app.url, &starts[0], "unlucky@example.org").await;
    let problems = app.failing_messages(&root).await;
    let failing = &problems["failing"][0];
    assert_eq!(failing["kind"], "confirmation");
    assert_eq!(failing["attempts"], 1);
    assert_eq!(failing["given_up"], false);
    assert!(!problems.to_string().contains("unlucky"), "{problems}");
    app.stop().await;
}

/// How long the outage test waits for the outbox to reach each awaited state.
const PROBLEMS_WITHIN: Duration = Duration::from_secs(15);

fn attempts_all(problems: &serde_json::Value, n: u64) -> bool {
    let failing = problems["failing"].as_array().expect("failing");
    failing.len() == 3 && failing.iter().all(|m| m["attempts"] == n)
}

/// The mail server is down for an hour, on a clock the test moves forward: the confirmations
/// are tried on the back-off schedule (after 1, 2, 4 … minutes), shown as overdue once they are
/// ten minutes late, and each is sent exactly once when the server is back.
async fn an_hour_without_the_mail_server_delays_but_loses_nothing(db: TestDb) {
    let sink = SmtpSink::start().await;
    sink.set_down(true);
    let (clock, hand) = Clock::with_hand();
    let app = spawn_app(db).mailing(&sink.url).message_clock(clock).start().await;
    schalter_tests::app::add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let starts = free_starts(&app.url, 3).await;
    let emails = ["anna@example.org", "bert@example.org", "cem@example.org"];
    for (start, email) in starts.iter().zip(emails) {
        book(&app.url, start, email).await;
    }

    let mut late = Duration::ZERO;
    let first = app
        .message_problems_when(&root, "three failed first attempts", PROBLEMS_WITHIN, |p| {
            attempts_all(p, 1)
        })
        .await;
    let ids: Vec<String> = first["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(first["overdue"].as_array().unwrap().is_empty(), "{first}");
    // Attempts 2 … 6 at 1, 3, 7, 15 and 31 minutes: each waits for its back-off, no longer.
    for attempt in 1..=5 {
        let wait = backoff(attempt).to_std().unwrap();
        hand.advance(chrono::Duration::from_std(wait - Duration::from_secs(20)).unwrap());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let early = app.staff_ok(&root, reqwest::Method::GET, "/api/admin/messages").await;
        assert!(
            attempts_all(&early, u64::from(attempt)),
            "tried before its back-off ran out: {early}"
        );
        hand.advance(chrono::Duration::seconds(25));
        late += wait + Duration::from_secs(5);
        let now = app
            .message_problems_when(&root, "the next attempt", PROBLEMS_WITHIN, |p| {
                attempts_all(p, u64::from(attempt) + 1)
            })
            .await;
        let overdue = now["overdue"].as_array().unwrap().len();
        let expected = if late > Duration::from_secs(10 * 60) { 3 } else { 0 };
        assert_eq!(overdue, expected, "{} minutes late: {now}", late.as_secs() / 60);
    }
    // Up again after an hour; the seventh attempt is due at 63 minutes.
    hand.advance(chrono::Duration::minutes(29));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let waiting = app.staff_ok(&root, reqwest::Method::GET, "/api/admin/messages").await;
    assert!(attempts_all(&waiting, 6), "no attempt before 63 minutes: {waiting}");
    assert!(sink.messages().is_empty());
    sink.set_down(false);
    hand.advance(chrono::Duration::minutes(4));
    let sent = sink.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(sent.len(), 3);
    // Hours later nothing more goes out, and nothing is flagged any more.
    hand.advance(chrono::Duration::hours(3));
    app.message_problems_when(&root, "a clean list", PROBLEMS_WITHIN, |p| {
        ["failing", "overdue", "expired"]
            .iter()
            .all(|k| p[*k].as_array().unwrap().is_empty())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let sent = sink.messages();
    let mut to: Vec<String> = sent
        .iter()
        .map(|m| {
            decoded(m)
                .lines()
                .find_map(|l| l.strip_prefix("To: ").map(str::to_owned))
                .unwrap()
        })
        .collect();
    to.sort();
    assert_eq!(to, emails, "one confirmation each");
    assert!(sink.turned_away() >= 18, "six attempts each: {}", sink.turned_away());
    for id in ids {
        let events = app
            .store()
            .read_stream(&schalter_events::outbox::stream(&id), 0)
            .await
            .unwrap();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match schalter_events::decode::<MessageEvent>(e).unwrap() {
                MessageEvent::DeliveryStarted { .. } => "started",
                MessageEvent::DeliveryFailed { .. } => "failed",
                MessageEvent::MessageSent { .. } => "sent",
            })
            .collect();
        let mut expected = ["started", "failed"].repeat(6);
        expected.extend(["started", "sent"]);
        assert_eq!(kinds, expected, "{id}");
    }
    app.stop().await;
}

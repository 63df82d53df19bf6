//! Property test of the public booking endpoints: random bodies, types, query strings and
//! paths never produce a 5xx, and every error is JSON with a stable code.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use schalter_tests::{spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

/// Any JSON value, shallow: what a confused or hostile client might send for one field.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}".prop_map(Value::String),
        prop::collection::vec(any::<u8>().prop_map(|n| json!(n)), 0..4).prop_map(Value::Array),
        Just(json!({"nested": {"deep": [1, 2, 3]}})),
    ]
}

/// A booking body: each known field present or not, with a plausible or arbitrary value, and
/// sometimes a field nobody asked for.
fn booking_body() -> impl Strategy<Value = Value> {
    let field =
        |plausible: Value| prop_oneof![3 => Just(Some(plausible)), 2 => any_value().prop_map(Some), 1 => Just(None)];
    (
        field(json!("buergerbuero")),
        field(json!("personalausweis")),
        field(json!("2027-01-12T09:00:00+01:00")),
        field(json!("Erika Mustermann")),
        field(json!("erika@example.org")),
        field(json!("+49 621 504-0")),
        field(json!(true)),
        prop::option::of(("[a-z]{1,8}", any_value())),
    )
        .prop_map(|(location, service, start, name, email, phone, consent, extra)| {
            let mut body = serde_json::Map::new();
            for (key, value) in [
                ("location", location),
                ("service", service),
                ("start", start),
                ("name", name),
                ("email", email),
                ("phone", phone),
                ("privacy_accepted", consent),
            ] {
                if let Some(v) = value {
                    body.insert(key.into(), v);
                }
            }
            if let Some((k, v)) = extra {
                body.insert(k, v);
            }
            Value::Object(body)
        })
}

#[derive(Debug, Clone)]
enum Probe {
    Book(Value),
    BookRaw(Vec<u8>),
    Availability(String),
    View(String),
    Reschedule(String, Value),
    Cancel(String),
    Calendar(String),
}

fn probe() -> impl Strategy<Value = Probe> {
    let code = prop_oneof!["[A-Z0-9-]{0,24}", ".{0,30}", Just("AAAA-BBBB-CCCC-DDDD".to_owned())];
    prop_oneof![
        4 => booking_body().prop_map(Probe::Book),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Probe::BookRaw),
        2 => "(location=[a-z]{0,12}|service=[a-z]{0,16}|from=[0-9-]{0,12}|days=-?[0-9]{0,4}|&|=|%[0-9A-F]{2}){0,8}".prop_map(Probe::Availability),
        1 => code.clone().prop_map(Probe::View),
        1 => (code.clone(), any_value()).prop_map(|(c, s)| Probe::Reschedule(c, json!({"start": s}))),
        1 => code.clone().prop_map(Probe::Cancel),
        1 => code.prop_map(Probe::Calendar),
    ]
}

async fn send(app: &TestApp, probe: &Probe) -> (u16, String, String) {
    let c = &app.client;
    let url = |path: &str| format!("{}{path}", app.url);
    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('#', "%23")
    };
    let request = match probe {
        Probe::Book(body) => c.post(url("/api/bookings")).json(body),
        Probe::BookRaw(bytes) => c
            .post(url("/api/bookings"))
            .header("content-type", "application/json")
            .body(bytes.clone()),
        Probe::Availability(q) => c.get(url(&format!("/api/availability?{q}"))),
        Probe::View(code) => c.get(url(&format!("/api/bookings/{}", enc(code)))),
        Probe::Reschedule(code, body) => c
            .post(url(&format!("/api/bookings/{}/reschedule", enc(code))))
            .json(body),
        Probe::Cancel(code) => c.delete(url(&format!("/api/bookings/{}", enc(code)))),
        Probe::Calendar(code) => c.get(url(&format!("/api/bookings/{}/calendar.ics", enc(code)))),
    };
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, response.text().await.unwrap_or_default())
}

#[test]
fn public_booking_endpoints_never_fail_with_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app(runtime.block_on(TestDb::sqlite())).start());
    let cases = AtomicUsize::new(0);
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let mut runner = TestRunner::new(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&probe(), |p| {
        let (status, kind, body) = runtime.block_on(send(&app, &p));
        cases.fetch_add(1, Ordering::Relaxed);
        *statuses.lock().unwrap().entry(status).or_default() += 1;
        prop_assert!(status < 500, "{p:?} → {status} {body}");
        if status >= 400 && status != 405 {
            prop_assert!(kind.starts_with("application/json"), "{p:?} → {status} {kind} {body}");
            let error: Value = serde_json::from_str(&body).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
            prop_assert!(error["error"].as_str().is_some_and(|c| !c.is_empty()), "{p:?} → {body}");
        }
        Ok(())
    });
    eprintln!(
        "fuzzed the public booking endpoints with {} cases; statuses {:?}",
        cases.load(Ordering::Relaxed),
        statuses.lock().unwrap()
    );
    outcome.unwrap();
    runtime.block_on(app.stop());
}

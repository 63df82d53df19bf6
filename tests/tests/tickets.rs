//! Walk-in tickets: numbers never issued twice, whoever prints them at once; only kiosks of the
//! location and desk staff may issue them.

use std::collections::HashSet;

use schalter_tests::app::{add_device, add_user, import_demo_config};
use schalter_tests::{on_both_backends, spawn_app, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    thousand_concurrent_kiosk_tickets_get_distinct_numbers,
    who_may_issue_tickets,
    no_walk_in_tickets_while_the_office_is_closed
);

async fn thousand_concurrent_kiosk_tickets_get_distinct_numbers(db: TestDb) {
    let app = spawn_app(db).start().await;
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let requests = (0..1000).map(|i| {
        let client = app.client.clone();
        let url = format!("{}/api/locations/buergerbuero/tickets", app.url);
        let auth = format!("Bearer {kiosk}");
        // Two prefixes interleaved: A (ID card) and C (registration of address).
        let service = if i % 4 == 0 {
            "wohnsitz-anmeldung"
        } else {
            "personalausweis"
        };
        tokio::spawn(async move {
            let r = client
                .post(url)
                .header("authorization", auth)
                .json(&json!({"service": service}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        results.iter().all(|(s, _)| *s == 201),
        "{:?}",
        results.iter().find(|(s, _)| *s != 201)
    );
    let numbers: Vec<&str> = results.iter().map(|(_, t)| t["number"].as_str().unwrap()).collect();
    let distinct: HashSet<&&str> = numbers.iter().collect();
    assert_eq!(distinct.len(), 1000, "no number issued twice");
    let expected: HashSet<String> = (1..=750)
        .map(|n| format!("A-{n:03}"))
        .chain((1..=250).map(|n| format!("C-{n:03}")))
        .collect();
    assert_eq!(
        numbers.iter().map(|n| n.to_string()).collect::<HashSet<_>>(),
        expected,
        "gap-free per prefix"
    );
    let tokens: HashSet<&str> = results.iter().map(|(_, t)| t["token"].as_str().unwrap()).collect();
    assert_eq!(tokens.len(), 1000);
    app.stop().await;
}

async fn who_may_issue_tickets(db: TestDb) {
    let app = spawn_app(db).start().await;
    let url = app.db.url.clone();
    let kiosk = add_device(&url, "buergerbuero", "kiosk");
    let display = add_device(&url, "buergerbuero", "display");
    let other_kiosk = add_device(&url, "kfz-zulassung", "kiosk");
    add_user(&url, "clerk", "desk", "counter-one-2026");
    add_user(&url, "boss", "manager", "statistics-2026");
    let issue = |location: &str, auth: Option<(&str, String)>, body: Value| {
        let mut r = app
            .client
            .post(format!("{}/api/locations/{location}/tickets", app.url))
            .json(&body);
        if let Some((name, value)) = auth {
            r = r.header(name, value);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let ausweis = json!({"service": "personalausweis"});
    let bearer = |t: &str| Some(("authorization", format!("Bearer {t}")));
    assert_eq!(issue("buergerbuero", None, ausweis.clone()).await.0, 401);
    let (status, err) = issue("buergerbuero", bearer(&display), ausweis.clone()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("forbidden")),
        "a display cannot issue tickets"
    );
    assert_eq!(
        issue("buergerbuero", bearer(&other_kiosk), ausweis.clone()).await.0,
        403,
        "only its own location"
    );
    let (status, ticket) = issue("buergerbuero", bearer(&kiosk), ausweis.clone()).await;
    assert_eq!((status, ticket["number"].as_str()), (201, Some("A-001")));

    let clerk = app.sign_in("clerk", "counter-one-2026").await;
    let (status, ticket) = issue("buergerbuero", Some(("cookie", clerk.clone())), ausweis.clone()).await;
    assert_eq!(
        (status, ticket["number"].as_str()),
        (201, Some("A-002")),
        "the desk issues for people at the counter"
    );
    let boss = app.sign_in("boss", "statistics-2026").await;
    assert_eq!(
        issue("buergerbuero", Some(("cookie", boss)), ausweis.clone()).await.0,
        403,
        "managers do not run the queue"
    );

    let head = app.store().head().await.unwrap();
    for (location, body, status, code) in [
        (
            "buergerbuero",
            json!({"service": "kfz-neuzulassung"}),
            422,
            "unknown_service",
        ),
        (
            "kfz-zulassung",
            json!({"service": "wunschkennzeichen"}),
            422,
            "no_walk_in",
        ),
        ("atlantis", json!({"service": "personalausweis"}), 404, "not_found"),
        ("buergerbuero", json!({"service": 7}), 422, "invalid_body"),
    ] {
        let (got, err) = issue(location, Some(("cookie", clerk.clone())), body.clone()).await;
        assert_eq!((got, err["error"].as_str()), (status, Some(code)), "{location} {body}");
    }
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "refused requests store nothing"
    );
    app.stop().await;
}

on_both_backends!(ticket_status_shows_position_estimate_and_counter);

async fn ticket_status_shows_position_estimate_and_counter(db: TestDb) {
    let app = spawn_app(db).start().await;
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let mut tokens = vec![];
    for _ in 0..3 {
        let r = app
            .client
            .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
            .header("authorization", format!("Bearer {kiosk}"))
            .json(&json!({"service": "personalausweis"}))
            .send()
            .await
            .unwrap();
        tokens.push(r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned());
    }
    let (status, third) = app.get_json(&format!("/api/tickets/status/{}", tokens[2])).await;
    assert_eq!(status, 200);
    assert_eq!(
        third,
        // No counter open yet: nobody can say how long.
        json!({"number": "A-003", "service": "personalausweis", "state": "waiting", "ahead": 2})
    );
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.open_counter(&anna, "buergerbuero-2").await;
    let (_, third) = app.get_json(&format!("/api/tickets/status/{}", tokens[2])).await;
    // 2 ahead × 20 min at one open counter = 40 min, shown as 30–60.
    assert_eq!(third["estimate_minutes"], json!([30, 60]));
    let called = app
        .staff_ok(&anna, reqwest::Method::POST, "/api/counters/buergerbuero-2/call-next")
        .await;
    assert_eq!(called["number"], "A-001");
    let (_, first) = app.get_json(&format!("/api/tickets/status/{}", tokens[0])).await;
    assert_eq!(
        first,
        json!({"number": "A-001", "service": "personalausweis", "state": "called", "counter": "2"})
    );
    let (_, third) = app.get_json(&format!("/api/tickets/status/{}", tokens[2])).await;
    assert_eq!(third["ahead"], 1);
    let (status, err) = app.get_json("/api/tickets/status/not-a-token").await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")));
    app.stop().await;
}

/// A ticket drawn at night would wait until morning and count as night-time demand: the kiosk
/// and the desk hand out walk-in tickets only while the office is open (from a quarter of an
/// hour before). Here the Bürgerbüro is closed today and tomorrow (a closure), the vehicle
/// registration office keeps its hours.
async fn no_walk_in_tickets_while_the_office_is_closed(db: TestDb) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    import_demo_config(&db.url, |config| {
        let closure = format!(
            "closures = [{{ from = \"{today}\", to = \"{}\", reason = {{ de = \"Umzug\", en = \"Moving\" }} }}]",
            today.succ_opt().unwrap()
        );
        let edited = config.replacen("closures = []", &closure, 1);
        assert_ne!(edited, config);
        edited
    });
    let app = spawn_app(db).office_hours().start().await;
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "clerk", "desk", "counter-one-2026");
    let clerk = app.sign_in("clerk", "counter-one-2026").await;
    let head = app.store().head().await.unwrap();
    let path = "/api/locations/buergerbuero/tickets";
    let bearer = format!("Bearer {kiosk}");
    let (status, body) = app
        .post_as(path, ("authorization", &bearer), &json!({"service": "personalausweis"}))
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("office_closed")), "{body}");
    let (status, _) = app
        .post_as(path, ("cookie", &clerk), &json!({"service": "wohnsitz-anmeldung"}))
        .await;
    assert_eq!(status, 409, "the desk cannot either");
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "nothing stored for a refused ticket"
    );
    app.stop().await;
}

//! Calling the next ticket: two counters calling at the same moment never get the same ticket,
//! a repeated call (same Idempotency-Key) returns the same ticket, counters call only what they
//! serve.

use std::collections::HashSet;

use schalter_tests::app::{add_device, add_user};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    two_counters_calling_at_once_never_share_a_ticket,
    call_next_is_idempotent_and_respects_skills,
    a_citizen_sent_away_for_missing_documents_is_counted
);

async fn issue(app: &TestApp, kiosk: &str, service: &str) -> String {
    issued(app, kiosk, service).await["number"].as_str().unwrap().to_owned()
}

async fn issued(app: &TestApp, kiosk: &str, service: &str) -> Value {
    let r = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&json!({"service": service}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()
}

async fn call_next(app: &TestApp, cookie: &str, counter: &str, key: Option<&str>) -> (u16, Value) {
    let mut r = app
        .client
        .post(format!("{}/api/counters/{counter}/call-next", app.url))
        .header("cookie", cookie);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    schalter_tests::app::status_and_json(r).await
}

async fn setup(db: TestDb) -> (TestApp, String, String, String) {
    let app = spawn_app(db).start().await;
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "bert", "desk", "counter-two-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let bert = app.sign_in("bert", "counter-two-2026").await;
    app.open_counter(&anna, "buergerbuero-1").await;
    app.open_counter(&bert, "buergerbuero-2").await;
    (app, kiosk, anna, bert)
}

async fn two_counters_calling_at_once_never_share_a_ticket(db: TestDb) {
    let (app, kiosk, anna, bert) = setup(db).await;
    let mut issued = HashSet::new();
    let mut called = HashSet::new();
    for round in 0..500 {
        issued.insert(issue(&app, &kiosk, "personalausweis").await);
        let (one, two) = tokio::join!(
            call_next(&app, &anna, "buergerbuero-1", None),
            call_next(&app, &bert, "buergerbuero-2", None)
        );
        let mut statuses = [one.0, two.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 204],
            "round {round}: one counter gets the ticket, the other nobody"
        );
        let winner = if one.0 == 200 { one.1 } else { two.1 };
        assert!(
            called.insert(winner["number"].as_str().unwrap().to_owned()),
            "round {round}: called twice"
        );
    }
    assert_eq!(called, issued, "every ticket called exactly once");
    // With two waiting, both counters get one each, different ones.
    for _ in 0..50 {
        issue(&app, &kiosk, "personalausweis").await;
        issue(&app, &kiosk, "reisepass").await;
        let (one, two) = tokio::join!(
            call_next(&app, &anna, "buergerbuero-1", None),
            call_next(&app, &bert, "buergerbuero-2", None)
        );
        assert_eq!((one.0, two.0), (200, 200));
        assert_ne!(one.1["number"], two.1["number"]);
    }
    app.stop().await;
}

async fn call_next_is_idempotent_and_respects_skills(db: TestDb) {
    let (app, kiosk, anna, _) = setup(db).await;
    let first = issue(&app, &kiosk, "personalausweis").await;
    let second = issue(&app, &kiosk, "personalausweis").await;
    let (status, called) = call_next(&app, &anna, "buergerbuero-1", Some("call-key-000001")).await;
    assert_eq!(
        (status, called["number"].as_str(), called["counter"].as_str()),
        (200, Some(first.as_str()), Some("1"))
    );
    let (status, again) = call_next(&app, &anna, "buergerbuero-1", Some("call-key-000001")).await;
    assert_eq!(
        (status, again["number"].as_str()),
        (200, Some(first.as_str())),
        "the retry returns the same ticket"
    );
    let (_, next) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(
        next["number"].as_str(),
        Some(second.as_str()),
        "the retry did not consume another ticket"
    );

    // A closed counter calls nobody.
    let (status, err) = call_next(&app, &anna, "buergerbuero-4", None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("counter_closed")));
    app.open_counter(&anna, "buergerbuero-4").await;
    // Counter 4 only hands out documents: it does not call an ID-card application.
    issue(&app, &kiosk, "personalausweis").await;
    assert_eq!(call_next(&app, &anna, "buergerbuero-4", None).await.0, 204);
    let pickup = issue(&app, &kiosk, "ausweis-abholung").await;
    let (_, called) = call_next(&app, &anna, "buergerbuero-4", None).await;
    assert_eq!(called["number"].as_str(), Some(pickup.as_str()));

    // Roles: a manager and a kiosk cannot call; unknown counters are 404.
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let boss = app.sign_in("boss", "statistics-2026").await;
    assert_eq!(call_next(&app, &boss, "buergerbuero-1", None).await.0, 403);
    let r = app
        .client
        .post(format!("{}/api/counters/buergerbuero-1/call-next", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a device is not signed-in staff");
    assert_eq!(call_next(&app, &anna, "mond-1", None).await.0, 404);
    app.stop().await;
}

on_both_backends!(a_clerks_day_with_a_ticket, mis_taps_are_undone_and_tickets_chosen);

async fn act(app: &TestApp, cookie: &str, id: &str, action: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = app
        .client
        .post(format!("{}/api/tickets/{id}/{action}", app.url))
        .header("cookie", cookie);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_clerks_day_with_a_ticket(db: TestDb) {
    let (app, kiosk, anna, _) = setup(db).await;
    let first = issue(&app, &kiosk, "personalausweis").await;
    let second = issue(&app, &kiosk, "personalausweis").await;
    let (_, called) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(called["number"].as_str(), Some(first.as_str()));
    let id = called["id"].as_str().unwrap().to_owned();

    assert_eq!(act(&app, &anna, &id, "recall", None).await.1["state"], "called");
    // Not there yet: park it; it waits again at the back of the line.
    assert_eq!(act(&app, &anna, &id, "park", None).await.1["state"], "waiting");
    // The desk's line marks it, so its fresh waiting time is not read as a newcomer's.
    let line = app
        .staff_ok(&anna, reqwest::Method::GET, "/api/locations/buergerbuero/queue")
        .await;
    let parked: Vec<(&str, bool)> = line["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["number"].as_str().unwrap(), w["parked"].as_bool().unwrap()))
        .collect();
    assert_eq!(parked, [(second.as_str(), false), (first.as_str(), true)]);
    let (_, next) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(
        next["number"].as_str(),
        Some(second.as_str()),
        "the parked ticket queues behind"
    );
    let (_, back) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(back["number"].as_str(), Some(first.as_str()));

    let (status, started) = act(&app, &anna, &id, "start", None).await;
    assert_eq!((status, started["state"].as_str()), (200, Some("in-service")));
    let (status, err) = act(&app, &anna, &id, "no-show", None).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (409, Some("not_allowed_now")),
        "in service is not a no-show"
    );
    // Wrong service chosen at the kiosk: transfer to the passport queue, keeping the place.
    let (status, err) = act(
        &app,
        &anna,
        &id,
        "transfer",
        Some(json!({"service": "kfz-neuzulassung"})),
    )
    .await;
    assert_eq!((status, err["error"].as_str()), (422, Some("unknown_service")));
    let (status, err) = act(&app, &anna, &id, "transfer", None).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("invalid_transfer")));
    let (status, moved) = act(&app, &anna, &id, "transfer", Some(json!({"service": "reisepass"}))).await;
    assert_eq!(
        (status, moved["service"].as_str(), moved["state"].as_str()),
        (200, Some("reisepass"), Some("waiting"))
    );
    let (_, again) = call_next(&app, &anna, "buergerbuero-2", None).await;
    assert_eq!(again["number"].as_str(), Some(first.as_str()));
    act(&app, &anna, &id, "start", None).await;
    assert_eq!(act(&app, &anna, &id, "finish", None).await.1["state"], "finished");
    assert_eq!(act(&app, &anna, &id, "finish", None).await.0, 409, "finished once");

    // The second ticket: called but nobody came.
    let second_id = next["id"].as_str().unwrap();
    assert_eq!(act(&app, &anna, second_id, "no-show", None).await.1["state"], "no-show");

    // Bad requests.
    assert_eq!(act(&app, &anna, &id, "teleport", None).await.0, 404);
    assert_eq!(
        act(&app, &anna, "buergerbuero-20000101-A-001", "start", None).await.0,
        404
    );
    assert_eq!(act(&app, &anna, "nonsense", "start", None).await.0, 404);
    let r = app
        .client
        .post(format!("{}/api/tickets/{id}/transfer", app.url))
        .header("cookie", &anna)
        .body("{\"service\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .post(format!("{}/api/tickets/{id}/start", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Every step is on the audit trail with the clerk as actor.
    let actors: HashSet<Option<String>> = app
        .store()
        .read_all(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream.starts_with("ticket-"))
        .map(|e| e.metadata.actor)
        .collect();
    assert_eq!(actors, HashSet::from([Some("staff:anna".to_owned())]));
    app.stop().await;
}

async fn sent_away(app: &TestApp, cookie: &str, ticket: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/api/tickets/{ticket}/sent-away", app.url))
        .header("cookie", cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The new-developer exercise of the command executor: a clerk's note that ends a ticket.
async fn a_citizen_sent_away_for_missing_documents_is_counted(db: TestDb) {
    let (app, kiosk, anna, _) = setup(db).await;
    issue(&app, &kiosk, "personalausweis").await;
    let second = issued(&app, &kiosk, "personalausweis").await;
    let (status, called) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(status, 200, "{called}");
    let id = called["id"].as_str().unwrap().to_owned();

    let missing = json!({"reason": "documents-missing"});
    let (status, ticket) = sent_away(&app, &anna, &id, missing.clone()).await;
    assert_eq!((status, ticket["state"].as_str()), (200, Some("finished")), "{ticket}");
    let (status, again) = sent_away(&app, &anna, &id, missing.clone()).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("not_allowed_now")),
        "{again}"
    );
    let (status, bad) = sent_away(&app, &anna, &id, json!({"reason": "bad-weather"})).await;
    assert_eq!((status, bad["error"].as_str()), (422, Some("invalid_body")), "{bad}");
    let waiting = second["id"].as_str().unwrap();
    let (status, refused) = sent_away(&app, &anna, waiting, missing).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("not_allowed_now")),
        "still waiting: {refused}"
    );

    // The counter is free again: the next citizen is called.
    let (status, next) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(status, 200);
    assert_ne!(next["id"], called["id"]);

    add_user(&app.db.url, "maria", "manager", "evaluation-2026");
    let maria = app.sign_in("maria", "evaluation-2026").await;
    let summary = app
        .client
        .get(format!("{}/api/stats/summary", app.url))
        .header("cookie", &maria)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let figures = &summary["figures"];
    assert_eq!(figures["sent_away_documents_missing"], 1, "{figures}");
    assert_eq!(figures["served"], 0, "sent away is not served: {figures}");
}

async fn call_ticket(app: &TestApp, cookie: &str, counter: &str, id: &str) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/api/counters/{counter}/call/{id}", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A no-show tapped by mistake is taken back while the counter has called nobody since, and
/// counts as served; a clerk can call one waiting ticket out of the policy's order.
async fn mis_taps_are_undone_and_tickets_chosen(db: TestDb) {
    let (app, kiosk, anna, bert) = setup(db).await;
    let first = issued(&app, &kiosk, "personalausweis").await;
    let second = issued(&app, &kiosk, "personalausweis").await;
    let third = issued(&app, &kiosk, "personalausweis").await;
    let (_, called) = call_next(&app, &anna, "buergerbuero-1", None).await;
    let id = called["id"].as_str().unwrap().to_owned();
    assert_eq!(called["number"], first["number"]);
    // Drawn now: a waiting pick-up would be the policy's next call at counter 1.
    let pickup = issued(&app, &kiosk, "ausweis-abholung").await;

    assert_eq!(act(&app, &anna, &id, "no-show", None).await.1["state"], "no-show");
    let (status, back) = act(&app, &anna, &id, "undo-no-show", None).await;
    assert_eq!(
        (status, back["state"].as_str(), back["counter"].as_str()),
        (200, Some("called"), Some("1"))
    );
    let (status, err) = act(&app, &anna, &id, "undo-no-show", None).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (409, Some("not_allowed_now")),
        "only a no-show"
    );
    assert_eq!(act(&app, &anna, &id, "finish", None).await.1["state"], "finished");

    // Chosen out of order: the third ticket before the second.
    let third_id = third["id"].as_str().unwrap();
    let (status, chosen) = call_ticket(&app, &anna, "buergerbuero-1", third_id).await;
    assert_eq!((status, chosen["number"].as_str()), (200, third["number"].as_str()));
    let (status, err) = call_ticket(&app, &bert, "buergerbuero-2", third_id).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (409, Some("not_allowed_now")),
        "called already"
    );
    app.open_counter(&bert, "buergerbuero-4").await;
    let (status, err) = call_ticket(&app, &bert, "buergerbuero-4", second["id"].as_str().unwrap()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (409, Some("not_served_here")),
        "counter 4 only hands out documents"
    );
    let (status, chosen_pickup) = call_ticket(&app, &bert, "buergerbuero-4", pickup["id"].as_str().unwrap()).await;
    assert_eq!((status, chosen_pickup["counter"].as_str()), (200, Some("4")));
    let (status, err) = call_ticket(&app, &anna, "buergerbuero-3", second["id"].as_str().unwrap()).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("counter_closed")));
    assert_eq!(
        call_ticket(&app, &anna, "buergerbuero-1", "buergerbuero-20000101-A-001")
            .await
            .0,
        404
    );
    assert_eq!(
        call_ticket(&app, &anna, "buergerbuero-1", "kfz-zulassung-20000101-A-001")
            .await
            .0,
        404
    );
    assert_eq!(call_ticket(&app, &anna, "buergerbuero-1", "nonsense").await.0, 404);

    // The third was a no-show after all; meanwhile counter 1 called the second: too late to
    // take it back there.
    let third_id = chosen["id"].as_str().unwrap().to_owned();
    act(&app, &anna, &third_id, "no-show", None).await;
    let (_, next) = call_next(&app, &anna, "buergerbuero-1", None).await;
    assert_eq!(next["number"], second["number"]);
    let (status, err) = act(&app, &anna, &third_id, "undo-no-show", None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("counter_busy")));

    let line = app
        .staff_ok(&anna, reqwest::Method::GET, "/api/locations/buergerbuero/queue")
        .await;
    assert_eq!(
        (line["finished"].as_u64(), line["no_shows"].as_u64()),
        (Some(1), Some(1))
    );
    app.stop().await;
}

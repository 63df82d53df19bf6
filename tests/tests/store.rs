//! The event-store contract (DESIGN.md), checked unchanged against SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use schalter_events::store::{AppendRequest, DataKey, Store, StoreError, Upcasters};
use schalter_events::{Expectation, Metadata, NewEvent};
use schalter_tests::{on_both_backends, Kind, TestDb};
use serde_json::json;

fn event(stream: &str, n: i64) -> NewEvent {
    NewEvent {
        stream: stream.into(),
        event_type: "Happened".into(),
        schema: 1,
        data: json!({ "n": n }),
    }
}

async fn stream_len(store: &Store, stream: &str) -> usize {
    store.read_stream(stream, 0).await.unwrap().len()
}

on_both_backends!(
    racing_writers_one_wins,
    failed_expectation_writes_nothing,
    repeated_command_returns_first_outcome,
    a_command_id_answers_only_for_its_own_request,
    concurrent_writers_subscriber_sees_everything_once_in_order,
    subscription_resumes_from_checkpoint,
    old_schemas_are_upcast_on_read,
    reads_by_stream_and_position,
    empty_append_is_refused,
    data_keys_are_stored_exactly_with_their_events,
    queued_appends_are_written_in_order_and_fail_together,
    subscribers_get_written_events_exactly_as_stored,
    reading_ahead_returns_the_whole_log_in_order,
    a_copy_carries_the_log_and_the_keys_to_either_backend,
    a_key_is_rewrapped_only_while_it_is_unchanged,
);

/// Two writers who both saw version 1 race to write version 2: exactly one wins.
async fn racing_writers_one_wins(db: TestDb) {
    let store = db.store().await;
    for round in 0..40 {
        let stream = format!("race-{round}");
        store
            .append(&AppendRequest::new(vec![event(&stream, 0)]))
            .await
            .unwrap();
        let attempts = (0..2).map(|writer| {
            let store = store.clone();
            let stream = stream.clone();
            tokio::spawn(async move {
                store
                    .append(
                        &AppendRequest::new(vec![event(&stream, writer)])
                            .expect(stream.clone(), Expectation::AtVersion(1)),
                    )
                    .await
            })
        });
        let results: Vec<_> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        let loser = results.iter().find(|r| r.is_err()).unwrap().as_ref().unwrap_err();
        assert!(
            matches!(
                loser,
                StoreError::Conflict {
                    actual: 2,
                    expected: Expectation::AtVersion(1),
                    ..
                }
            ),
            "{loser:?}"
        );
        let events = store.read_stream(&stream, 0).await.unwrap();
        assert_eq!(events.len(), 2, "the loser's event must not be stored");
        assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), vec![1, 2]);
    }
}

/// A writer may queue an append that expects the version an earlier queued append will
/// create: they are written in the order queued, and when the first fails the second does too.
async fn queued_appends_are_written_in_order_and_fail_together(db: TestDb) {
    let store = db.store().await;
    for round in 0..20 {
        let stream = format!("chain-{round}");
        store
            .append(&AppendRequest::new(vec![event(&stream, 0)]))
            .await
            .unwrap();
        let mut queued = Vec::new();
        for v in 1..=4 {
            let request = AppendRequest::new(vec![event(&stream, v)]).expect(stream.clone(), Expectation::AtVersion(v));
            queued.push(store.submit(&request).await.unwrap());
        }
        for (v, outcome) in (1..=4).zip(queued) {
            let outcome = outcome.outcome().await.unwrap();
            assert_eq!(outcome.streams[0].version, v + 1, "round {round}");
        }

        // A stale head of the chain: everything queued behind it expects versions that never come.
        let stale = store
            .submit(&AppendRequest::new(vec![event(&stream, 9)]).expect(stream.clone(), Expectation::AtVersion(4)))
            .await
            .unwrap();
        let behind = store
            .submit(&AppendRequest::new(vec![event(&stream, 10)]).expect(stream.clone(), Expectation::AtVersion(6)))
            .await
            .unwrap();
        assert!(stale.outcome().await.unwrap_err().is_conflict());
        assert!(behind.outcome().await.unwrap_err().is_conflict());
        assert_eq!(stream_len(&store, &stream).await, 5, "round {round}");
    }
}

/// A multi-stream append is all or nothing.
async fn failed_expectation_writes_nothing(db: TestDb) {
    let store = db.store().await;
    store.append(&AppendRequest::new(vec![event("b", 1)])).await.unwrap();
    let head = store.head().await.unwrap();
    let request = AppendRequest::new(vec![event("a", 1), event("b", 2), event("c", 3)])
        .expect("a", Expectation::NoStream)
        .expect("b", Expectation::NoStream) // wrong: b exists
        .command_id("cmd-multi");
    let err = store.append(&request).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, actual: 1, .. } if stream == "b"),
        "{err:?}"
    );
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(stream_len(&store, "a").await, 0);
    assert_eq!(stream_len(&store, "b").await, 1);
    assert_eq!(stream_len(&store, "c").await, 0);
    assert_eq!(
        store.command_outcome("cmd-multi", None).await.unwrap(),
        None,
        "a failed command is not remembered"
    );

    // With the right beliefs the same three events land together.
    let ok = store
        .append(
            &AppendRequest::new(vec![event("a", 1), event("b", 2), event("c", 3)])
                .expect("a", Expectation::NoStream)
                .expect("b", Expectation::AtVersion(1)),
        )
        .await
        .unwrap();
    assert_eq!(ok.last_position - ok.first_position, 2);
    assert_eq!(
        (
            stream_len(&store, "a").await,
            stream_len(&store, "b").await,
            stream_len(&store, "c").await
        ),
        (1, 2, 1)
    );
}

async fn repeated_command_returns_first_outcome(db: TestDb) {
    let store = db.store().await;
    let request = AppendRequest::new(vec![event("booking-1", 1), event("slot-9", 1)]).command_id("key-123");
    let first = store.append(&request).await.unwrap();
    assert!(!first.duplicate);
    let head = store.head().await.unwrap();
    // Even with expectations that would now fail, the repeat returns the first outcome.
    let again = store
        .append(&request.clone().expect("booking-1", Expectation::NoStream))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (again.first_position, again.last_position, &again.streams),
        (first.first_position, first.last_position, &first.streams)
    );
    assert_eq!(store.head().await.unwrap(), head, "nothing appended by the repeat");
    assert_eq!(
        store
            .command_outcome("key-123", None)
            .await
            .unwrap()
            .unwrap()
            .last_position,
        first.last_position
    );
    // Concurrent repeats of one new command: one append, all see the same outcome.
    let request = AppendRequest::new(vec![event("booking-2", 1)]).command_id("key-456");
    let outcomes = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        let request = request.clone();
        tokio::spawn(async move { store.append(&request).await.unwrap() })
    }))
    .await;
    let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.iter().filter(|o| !o.duplicate).count(), 1);
    assert!(outcomes.iter().all(|o| o.first_position == outcomes[0].first_position));
    assert_eq!(stream_len(&store, "booking-2").await, 1);
}

/// A command id stored with one request's fingerprint: the same fingerprint gets the first
/// outcome; another, or none, is refused with nothing written, whether it asks first or appends.
async fn a_command_id_answers_only_for_its_own_request(db: TestDb) {
    let store = db.store().await;
    let first = AppendRequest::new(vec![event("booking-7", 1)])
        .command_id("key-789")
        .fingerprint(Some("fp-a".into()));
    let written = store.append(&first).await.unwrap();
    let head = store.head().await.unwrap();
    let again = store.append(&first).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.last_position, written.last_position);
    for other in [Some("fp-b".to_owned()), None] {
        let reused = AppendRequest::new(vec![event("booking-8", 1)])
            .command_id("key-789")
            .fingerprint(other.clone());
        assert!(
            matches!(store.append(&reused).await, Err(StoreError::CommandReused { ref command_id }) if command_id == "key-789"),
            "{other:?}"
        );
        assert!(matches!(
            store.command_outcome("key-789", other.as_deref()).await,
            Err(StoreError::CommandReused { .. })
        ));
    }
    assert_eq!(store.head().await.unwrap(), head, "nothing written by a reused id");
    assert_eq!(stream_len(&store, "booking-8").await, 0);
    assert_eq!(
        store
            .command_outcome("key-789", Some("fp-a"))
            .await
            .unwrap()
            .unwrap()
            .last_position,
        written.last_position
    );
}

/// The classic failure of a plain serial column: a transaction that took position 10 commits
/// after one that took 11, and a reader already past 11 never sees 10. Eight writers and a live
/// subscriber prove the store does not have it.
async fn concurrent_writers_subscriber_sees_everything_once_in_order(db: TestDb) {
    let store = db.store().await;
    let writers = 8;
    let per_writer: i64 = if db.kind == Kind::Postgres { 400 } else { 250 };
    let total = writers as usize * per_writer as usize;

    let mut subscription = store.subscribe_from(None, 0);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(total);
        while seen.len() < total {
            let e = tokio::time::timeout(std::time::Duration::from_secs(60), subscription.next())
                .await
                .expect("subscriber stalled: an event was skipped or never woke it")
                .unwrap();
            seen.push(e.position);
        }
        seen
    });

    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let stream = format!("writer-{w}-{}", i % 7);
                    let outcome = store
                        .append(&AppendRequest::new(vec![event(&stream, i)]))
                        .await
                        .unwrap();
                    acknowledged.lock().unwrap().push(outcome.first_position);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "positions must arrive strictly increasing"
    );
    let seen_set: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(seen_set.len(), total, "no event delivered twice");
    let acked: HashSet<i64> = acknowledged.lock().unwrap().iter().copied().collect();
    assert_eq!(acked, seen_set, "every acknowledged event delivered, nothing else");
    // And the per-stream sequences are gap-free.
    for w in 0..writers {
        for s in 0..7 {
            let events = store.read_stream(&format!("writer-{w}-{s}"), 0).await.unwrap();
            assert!(events.iter().enumerate().all(|(i, e)| e.version == i as i64 + 1));
        }
    }
}

/// A subscriber takes the events this process just wrote straight from the writer when it has
/// seen everything before them; they must equal what the database returns, field by field.
async fn subscribers_get_written_events_exactly_as_stored(db: TestDb) {
    let store = db.store().await;
    store
        .append(&AppendRequest::new(vec![event("before", 0)]))
        .await
        .unwrap();
    let head = store.head().await.unwrap();
    let mut subscription = store.subscribe_from(None, head);
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    // Two events on one stream in one append: versions are counted per stream.
                    let (a, b) = (format!("a-{w}"), format!("b-{}", i % 3));
                    let request = AppendRequest::new(vec![event(&a, i), event(&b, i), event(&a, i + 100)])
                        .metadata(schalter_events::Metadata::by("tester", chrono::Utc::now()))
                        .command_id(format!("cmd-{w}-{i}"));
                    store.append(&request).await.unwrap();
                }
            })
        })
        .collect();
    let total = 6 * 20 * 3;
    let mut seen = Vec::new();
    while seen.len() < total {
        let batch = tokio::time::timeout(std::time::Duration::from_secs(30), subscription.next_batch())
            .await
            .expect("subscriber stalled")
            .unwrap();
        seen.extend(batch);
    }
    for w in writers {
        w.await.unwrap();
    }
    let stored = store.read_all(head, 10_000).await.unwrap();
    assert_eq!(seen.len(), stored.len());
    for (got, want) in seen.iter().zip(&stored) {
        assert_eq!(got, want);
    }
}

async fn reading_ahead_returns_the_whole_log_in_order(db: TestDb) {
    let store = db.store().await;
    for n in 0..50 {
        store
            .append(&AppendRequest::new(vec![event(&format!("s-{}", n % 4), n)]))
            .await
            .unwrap();
    }
    let mut batches = store.read_ahead(10, 7);
    let mut read = Vec::new();
    while let Some(batch) = batches.recv().await {
        let batch = batch.unwrap();
        assert!(!batch.is_empty() && batch.len() <= 7);
        read.extend(batch);
    }
    assert_eq!(read, store.read_all(10, 1000).await.unwrap());
    assert_eq!(read.len(), 40);
}

async fn subscription_resumes_from_checkpoint(db: TestDb) {
    {
        let store = db.store().await;
        for n in 1..=10 {
            store.append(&AppendRequest::new(vec![event("log", n)])).await.unwrap();
        }
        let mut sub = store.subscribe("mailer").await.unwrap();
        for _ in 0..6 {
            sub.next().await.unwrap();
        }
        sub.save_checkpoint().await.unwrap();
        assert_eq!(store.checkpoint("mailer").await.unwrap(), 6);
        store.close().await;
    }
    // A new process: connect again and carry on where the checkpoint says.
    let store = db.store().await;
    let mut sub = store.subscribe("mailer").await.unwrap();
    let rest: Vec<i64> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(sub.next().await.unwrap().data["n"].as_i64().unwrap());
        }
        v
    };
    assert_eq!(rest, vec![7, 8, 9, 10]);
    // Live: an event appended now arrives without polling delay mattering for correctness.
    let waiter = tokio::spawn(async move { sub.next().await.unwrap().data["n"].as_i64().unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    store.append(&AppendRequest::new(vec![event("log", 11)])).await.unwrap();
    let live = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live, 11);
    assert_eq!(store.checkpoint("other").await.unwrap(), 0);
}

async fn old_schemas_are_upcast_on_read(db: TestDb) {
    let store = db.store().await;
    store
        .append(&AppendRequest::new(vec![NewEvent {
            stream: "s".into(),
            event_type: "Renamed".into(),
            schema: 1,
            data: json!({ "fullname": "A" }),
        }]))
        .await
        .unwrap();
    let store = store.with_upcasters(Upcasters::default().register("Renamed", 1, |mut v| {
        v["name"] = v["fullname"].take();
        v.as_object_mut().unwrap().remove("fullname");
        v
    }));
    let e = &store.read_stream("s", 0).await.unwrap()[0];
    assert_eq!((e.schema, &e.data), (2, &json!({ "name": "A" })));
    let e = &store.read_all(0, 10).await.unwrap()[0];
    assert_eq!(e.schema, 2);
}

async fn reads_by_stream_and_position(db: TestDb) {
    let store = db.store().await;
    assert_eq!(store.head().await.unwrap(), 0);
    for n in 0..25 {
        let stream = if n % 2 == 0 { "even" } else { "odd" };
        store
            .append(
                &AppendRequest::new(vec![event(stream, n)]).metadata(schalter_events::Metadata {
                    actor: Some("staff:test".into()),
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
    }
    let odd = store.read_stream("odd", 5).await.unwrap();
    assert_eq!(
        odd.iter().map(|e| e.version).collect::<Vec<_>>(),
        (6..=12).collect::<Vec<_>>()
    );
    assert_eq!(odd[0].metadata.actor.as_deref(), Some("staff:test"));
    let page = store.read_all(10, 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );
    assert_eq!(store.head().await.unwrap(), 25);
    assert!(store.read_all(25, 10).await.unwrap().is_empty());
}

async fn empty_append_is_refused(db: TestDb) {
    let store = db.store().await;
    assert!(matches!(
        store.append(&AppendRequest::new(vec![])).await,
        Err(StoreError::EmptyAppend)
    ));
}

/// Random interleavings of appends with right and wrong beliefs, from two concurrent writers,
/// never break the per-stream version sequence, and a refused append leaves no trace.
mod interleavings {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Belief {
        Any,
        NoStream,
        Exact(i64),
        /// The writer reads the stream first and uses what it saw (may be stale by the append).
        Observed,
    }

    #[derive(Debug, Clone)]
    struct Op {
        stream: usize,
        belief: Belief,
        events: usize,
        second_stream: Option<usize>,
    }

    fn op() -> impl Strategy<Value = Op> {
        (
            0usize..3,
            prop_oneof![
                Just(Belief::Any),
                Just(Belief::NoStream),
                (0i64..4).prop_map(Belief::Exact),
                Just(Belief::Observed)
            ],
            1usize..4,
            proptest::option::of(0usize..3),
        )
            .prop_map(|(stream, belief, events, second_stream)| Op {
                stream,
                belief,
                events,
                second_stream,
            })
    }

    async fn run(store: &Store, prefix: &str, ops: Vec<Op>) -> usize {
        let mut written = 0;
        for op in ops {
            let stream = format!("{prefix}-{}", op.stream);
            let expectation = match op.belief {
                Belief::Any => Expectation::Any,
                Belief::NoStream => Expectation::NoStream,
                Belief::Exact(v) => Expectation::AtVersion(v),
                Belief::Observed => Expectation::AtVersion(store.read_stream(&stream, 0).await.unwrap().len() as i64),
            };
            let mut events: Vec<NewEvent> = (0..op.events).map(|n| event(&stream, n as i64)).collect();
            if let Some(s) = op.second_stream {
                events.push(event(&format!("{prefix}-{s}"), 99));
            }
            let n = events.len();
            match store
                .append(&AppendRequest::new(events).expect(stream, expectation))
                .await
            {
                Ok(_) => written += n,
                Err(e) => assert!(e.is_conflict(), "{e:?}"),
            }
        }
        written
    }

    async fn check(kind: Kind, cases: Vec<(Vec<Op>, Vec<Op>)>) {
        let Some(db) = TestDb::of(kind).await else { return };
        let store = db.store().await;
        for (case, (a, b)) in cases.into_iter().enumerate() {
            let prefix = format!("case{case}");
            let before = store.head().await.unwrap();
            let (wa, wb) = tokio::join!(run(&store, &prefix, a), run(&store, &prefix, b));
            // A read hands out settled events only (PostgreSQL: none a running transaction
            // could still precede), so a reader pages on until it has reached the head.
            let head = store.head().await.unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut all: Vec<schalter_events::RecordedEvent> = Vec::new();
            loop {
                let from = all.last().map_or(before, |e| e.position);
                if from >= head {
                    break;
                }
                all.extend(store.read_all(from, 10_000).await.unwrap());
                assert!(std::time::Instant::now() < deadline, "reads reach the head {head}");
            }
            assert_eq!(all.len(), wa + wb, "exactly the acknowledged events were stored");
            let mut per_stream: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for e in &all {
                per_stream.entry(e.stream.clone()).or_default().push(e.version);
            }
            for (stream, versions) in per_stream {
                let expected: Vec<i64> = (1..=versions.len() as i64).collect();
                assert_eq!(versions, expected, "{stream}");
            }
            assert!(all.windows(2).all(|w| w[0].position < w[1].position));
        }
    }

    fn cases() -> impl Strategy<Value = Vec<(Vec<Op>, Vec<Op>)>> {
        proptest::collection::vec(
            (
                proptest::collection::vec(op(), 1..12),
                proptest::collection::vec(op(), 1..12),
            ),
            24..32,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

        #[test]
        fn sqlite(cases in cases()) {
            tokio::runtime::Runtime::new().unwrap().block_on(check(Kind::Sqlite, cases));
        }

        #[test]
        fn postgres(cases in cases()) {
            tokio::runtime::Runtime::new().unwrap().block_on(check(Kind::Postgres, cases));
        }
    }
}

/// Overlapping commits on PostgreSQL (migration 0008): writers call the append function in their
/// own transactions and hold them open for random times, some to roll back, so positions are
/// taken in one order and committed in another. A live subscriber must hand out every committed
/// event exactly once, in position order, and nothing rolled back.
mod open_transactions {
    use super::*;
    use proptest::prelude::*;
    use sqlx::Connection;
    use std::time::Duration;

    #[derive(Debug, Clone)]
    struct Step {
        /// How long the transaction stays open after the append, in milliseconds.
        hold: u64,
        commit: bool,
        events: usize,
        /// One of a few streams every writer shares (they then wait for each other), or the
        /// writer's own.
        shared: Option<u8>,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            0u64..25,
            prop::bool::weighted(0.85),
            1usize..4,
            proptest::option::weighted(0.3, 0u8..3),
        )
            .prop_map(|(hold, commit, events, shared)| Step {
                hold,
                commit,
                events,
                shared,
            })
    }

    /// Runs one writer's steps; returns the positions it committed.
    async fn writer(url: String, case: usize, w: usize, steps: Vec<Step>) -> Vec<i64> {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut committed = Vec::new();
        for (i, step) in steps.into_iter().enumerate() {
            let stream = match step.shared {
                Some(s) => format!("c{case}-shared-{s}"),
                None => format!("c{case}-w{w}"),
            };
            let events: Vec<_> = (0..step.events)
                .map(|n| json!({"stream": stream, "event_type": "Happened", "schema": 1, "data": {"w": w, "i": i, "n": n}}))
                .collect();
            let request = json!([{ "metadata": Metadata::default(), "expectations": [], "events": events }]);
            let mut tx = c.begin().await.unwrap();
            let answer: serde_json::Value = sqlx::query_scalar("SELECT schalter_append_batch($1::jsonb, now())")
                .bind(sqlx::types::Json(request))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let ok = &answer[0]["ok"];
            let (first, last) = (
                ok["first_position"].as_i64().unwrap(),
                ok["last_position"].as_i64().unwrap(),
            );
            tokio::time::sleep(Duration::from_millis(step.hold)).await;
            if step.commit {
                tx.commit().await.unwrap();
                committed.extend(first..=last);
            } else {
                tx.rollback().await.unwrap();
            }
        }
        committed
    }

    async fn check(cases: Vec<Vec<Vec<Step>>>) {
        let Some(db) = TestDb::of(Kind::Postgres).await else {
            return;
        };
        let store = db.store().await;
        for (case, writers) in cases.into_iter().enumerate() {
            let mut subscription = store.subscribe_from(None, store.head().await.unwrap());
            let (seen_sender, mut seen) = tokio::sync::mpsc::unbounded_channel();
            let reader = tokio::spawn(async move {
                loop {
                    let e = subscription.next().await.unwrap();
                    if seen_sender.send(e.position).is_err() {
                        break;
                    }
                }
            });
            let tasks: Vec<_> = writers
                .into_iter()
                .enumerate()
                .map(|(w, steps)| tokio::spawn(writer(db.url.clone(), case, w, steps)))
                .collect();
            let mut committed = Vec::new();
            for t in tasks {
                committed.extend(t.await.unwrap());
            }
            committed.sort_unstable();
            let mut delivered = Vec::with_capacity(committed.len());
            while delivered.len() < committed.len() {
                let position = tokio::time::timeout(Duration::from_secs(20), seen.recv())
                    .await
                    .expect("subscriber stalled: a committed event was skipped or never woke it")
                    .unwrap();
                delivered.push(position);
            }
            // Anything more (a rolled-back event) would show up now.
            assert!(
                tokio::time::timeout(Duration::from_millis(300), seen.recv())
                    .await
                    .is_err(),
                "an event that was never committed was delivered"
            );
            reader.abort();
            assert!(
                delivered.windows(2).all(|w| w[0] < w[1]),
                "case {case}: out of order: {delivered:?}"
            );
            assert_eq!(
                delivered, committed,
                "case {case}: every committed event once, nothing else"
            );
        }
        store.close().await;
    }

    fn cases() -> impl Strategy<Value = Vec<Vec<Vec<Step>>>> {
        // 8 to 10 writers, each a few transactions.
        proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(step(), 1..6), 8..11),
            3,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

        #[test]
        fn postgres(cases in cases()) {
            tokio::runtime::Runtime::new().unwrap().block_on(check(cases));
        }
    }
}

/// A data key travels with the events whose personal data it seals: stored when they are, not
/// when the append conflicts, and not twice when the command is repeated.
async fn data_keys_are_stored_exactly_with_their_events(db: TestDb) {
    let store = db.store().await;
    let key = |id: &str| DataKey {
        id: id.into(),
        wrapped: vec![0, 1, 2, 254, 255, id.len() as u8],
    };
    store
        .append(&AppendRequest::new(vec![event("slot-1", 1)]))
        .await
        .unwrap();
    let conflicting = AppendRequest::new(vec![event("slot-1", 2)])
        .expect("slot-1", Expectation::NoStream)
        .data_key(key("lost"));
    let fresh = AppendRequest::new(vec![event("booking-7", 1)])
        .expect("booking-7", Expectation::NoStream)
        .data_key(key("kept"))
        .command_id("book-7");
    // Both in one batch when the appender groups them; the conflict must not take the other
    // request's key with it, nor store its own.
    let (a, b) = tokio::join!(store.append(&conflicting), store.append(&fresh));
    assert!(matches!(a, Err(StoreError::Conflict { .. })), "{a:?}");
    assert!(!b.unwrap().duplicate);
    assert_eq!(store.data_key("lost").await.unwrap(), None);
    assert_eq!(store.data_key("kept").await.unwrap(), Some(key("kept").wrapped));
    // The repeat returns the first outcome and stores no second key under the same id (which
    // would fail on the primary key if it tried).
    let again = store.append(&fresh).await.unwrap();
    assert!(again.duplicate);
    store.erase_data_key("kept").await.unwrap();
    assert_eq!(store.data_key("kept").await.unwrap(), None);
}

/// A backup, a restore and the move from SQLite to PostgreSQL are one copy: every event exactly
/// as stored (old schemas too), every key row, erased ones as erased; never into a store in use.
async fn a_copy_carries_the_log_and_the_keys_to_either_backend(db: TestDb) {
    use schalter_events::store::copy::{copy_store, CopyError};
    let source = db.store().await;
    for n in 0..12 {
        let mut request = AppendRequest::new(vec![event(&format!("copy-{}", n % 3), n)]);
        request.data_keys = vec![DataKey {
            id: format!("key-{n:02}"),
            wrapped: vec![n as u8; 40],
        }];
        source.append(&request).await.unwrap();
    }
    source.erase_data_key("key-03").await.unwrap();
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let Some(other) = TestDb::of(kind).await else { continue };
        let target = other.store().await;
        let copied = copy_store(&source, &target, |_| {}).await.unwrap();
        assert_eq!(
            (copied.events, copied.head, copied.data_keys, copied.erased_keys),
            (12, 12, 11, 1)
        );
        assert_eq!(
            target.read_all_as_stored(0, 100).await.unwrap(),
            source.read_all_as_stored(0, 100).await.unwrap(),
            "{kind:?}"
        );
        assert_eq!(
            target.data_key_rows("", 100).await.unwrap(),
            source.data_key_rows("", 100).await.unwrap()
        );
        assert_eq!(target.data_key("key-03").await.unwrap(), None, "erased stays erased");
        assert_eq!(target.data_key("key-04").await.unwrap(), Some(vec![4; 40]));
        // The copy appends on as the source would.
        let next = target
            .append(&AppendRequest::new(vec![event("copy-0", 99)]))
            .await
            .unwrap();
        assert_eq!(next.first_position, 13);
        assert!(matches!(
            copy_store(&source, &target, |_| {}).await,
            Err(CopyError::TargetNotEmpty)
        ));
        target.close().await;
    }
}

/// Rotation's compare-and-set: a key erased or re-wrapped meanwhile is left as it is.
async fn a_key_is_rewrapped_only_while_it_is_unchanged(db: TestDb) {
    let store = db.store().await;
    store.put_data_key("k", &[1; 40]).await.unwrap();
    assert!(
        !store.rewrap_data_key("k", &[9; 40], &[2; 40]).await.unwrap(),
        "not what was read"
    );
    assert!(store.rewrap_data_key("k", &[1; 40], &[2; 40]).await.unwrap());
    assert_eq!(store.data_key("k").await.unwrap(), Some(vec![2; 40]));
    store.erase_data_key("k").await.unwrap();
    assert!(
        !store.rewrap_data_key("k", &[2; 40], &[3; 40]).await.unwrap(),
        "erased stays erased"
    );
    assert_eq!(store.data_key("k").await.unwrap(), None);
}

//! The one way to run a command. Every write in Schalter goes through [`Executor::execute`]:
//! the command loads what its decision needs and calls the pure rules in `schalter-events`
//! ([`Command::decide`]); the executor appends the [`Decision`] with its expectations and the
//! idempotency key, waits until this server's projections hold it, and, when another writer
//! changed a stream the decision was expected on, lets the command decide again, up to
//! [`MAX_ATTEMPTS`] times before answering [`Busy`].
//!
//! Hot keys (many citizens for one time) are an option of the command ([`Command::turn`]): such
//! commands take turns inside this server, and each decides on the counters the one before it
//! queued ([`InFlight`], [`Plan::reserve`]), so a rush for one slot costs no wasted decisions.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use schalter_events::booking::Counter;
use schalter_events::store::{AppendOutcome, AppendRequest, DataKey, Store, StoreError};
use schalter_events::{Decision, Metadata};
use tokio::sync::watch;

/// How often a command is decided again when other writers keep changing its streams first.
pub const MAX_ATTEMPTS: usize = 50;

/// A command gave up after [`MAX_ATTEMPTS`] decisions that all lost their race.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the streams this command decides on are changing too fast; please try again")]
pub struct Busy;

/// The executor's own failures, for commands whose rules cannot fail (jobs, records).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Busy(#[from] Busy),
}

/// One attempt at deciding.
pub struct Attempt<'a> {
    /// 0 for the first; a retry follows a decision that another writer made stale.
    pub number: usize,
    pub now: DateTime<Utc>,
    in_flight: &'a InFlight,
}

impl Attempt<'_> {
    pub fn is_retry(&self) -> bool {
        self.number > 0
    }

    /// The counter to decide on: as read, or further on where bookings this server has queued
    /// (and not yet seen in its projections) move it.
    pub fn latest(&self, counter: Counter) -> Counter {
        self.in_flight.latest(counter)
    }
}

/// What a command decided.
pub enum Decided<T> {
    /// Append this; `value` is what the answer needs once it is written.
    Append(Plan<T>),
    /// Nothing needs writing (it already is so, or there is nothing to do): answer with this.
    Nothing(T),
}

pub struct Plan<T> {
    pub decision: Decision,
    /// The data key the decision's sealed personal data needs, stored in the same transaction.
    pub data_key: Option<DataKey>,
    /// Counters this decision takes one place on: later decisions in this server build on them
    /// while the append is queued (see [`InFlight`]).
    pub reserve: Vec<Counter>,
    pub value: T,
}

impl<T> Decided<T> {
    pub fn append(decision: Decision, value: T) -> Decided<T> {
        Decided::Append(Plan {
            decision,
            data_key: None,
            reserve: Vec::new(),
            value,
        })
    }
}

/// A write: what it needs to know, and how it decides.
pub trait Command: Send {
    /// What the answer needs once the decision is written.
    type Output: Send;
    /// The feature's error type; the executor adds store failures and [`Busy`].
    type Error: From<StoreError> + From<Busy> + Send;

    /// Checks made once, after a repeated request has been answered and before the first
    /// decision: consent, rate limits, proofs of work.
    fn admit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Commands with the same key take turns in this server (a rush for one time).
    fn turn(&self) -> Option<String> {
        None
    }

    /// Whether the decision reads this server's projections: after losing a race, the next
    /// attempt then waits until they hold everything committed so far.
    fn reads_projections(&self) -> bool {
        false
    }

    /// Loads what the decision needs and decides.
    fn decide(
        &mut self,
        attempt: &Attempt<'_>,
    ) -> impl Future<Output = Result<Decided<Self::Output>, Self::Error>> + Send;
}

/// A decision that needs nothing read first: a new random id, a delivery report, a claim
/// expected at a version already known. Decided once: if another writer changed its streams
/// first, there is nothing to decide again and the answer is `false`.
pub struct Record<E> {
    decision: Decision,
    error: PhantomData<fn() -> E>,
}

impl<E> Record<E> {
    pub fn new(decision: Decision) -> Record<E> {
        Record {
            decision,
            error: PhantomData,
        }
    }
}

impl<E: From<StoreError> + From<Busy> + Send> Command for Record<E> {
    type Output = bool;
    type Error = E;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, E> {
        if attempt.is_retry() {
            return Ok(Decided::Nothing(false));
        }
        Ok(Decided::append(std::mem::take(&mut self.decision), true))
    }
}

/// A client's idempotency key with the digest of the request it came with (operation, target
/// and body; see `http::Idempotency`). The key answers again only for the same request from the
/// same actor: anything else with it is refused, so no one reads another's outcome through it.
#[derive(Debug, Clone)]
pub struct CommandKey {
    pub key: String,
    pub request: String,
}

impl CommandKey {
    fn fingerprint(&self, actor: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(actor.as_bytes())
            .chain_update([0])
            .chain_update(self.request.as_bytes())
            .finalize();
        hex::encode(digest)
    }
}

/// How a command ended.
pub enum Executed<T> {
    /// Decided now: written (with its outcome), or nothing needed writing.
    Done(T, Option<AppendOutcome>),
    /// The idempotency key was used before: nothing was decided now, the first request's
    /// outcome is returned for the feature to answer as it did then.
    Repeated(AppendOutcome),
}

/// Runs commands against one store. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    store: Store,
    turns: Arc<Turns>,
    in_flight: Arc<InFlight>,
    /// The position this server's projections have applied; `None` where there are none (CLI).
    applied: Option<Arc<watch::Sender<i64>>>,
}

impl Executor {
    /// For the command line: nothing in memory to keep current.
    pub fn new(store: Store) -> Executor {
        Executor {
            store,
            turns: Arc::default(),
            in_flight: Arc::default(),
            applied: None,
        }
    }

    /// For a server whose projections advance `applied`: every write waits for them.
    pub fn with_projections(store: Store, applied: Arc<watch::Sender<i64>>) -> Executor {
        Executor {
            applied: Some(applied),
            ..Executor::new(store)
        }
    }

    /// Runs `command` for `actor`; with a `key` (an idempotency key) a repeat of the same
    /// request returns the first outcome instead of acting twice, and another request with the
    /// key is refused ([`StoreError::CommandReused`]) with nothing written.
    pub async fn execute<C: Command>(
        &self,
        actor: &str,
        key: Option<CommandKey>,
        command: C,
    ) -> Result<Executed<C::Output>, C::Error> {
        let fingerprint = key.as_ref().map(|k| k.fingerprint(actor));
        let metadata = Metadata {
            command_id: key.map(|k| k.key),
            actor: Some(actor.to_owned()),
            ..Metadata::default()
        };
        self.run(metadata, fingerprint, command).await
    }

    /// As [`Executor::execute`], with the events' metadata given: a `requested_at` there is the
    /// time every attempt decides at (the simulator writes past days), a `correlation` marks
    /// the events.
    pub async fn execute_as<C: Command>(
        &self,
        metadata: Metadata,
        command: C,
    ) -> Result<Executed<C::Output>, C::Error> {
        self.run(metadata, None, command).await
    }

    async fn run<C: Command>(
        &self,
        metadata: Metadata,
        fingerprint: Option<String>,
        mut command: C,
    ) -> Result<Executed<C::Output>, C::Error> {
        if let Some(id) = &metadata.command_id {
            if let Some(outcome) = self.store.command_outcome(id, fingerprint.as_deref()).await? {
                self.caught_up(outcome.last_position).await;
                return Ok(Executed::Repeated(outcome));
            }
        }
        command.admit().await?;
        let turn_key = command.turn();
        for number in 0..MAX_ATTEMPTS {
            let turn = match &turn_key {
                Some(key) => Some(self.turns.take(key).await),
                None => None,
            };
            let attempt = Attempt {
                number,
                now: metadata.requested_at.unwrap_or_else(Utc::now),
                in_flight: &self.in_flight,
            };
            let plan = match command.decide(&attempt).await? {
                Decided::Nothing(value) => return Ok(Executed::Done(value, None)),
                Decided::Append(plan) => plan,
            };
            let mut request = AppendRequest::new(plan.decision.events)
                .metadata(Metadata {
                    requested_at: Some(attempt.now),
                    ..metadata.clone()
                })
                .fingerprint(fingerprint.clone());
            request.expectations = plan.decision.expectations;
            request.data_keys.extend(plan.data_key);
            let _reserved = (!plan.reserve.is_empty()).then(|| self.in_flight.book(&plan.reserve));
            let submitted = self.store.submit(&request).await?;
            // Queued: the next in turn may decide on what this one reserved.
            drop(turn);
            match submitted.outcome().await {
                Ok(outcome) if outcome.duplicate => {
                    self.caught_up(outcome.last_position).await;
                    return Ok(Executed::Repeated(outcome));
                }
                Ok(outcome) => {
                    self.caught_up(outcome.last_position).await;
                    return Ok(Executed::Done(plan.value, Some(outcome)));
                }
                Err(e) if e.is_conflict() => {
                    if command.reads_projections() {
                        let head = self.store.head().await?;
                        self.caught_up(head).await;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Busy.into())
    }

    /// Read-your-writes: waits (briefly) until this server's projections include `position`,
    /// so a client that just wrote sees it on its next request to this server.
    pub async fn caught_up(&self, position: i64) {
        if let Some(applied) = &self.applied {
            let mut applied = applied.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(2), applied.wait_for(|p| *p >= position)).await;
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Citizens who book the same time at the same moment would all read the unit at one version,
/// and all but one append would fail its expectation and be decided again, a batch later. Taking
/// turns per start inside a server lets each decide on the version the one before queued (see
/// [`InFlight`]). The store's expectations still guard against other servers; this only saves
/// wasted work. Striped
/// (a fixed set of locks, chosen by hash) so memory does not grow with the number of slots.
pub struct Turns {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Turns {
    const STRIPES: usize = 1024;

    pub fn new() -> Turns {
        Turns {
            stripes: (0..Self::STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    pub async fn take(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        self.stripes[hasher.finish() as usize % Self::STRIPES].lock().await
    }
}

impl Default for Turns {
    fn default() -> Self {
        Turns::new()
    }
}

/// Taking turns alone would let each citizen for a time decide only once the one before has
/// been committed: a batch cycle each. Instead a booking, once queued for the store, leaves its
/// counters here as they will be if it is written, and the next one decides on those and
/// expects the versions it will create (the store writes queued appends in order). Only
/// bookings are recorded, never releases: if a queued booking fails, whatever takes its version
/// instead adds at most one place, so a decision chained on it counted at least as many places
/// as there will be, and can never over-book; at worst it fails its expectation and decides
/// again.
#[derive(Default)]
pub struct InFlight {
    streams: Mutex<HashMap<String, Queued>>,
}

struct Queued {
    version: i64,
    count: u32,
    /// Queued bookings that touch the stream; the entry goes when the last has settled.
    bookings: usize,
}

impl InFlight {
    /// The counter to decide on: `counter` as read, or further on if queued bookings move it.
    pub fn latest(&self, counter: Counter) -> Counter {
        match lock(&self.streams).get(&counter.stream) {
            Some(queued) if queued.version > counter.version => Counter {
                version: queued.version,
                count: queued.count,
                ..counter
            },
            _ => counter,
        }
    }

    /// Records a booking that takes one place on each counter (as decided on) and is being
    /// queued; dropping the returned guard, once it has settled, forgets it.
    pub fn book<'a>(self: &Arc<Self>, counters: impl IntoIterator<Item = &'a Counter>) -> Booked {
        let mut streams = lock(&self.streams);
        let names = counters
            .into_iter()
            .map(|counter| {
                let queued = streams.entry(counter.stream.clone()).or_insert(Queued {
                    version: 0,
                    count: 0,
                    bookings: 0,
                });
                queued.bookings += 1;
                if counter.version + 1 > queued.version {
                    queued.version = counter.version + 1;
                    queued.count = counter.count + 1;
                }
                counter.stream.clone()
            })
            .collect();
        Booked {
            in_flight: self.clone(),
            streams: names,
        }
    }
}

/// A queued booking's mark in [`InFlight`].
pub struct Booked {
    in_flight: Arc<InFlight>,
    streams: Vec<String>,
}

impl Drop for Booked {
    fn drop(&mut self) {
        let mut streams = lock(&self.in_flight.streams);
        for name in &self.streams {
            if let Some(queued) = streams.get_mut(name) {
                queued.bookings -= 1;
                if queued.bookings == 0 {
                    streams.remove(name);
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(stream: &str, version: i64, count: u32) -> Counter {
        Counter {
            stream: stream.into(),
            version,
            count,
        }
    }

    #[test]
    fn queued_bookings_move_counters_until_they_settle() {
        let in_flight = Arc::new(InFlight::default());
        let read = counter("unit-a", 5, 1);
        assert_eq!(in_flight.latest(read.clone()), read, "nothing queued: as read");

        let first = in_flight.book([&read]);
        let after_first = in_flight.latest(read.clone());
        assert_eq!((after_first.version, after_first.count), (6, 2));
        let second = in_flight.book([&after_first]);
        assert_eq!(in_flight.latest(read.clone()), counter("unit-a", 7, 3));

        // The projection caught up with the first: the second is still ahead of it.
        assert_eq!(in_flight.latest(counter("unit-a", 6, 2)), counter("unit-a", 7, 3));
        drop(first);
        assert_eq!(in_flight.latest(counter("unit-a", 6, 2)), counter("unit-a", 7, 3));
        // A counter read further on than anything queued (another server wrote) wins.
        assert_eq!(in_flight.latest(counter("unit-a", 9, 1)), counter("unit-a", 9, 1));
        drop(second);
        assert_eq!(in_flight.latest(read.clone()), read, "all settled: as read again");
        assert!(lock(&in_flight.streams).is_empty());
    }

    #[test]
    fn a_booking_decided_on_an_older_version_does_not_move_the_counter_back() {
        let in_flight = Arc::new(InFlight::default());
        let _ahead = in_flight.book([&counter("unit-a", 7, 3)]);
        let _stale = in_flight.book([&counter("unit-a", 5, 1)]);
        assert_eq!(in_flight.latest(counter("unit-a", 5, 1)), counter("unit-a", 8, 4));
    }
}

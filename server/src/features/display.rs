//! The hall screen's feed: Server-Sent Events with a snapshot first, then each call as it
//! happens. Each call's event id is its log position, so a screen that reconnects with
//! `Last-Event-ID` is sent every call it missed. Payloads carry ticket numbers, counter names and
//! service names only: the queue projection holds nothing about people.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::Stream;
use schalter_events::api::{CallView, LocalTime, Snapshot, WaitingGroup};
use schalter_events::catalogue::Text;
use schalter_events::queue;
use schalter_events::staff::access::DeviceRole;
use schalter_events::staff::Role;
use tokio::sync::watch;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::state::{AppState, Call, CallKind};
use crate::features::office::{location_tz, wait_range};
use crate::http::auth::{DeviceAuth, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::ApiPath;

/// How many calls the screen lists (the newest highlighted).
const SHOWN_CALLS: usize = 8;
/// Estimates drift with the clock even when nothing happens; refresh them this often.
const REFRESH: Duration = Duration::from_secs(30);
/// How soon a screen reconnects after its stream ended.
const RECONNECT: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// A hall screen of this location (device token), or signed-in desk staff.
pub struct Viewer;

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let location = parts.uri.path().split('/').nth(3).unwrap_or_default().to_owned();
        let has_token = parts.headers.contains_key(axum::http::header::AUTHORIZATION)
            || parts
                .uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p.starts_with("token=")));
        if has_token {
            let device = DeviceAuth::from_request_parts(parts, state).await?;
            device.require(DeviceRole::Display)?;
            if device.0.location != location {
                return Err(ApiError::Forbidden);
            }
            return Ok(Viewer);
        }
        let user = StaffUser::from_request_parts(parts, state).await?;
        user.require(&[Role::Desk, Role::Admin])?;
        Ok(Viewer)
    }
}

/// Everything one open screen needs between wake-ups.
struct Feed {
    state: AppState,
    location: String,
    tz: Tz,
    counter_names: HashMap<String, String>,
    /// Position of the last call sent: the screen's `Last-Event-ID`.
    last_call: i64,
    last_waiting: Vec<WaitingGroup>,
    pending: VecDeque<Event>,
    changes: watch::Receiver<i64>,
    shutdown: watch::Receiver<bool>,
    /// The stream ends here; the screen reconnects with its `Last-Event-ID` and misses nothing.
    ends_at: tokio::time::Instant,
    said_farewell: bool,
}

/// How long a screen waits before it reconnects after the server said it is stopping: long
/// enough for a restart's new process to listen, short enough that the hall hardly notices.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

impl Feed {
    fn call_view(&self, call: &Call) -> CallView {
        CallView {
            number: call.number.clone(),
            counter: self
                .counter_names
                .get(&call.counter)
                .cloned()
                .unwrap_or_else(|| call.counter.clone()),
            at: LocalTime::at(call.at.with_timezone(&self.tz)),
            recall: call.kind == CallKind::Recall,
            pick_up: call.pick_up,
        }
    }

    fn waiting(&self, now: DateTime<Utc>) -> Vec<WaitingGroup> {
        let day = now.with_timezone(&self.tz).date_naive();
        let tickets = self.state.queues().tickets(&self.location, day);
        let services: Vec<(String, Text)> = {
            let catalogue = self.state.catalogue();
            let mut offered: Vec<_> = catalogue
                .services
                .values()
                .filter(|s| s.locations.contains(&self.location) && (s.walk_in || s.bookable_online))
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect();
            offered.sort_by(|a, b| a.0.cmp(&b.0));
            offered
        };
        services
            .into_iter()
            .map(|(service, name)| {
                let waiting = tickets
                    .iter()
                    .filter(|t| t.state == queue::State::Waiting && t.service == service)
                    .count();
                let estimate_minutes = wait_range(&self.state, &self.location, &service, waiting, now, self.tz);
                WaitingGroup {
                    service,
                    name,
                    waiting,
                    estimate_minutes,
                }
            })
            .collect()
    }

    fn snapshot(&mut self, resume_after: Option<i64>) -> Result<(), ApiError> {
        let now = Utc::now();
        let day = now.with_timezone(&self.tz).date_naive();
        let (missed, latest, newest) = {
            let queues = self.state.queues();
            let missed = resume_after.map(|after| queues.calls_since(&self.location, day, after));
            let newest = queues.newest_call_position(&self.location, day);
            (missed, queues.latest_calls(&self.location, day, SHOWN_CALLS), newest)
        };
        // What happened while the screen was away comes first, one event per call, so its
        // gong and list see every one of them.
        for call in missed.unwrap_or_default() {
            self.pending.push_back(self.call_event(&call)?);
        }
        self.last_call = newest.max(resume_after.unwrap_or(0));
        self.last_waiting = self.waiting(now);
        let location = self
            .state
            .catalogue()
            .locations
            .get(&self.location)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| Text::new(&self.location, &self.location));
        let snapshot = Snapshot {
            location,
            calls: latest.iter().map(|c| self.call_view(c)).collect(),
            waiting: self.last_waiting.clone(),
        };
        let event = Event::default()
            .event("snapshot")
            // When the stream ends, come back at once rather than after the browser's default.
            .retry(RECONNECT)
            .id(self.last_call.to_string())
            .json_data(&snapshot)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        self.pending.push_back(event);
        Ok(())
    }

    /// `call` for a call or recall, `withdrawn` for a call taken back (the screen drops the number).
    fn call_event(&self, call: &Call) -> Result<Event, ApiError> {
        let name = if call.kind == CallKind::Withdrawn {
            "withdrawn"
        } else {
            "call"
        };
        Event::default()
            .event(name)
            .id(call.position.to_string())
            .json_data(self.call_view(call))
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Queues what changed since the last wake-up: new calls, then the waiting figures if they moved.
    fn catch_up(&mut self) {
        let now = Utc::now();
        let day = now.with_timezone(&self.tz).date_naive();
        let calls = self.state.queues().calls_since(&self.location, day, self.last_call);
        for call in calls {
            match self.call_event(&call) {
                Ok(event) => self.pending.push_back(event),
                Err(e) => tracing::error!(error = %e, "display event not encodable"),
            }
            self.last_call = call.position;
        }
        let waiting = self.waiting(now);
        if waiting != self.last_waiting {
            match Event::default().event("waiting").json_data(&waiting) {
                Ok(event) => self.pending.push_back(event),
                Err(e) => tracing::error!(error = %e, "display event not encodable"),
            }
            self.last_waiting = waiting;
        }
    }

    /// The server is stopping: one `restart` event telling the screen to come back after
    /// [`RECONNECT_AFTER`] (to this server once it is back, or through the proxy to another),
    /// then the end of the stream. Its `Last-Event-ID` carries it over without a missed call.
    fn farewell(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        if self.said_farewell {
            return None;
        }
        self.said_farewell = true;
        let event = Event::default().event("restart").retry(RECONNECT_AFTER).data("{}");
        Some((Ok(event), self))
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if *self.shutdown.borrow() {
                return self.farewell();
            }
            if tokio::time::Instant::now() >= self.ends_at {
                return None;
            }
            tokio::select! {
                changed = self.changes.changed() => if changed.is_err() { return None },
                _ = self.shutdown.changed() => return self.farewell(),
                _ = tokio::time::sleep_until(self.ends_at) => return None,
                _ = tokio::time::sleep(REFRESH) => {}
            }
            self.catch_up();
        }
    }
}

/// The hall screen's live feed (SSE). Events: `snapshot` (first, and after a reconnect),
/// `call` (id = log position; resume with `Last-Event-ID`), `withdrawn` (a called ticket parked
/// or transferred: no longer called; id as for calls), `waiting` (counts and estimates),
/// `restart` (the server is stopping; with `retry:` for when to reconnect).
#[utoipa::path(get, path = "/api/locations/{id}/display/stream", tag = "queue", security(("staff_session" = []), ("device_token" = []), ("device_token_query" = [])),
    params(("id" = String, Path),
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this call")),
    responses((status = 200, content_type = "text/event-stream", description = "snapshot, call, withdrawn, waiting and restart events"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    ApiPath(location): ApiPath<String>,
    _viewer: Viewer,
    headers: HeaderMap,
    connection: Option<axum::Extension<crate::http::connections::Connection>>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let tz = location_tz(&state, &location)?;
    let resume_after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let counter_names = state
        .catalogue()
        .counters
        .values()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    // A stream lasts a while, then the screen reconnects: screens spread over restarted or added
    // servers, and no connection lives for ever.
    let lifetime = match connection {
        Some(axum::Extension(connection)) => connection.hold_as_stream()?,
        None => crate::http::connections::ConnectionLimits::default().stream_lifetime,
    };
    let mut changes = state.changes();
    changes.mark_unchanged();
    let mut feed = Feed {
        shutdown: state.shutdown.clone(),
        state,
        location,
        tz,
        counter_names,
        last_call: 0,
        last_waiting: Vec::new(),
        pending: VecDeque::new(),
        changes,
        ends_at: tokio::time::Instant::now() + lifetime,
        said_farewell: false,
    };
    feed.snapshot(resume_after)?;
    metrics::gauge!("schalter_display_streams").increment(1.0);
    let stream = futures::stream::unfold(feed, Feed::next);
    let events: Sse<_> =
        Sse::new(Counted(Box::pin(stream))).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    // A reverse proxy (nginx) would otherwise hold the calls back in its buffer.
    Ok(([("x-accel-buffering", "no")], events))
}

/// Keeps the open-streams gauge honest: decremented when the screen goes away.
struct Counted<S>(std::pin::Pin<Box<S>>);

impl<S: Stream> Stream for Counted<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        metrics::gauge!("schalter_display_streams").decrement(1.0);
    }
}

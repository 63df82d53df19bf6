//! What an office's projections say, for the desk, the hall screen and the ticket status
//! page alike: its time zone, which counters are open, and the expected wait.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use schalter_events::queue;

use crate::engine::state::AppState;
use crate::http::error::ApiError;

/// The location's time zone; 404 for an unknown location.
/// Every office's time zone, copied out of the catalogue: for code that reads another
/// projection meanwhile, since holding two projection locks at once could deadlock against the
/// follower, which takes them all to apply a batch.
pub fn zones(state: &AppState) -> impl Fn(&str) -> Tz {
    let zones: std::collections::HashMap<String, Tz> = {
        let catalogue = state.catalogue();
        catalogue
            .locations
            .keys()
            .map(|id| (id.clone(), catalogue.time_zone(id)))
            .collect()
    };
    move |location| zones.get(location).copied().unwrap_or(chrono_tz::Europe::Berlin)
}

pub fn location_tz(state: &AppState, location: &str) -> Result<Tz, ApiError> {
    let catalogue = state.catalogue();
    let place = catalogue
        .locations
        .get(location)
        .ok_or_else(|| ApiError::NotFound(format!("there is no location {location:?}")))?;
    place
        .time_zone
        .parse()
        .map_err(|_| ApiError::Internal(format!("bad time zone for {location}")))
}

/// Expected wait in minutes for someone with `ahead` people before them in `service`'s line:
/// the measured typical service time, shared by the open counters that serve it; none while no
/// counter that serves it is open.
pub fn wait_range(
    state: &AppState,
    location: &str,
    service: &str,
    ahead: usize,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<[u32; 2]> {
    let (planned, serving): (u32, Vec<String>) = {
        let catalogue = state.catalogue();
        let planned = catalogue
            .services
            .get(service)
            .map(|s| s.duration_minutes)
            .unwrap_or(15);
        let serving = catalogue
            .counters
            .values()
            .filter(|c| c.location == location && c.services.iter().any(|s| s == service))
            .map(|c| c.id.clone())
            .collect();
        (planned, serving)
    };
    let queues = state.queues();
    let minutes = queues.typical_minutes(location, service, planned);
    let open = serving
        .iter()
        .filter(|id| queue::counter_open(queues.opened_at(id), now, &tz))
        .count();
    queue::wait_range(ahead, minutes, open).map(|(from, to)| [from, to])
}

pub fn is_open(state: &AppState, counter: &str, now: DateTime<Utc>, tz: Tz) -> bool {
    queue::counter_open(state.queues().opened_at(counter), now, &tz)
}

/// A counter with its office's time zone; 404 for an unknown counter.
pub fn counter(state: &AppState, id: &str) -> Result<(schalter_events::catalogue::Counter, Tz), ApiError> {
    let catalogue = state.catalogue();
    let counter = catalogue
        .counters
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("there is no counter {id:?}")))?;
    let tz = catalogue.time_zone(&counter.location);
    Ok((counter, tz))
}

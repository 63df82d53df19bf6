//! A freed place is not public at once: after a cancellation, an expiry or a move, its unit is
//! held for citizens booking online for a while (the location's `release_hold_minutes`), so a
//! slot trader who cancels a place to hand it to a paying client at a known moment loses it to
//! no one in particular (Munich's ZMS does the same). The hold ends at a moment between one
//! and two hold lengths after the release, derived from the release's log position: every
//! server agrees on it, and nobody outside can time it. Staff booking for a caller are not held
//! back: they are not the traders this is about.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::booking::{unit_of_stream, UnitEvent};
use crate::event::{decode, DecodeError, RecordedEvent, CITIZEN};

/// The longest hold a location may set.
pub const MAX_HOLD_MINUTES: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Release {
    at: DateTime<Utc>,
    position: i64,
}

impl Release {
    /// When the place is public again under a hold of `minutes`.
    fn ends(&self, minutes: u32) -> DateTime<Utc> {
        let hold = i64::from(minutes) * 60;
        // A fixed odd multiplier spreads neighbouring positions over the whole range.
        let spread = (self.position.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as i64;
        self.at + Duration::seconds(hold + spread % hold.max(1))
    }
}

/// The recent releases of every unit, per location.
#[derive(Debug, Clone, Default)]
pub struct Holds {
    releases: HashMap<String, HashMap<DateTime<Utc>, Vec<Release>>>,
    applied: usize,
}

impl Holds {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        let Some((location, unit)) = unit_of_stream(&e.stream) else {
            return Ok(());
        };
        let releases = self.releases.entry(location.to_owned()).or_default();
        match decode::<UnitEvent>(e)? {
            UnitEvent::UnitReleased { .. } => {
                releases.entry(unit).or_default().push(Release {
                    at: e.recorded_at,
                    position: e.position,
                });
            }
            // Citizens online never see a held place, so what they take is another one; anyone
            // else (the desk, a job) may have taken the held one, and is counted as having.
            UnitEvent::UnitTaken { .. } if e.metadata.actor.as_deref() == Some(CITIZEN) => {}
            UnitEvent::UnitTaken { .. } => {
                if let Some(held) = releases.get_mut(&unit) {
                    held.pop();
                    if held.is_empty() {
                        releases.remove(&unit);
                    }
                }
            }
        }
        self.applied += 1;
        if self.applied.is_multiple_of(4096) {
            self.forget_before(e.recorded_at - Duration::minutes(2 * i64::from(MAX_HOLD_MINUTES)));
        }
        Ok(())
    }

    /// Places of `unit` at `location` still held at `now` under a hold of `minutes`.
    pub fn held(&self, location: &str, unit: DateTime<Utc>, now: DateTime<Utc>, minutes: u32) -> u32 {
        if minutes == 0 {
            return 0;
        }
        let Some(releases) = self.releases.get(location).and_then(|l| l.get(&unit)) else {
            return 0;
        };
        releases.iter().filter(|r| now < r.ends(minutes)).count() as u32
    }

    fn forget_before(&mut self, before: DateTime<Utc>) {
        for units in self.releases.values_mut() {
            units.retain(|_, releases| {
                releases.retain(|r| r.at >= before);
                !releases.is_empty()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::unit_stream;
    use crate::event::{encode, Metadata};
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, minute, 0).unwrap()
    }

    fn recorded(unit: DateTime<Utc>, event: &UnitEvent, position: i64, when: DateTime<Utc>) -> RecordedEvent {
        let new = encode(unit_stream("buergerbuero", unit), 1, event);
        RecordedEvent {
            position,
            stream: new.stream,
            version: position,
            event_type: new.event_type,
            schema: new.schema,
            data: new.data,
            metadata: Metadata {
                actor: Some("user:anna".into()),
                ..Metadata::default()
            },
            recorded_at: when,
        }
    }

    fn release(holds: &mut Holds, unit: DateTime<Utc>, position: i64, when: DateTime<Utc>) {
        let event = UnitEvent::UnitReleased { booking: "b".into() };
        holds.apply(&recorded(unit, &event, position, when)).unwrap();
    }

    #[test]
    fn a_freed_place_is_held_between_one_and_two_hold_lengths() {
        let unit = Utc.with_ymd_and_hms(2026, 12, 9, 10, 0, 0).unwrap();
        let mut ends = Vec::new();
        for position in 1..200 {
            let mut holds = Holds::default();
            release(&mut holds, unit, position, at(0));
            assert_eq!(holds.held("buergerbuero", unit, at(0), 0), 0, "no hold set");
            assert_eq!(holds.held("buergerbuero", unit, at(9), 10), 1);
            assert_eq!(holds.held("buergerbuero", unit, at(20), 10), 0);
            assert_eq!(holds.held("kfz", unit, at(9), 10), 0, "another location");
            assert_eq!(holds.held("buergerbuero", unit + Duration::minutes(10), at(9), 10), 0);
            let end = (0..=1200)
                .map(|s| at(0) + Duration::seconds(s))
                .find(|t| holds.held("buergerbuero", unit, *t, 10) == 0)
                .unwrap();
            ends.push(end);
        }
        // Not one known moment: the ends spread over the ten minutes after the first ten.
        let (first, last) = (ends.iter().min().unwrap(), ends.iter().max().unwrap());
        assert!(*last - *first > Duration::minutes(8), "{first} … {last}");
    }

    #[test]
    fn a_place_the_desk_takes_during_the_hold_is_the_held_one() {
        let unit = Utc.with_ymd_and_hms(2026, 12, 9, 10, 0, 0).unwrap();
        let mut holds = Holds::default();
        release(&mut holds, unit, 1, at(0));
        release(&mut holds, unit, 2, at(1));
        assert_eq!(holds.held("buergerbuero", unit, at(2), 10), 2);
        let taken = UnitEvent::UnitTaken { booking: "c".into() };
        // A citizen online took another place: both stay held.
        let mut online = recorded(unit, &taken, 3, at(2));
        online.metadata.actor = Some(CITIZEN.into());
        holds.apply(&online).unwrap();
        assert_eq!(holds.held("buergerbuero", unit, at(2), 10), 2);
        holds.apply(&recorded(unit, &taken, 3, at(3))).unwrap();
        assert_eq!(holds.held("buergerbuero", unit, at(4), 10), 1);
        holds.apply(&recorded(unit, &taken, 4, at(4))).unwrap();
        holds.apply(&recorded(unit, &taken, 5, at(5))).unwrap();
        assert_eq!(holds.held("buergerbuero", unit, at(5), 10), 0);
    }
}

//! Slot arithmetic. A location's day is a grid of units in local time; a service needs k
//! consecutive units; a booking takes one unit of capacity on each. Stored instants are UTC,
//! and every conversion goes through the location's time zone, so DST days come out right.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::{holiday, Region};
use crate::catalogue::Text;

/// How long before an opening period the kiosk starts handing out walk-in tickets.
pub const TICKETS_BEFORE_OPENING_MINUTES: i64 = 15;

/// When a location is open and how much of that time citizens can book online.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// IANA name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Length of one grid unit in minutes (e.g. 10 or 15).
    pub unit_minutes: u32,
    /// Whose public holidays close the office.
    pub region: Region,
    pub opening: Vec<OpeningPeriod>,
    pub closures: Vec<Closure>,
    /// How many days ahead citizens may book (today counts as day 0).
    pub booking_window_days: u32,
    /// Minimum notice before an appointment starts.
    pub min_lead_minutes: u32,
    /// Active (future, not cancelled) appointments one email address may hold.
    pub max_active_per_email: u32,
    /// If set, a booking holds its place only this long until the citizen confirms it through
    /// the link in the email (catches mistyped addresses and bots); unset: booked at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_within_minutes: Option<u32>,
    /// The local time at which the newest day of the window opens for online booking (e.g.
    /// 07:00): before it, citizens see one day less. Unset: the day opens at midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_time: Option<NaiveTime>,
    /// The nearest days (today is day 0) kept for bookings by staff, on the phone or at the
    /// counter: slot traders cannot take what frees up at short notice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staff_only_days: u32,
    /// If set, an email that missed appointments this often lately confirms its next online
    /// booking by email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_rule: Option<crate::attendance::NoShowRule>,
    /// Minutes a freed place stays hidden from online booking before it is public again
    /// (`crate::hold`); 0: public at once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub release_hold_minutes: u32,
    /// If set, appointments booked long ahead are asked to be confirmed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfirm: Option<crate::booking::ReconfirmRule>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Who books: a citizen online sees the online share and the release rules; staff booking for
/// a caller (phone, counter) also the staff share and the near days kept for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booker {
    Citizen,
    Staff,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeningPeriod {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    pub open: NaiveTime,
    pub close: NaiveTime,
    /// Counters serving appointments in this period: bookings per unit citizens make online.
    pub online_capacity: u32,
    /// More bookings per unit only staff make (phone, counter); what the counters leave beyond
    /// both is the reserve for walk-ins.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staff_capacity: u32,
    /// The first day the period holds (e.g. new hours from 1 January); unset: always has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    /// The last day the period holds; unset: until changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
}

impl OpeningPeriod {
    /// Whether the period opens the office on `date`: its weekday, within its valid days.
    pub fn holds_on(&self, date: NaiveDate) -> bool {
        self.weekday == date.weekday().number_from_monday() as u8
            && self.valid_from.is_none_or(|from| from <= date)
            && self.valid_until.is_none_or(|until| date <= until)
    }

    /// Whether some day lies within the valid days of both periods.
    pub fn shares_days_with(&self, other: &OpeningPeriod) -> bool {
        let starts = self.valid_from.max(other.valid_from);
        let ends = match (self.valid_until, other.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.weekday == other.weekday && starts.zip(ends).is_none_or(|(s, e)| s <= e)
    }
}

/// A time in which the location is closed, e.g. staff training or an ill clerk's afternoon:
/// from `from` (at `from_time`, else the day's start) until `to` (until `until_time`, else the
/// day's end), local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Closure {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub from: NaiveDate,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub to: NaiveDate,
    pub reason: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub from_time: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub until_time: Option<NaiveTime>,
}

impl Closure {
    /// Whole days `from..=to`.
    pub fn days(from: NaiveDate, to: NaiveDate, reason: Text) -> Closure {
        Closure {
            from,
            to,
            reason,
            from_time: None,
            until_time: None,
        }
    }

    fn starts(&self) -> NaiveDateTime {
        self.from.and_time(self.from_time.unwrap_or(NaiveTime::MIN))
    }

    fn ends(&self) -> NaiveDateTime {
        match self.until_time {
            Some(until) => self.to.and_time(until),
            None => (self.to + Duration::days(1)).and_time(NaiveTime::MIN),
        }
    }

    /// Whether the local time span `from..until` meets the closure.
    pub fn meets(&self, from: NaiveDateTime, until: NaiveDateTime) -> bool {
        from < self.ends() && self.starts() < until
    }

    /// Whether the closure takes the whole of `date`.
    pub fn covers_day(&self, date: NaiveDate) -> bool {
        self.starts() <= date.and_time(NaiveTime::MIN)
            && (date + Duration::days(1)).and_time(NaiveTime::MIN) <= self.ends()
    }

    /// What is wrong with it: the field and why.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.to < self.from {
            return Some((
                "to",
                format!("the closure ends ({}) before it starts ({})", self.to, self.from),
            ));
        }
        if self.ends() <= self.starts() {
            return Some(("until_time", "the closure ends before it starts".into()));
        }
        if self.reason.de.trim().is_empty() {
            return Some((
                "reason",
                "the closure needs a reason citizens are shown (in German)".into(),
            ));
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub start: DateTime<Utc>,
    pub capacity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Bookings still possible: the smallest free capacity over the slot's units.
    pub free: u32,
}

/// Why a requested start cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("the location's time zone {0:?} is unknown")]
    UnknownTimeZone(String),
    #[error("this time has already passed")]
    InPast,
    #[error("appointments must be booked at least {0} minutes ahead")]
    TooSoon(u32),
    #[error("appointments can be booked at most {0} days ahead")]
    BeyondWindow(u32),
    #[error("the office is closed on this day")]
    Closed,
    #[error("there is no appointment starting at this time")]
    NotOnGrid,
    #[error("this day opens for online booking at {}", .0.format("%H:%M"))]
    NotYetReleased(NaiveTime),
    #[error("the next {0} days are kept for bookings by phone or at the counter")]
    StaffOnly(u32),
}

impl Schedule {
    pub fn tz(&self) -> Result<Tz, SlotError> {
        self.time_zone
            .parse()
            .map_err(|_| SlotError::UnknownTimeZone(self.time_zone.clone()))
    }

    fn unit(&self) -> Duration {
        Duration::minutes(i64::from(self.unit_minutes.max(1)))
    }

    /// Whether the whole of `date` is closed: a public holiday or a closure over the day.
    pub fn is_closed(&self, date: NaiveDate) -> bool {
        holiday(date, self.region).is_some() || self.closures.iter().any(|c| c.covers_day(date))
    }

    /// The closure that meets the local time span `from..until`, if one does.
    pub fn closure_at(&self, from: NaiveDateTime, until: NaiveDateTime) -> Option<&Closure> {
        self.closures.iter().find(|c| c.meets(from, until))
    }

    /// The closure that meets the instants `from..until`, if one does.
    pub fn closure_between(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Option<&Closure> {
        let tz = self.tz().ok()?;
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
        self.closure_at(local(from), local(until))
    }

    /// Whether walk-in tickets are handed out at `now`: during an opening period of a day the
    /// office is open, from [`TICKETS_BEFORE_OPENING_MINUTES`] before it opens (people wait at
    /// the door) until it closes. A ticket drawn at night would wait until morning and count in
    /// the statistics as night-time demand.
    pub fn takes_walk_ins(&self, now: DateTime<Utc>) -> Result<bool, SlotError> {
        let local = now.with_timezone(&self.tz()?).naive_local();
        let date = local.date();
        if self.is_closed(date) || self.closure_at(local, local + Duration::seconds(1)).is_some() {
            return Ok(false);
        }
        let early = Duration::minutes(TICKETS_BEFORE_OPENING_MINUTES);
        Ok(self
            .opening
            .iter()
            .filter(|p| p.holds_on(date))
            .any(|p| date.and_time(p.open) - early <= local && local < date.and_time(p.close)))
    }

    /// The day's units in time order. A local time that does not exist (spring forward) has no
    /// unit; one that exists twice (fall back) has two.
    pub fn units(&self, date: NaiveDate) -> Result<Vec<Unit>, SlotError> {
        self.units_as(date, Booker::Citizen)
    }

    /// The day's units with the capacity `booker` may book.
    pub fn units_as(&self, date: NaiveDate, booker: Booker) -> Result<Vec<Unit>, SlotError> {
        let tz = self.tz()?;
        if self.is_closed(date) {
            return Ok(Vec::new());
        }
        let mut units = Vec::new();
        for period in self.opening.iter().filter(|p| p.holds_on(date)) {
            let mut local = date.and_time(period.open);
            let close = date.and_time(period.close);
            while local + self.unit() <= close {
                if self.closure_at(local, local + self.unit()).is_some() {
                    local += self.unit();
                    continue;
                }
                let starts = match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) => vec![t],
                    LocalResult::Ambiguous(a, b) => vec![a, b],
                    LocalResult::None => vec![],
                };
                let capacity = match booker {
                    Booker::Citizen => period.online_capacity,
                    Booker::Staff => period.online_capacity + period.staff_capacity,
                };
                units.extend(starts.into_iter().map(|t| Unit {
                    start: t.with_timezone(&Utc),
                    capacity,
                }));
                local += self.unit();
            }
        }
        units.sort_by_key(|u| u.start);
        units.dedup_by_key(|u| u.start);
        Ok(units)
    }

    /// Whether `start` may still be booked at `now` online: lead time, booking window, release.
    pub fn check_timing(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), SlotError> {
        self.check_timing_as(start, now, Booker::Citizen)
    }

    /// Whether `start` may still be booked at `now` by `booker`. Citizens also wait for the
    /// newest day's release time and leave the near days kept for staff.
    pub fn check_timing_as(&self, start: DateTime<Utc>, now: DateTime<Utc>, booker: Booker) -> Result<(), SlotError> {
        let tz = self.tz()?;
        if start <= now {
            return Err(SlotError::InPast);
        }
        if start < now + Duration::minutes(i64::from(self.min_lead_minutes)) {
            return Err(SlotError::TooSoon(self.min_lead_minutes));
        }
        let local_now = now.with_timezone(&tz).naive_local();
        let today = local_now.date();
        let ahead = (start.with_timezone(&tz).date_naive() - today).num_days();
        if ahead > i64::from(self.booking_window_days) {
            return Err(SlotError::BeyondWindow(self.booking_window_days));
        }
        if booker == Booker::Citizen {
            if let Some(release) = self.release_time {
                if ahead == i64::from(self.booking_window_days) && local_now.time() < release {
                    return Err(SlotError::NotYetReleased(release));
                }
            }
            if ahead < i64::from(self.staff_only_days) {
                return Err(SlotError::StaffOnly(self.staff_only_days));
            }
        }
        Ok(())
    }

    /// The `k` unit starts a booking at `start` would take, if `start` is a bookable slot start.
    pub fn units_for(&self, start: DateTime<Utc>, k: u32, now: DateTime<Utc>) -> Result<Vec<Unit>, SlotError> {
        self.units_for_as(start, k, now, Booker::Citizen)
    }

    /// [`Schedule::units_for`] for `booker`, with the capacity they may book.
    pub fn units_for_as(
        &self,
        start: DateTime<Utc>,
        k: u32,
        now: DateTime<Utc>,
        booker: Booker,
    ) -> Result<Vec<Unit>, SlotError> {
        self.check_timing_as(start, now, booker)?;
        let tz = self.tz()?;
        let date = start.with_timezone(&tz).date_naive();
        let local = start.with_timezone(&tz).naive_local();
        let span = self.unit() * k.max(1) as i32;
        if self.is_closed(date) || self.closure_at(local, local + span).is_some() {
            return Err(SlotError::Closed);
        }
        let units = self.units_as(date, booker)?;
        let i = units
            .iter()
            .position(|u| u.start == start)
            .ok_or(SlotError::NotOnGrid)?;
        let run = self.consecutive(&units[i..], k).ok_or(SlotError::NotOnGrid)?;
        Ok(run.to_vec())
    }

    /// The first `k` units of `units` if they follow each other without a gap (a lunch break or
    /// closing time ends a run).
    fn consecutive<'a>(&self, units: &'a [Unit], k: u32) -> Option<&'a [Unit]> {
        let k = k.max(1) as usize;
        let run = units.get(..k)?;
        run.windows(2)
            .all(|w| w[1].start - w[0].start == self.unit())
            .then_some(run)
    }

    /// Every slot of `date` for a service of `k` units, with free capacity given the bookings
    /// already `taken` per unit start. Slots that are full are listed with `free: 0`.
    pub fn slots(
        &self,
        date: NaiveDate,
        k: u32,
        taken: impl Fn(DateTime<Utc>) -> u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Slot>, SlotError> {
        self.slots_as(date, k, taken, now, Booker::Citizen)
    }

    /// [`Schedule::slots`] as `booker` may book them.
    pub fn slots_as(
        &self,
        date: NaiveDate,
        k: u32,
        taken: impl Fn(DateTime<Utc>) -> u32,
        now: DateTime<Utc>,
        booker: Booker,
    ) -> Result<Vec<Slot>, SlotError> {
        let units = self.units_as(date, booker)?;
        let mut slots = Vec::new();
        for i in 0..units.len() {
            let Some(run) = self.consecutive(&units[i..], k) else {
                continue;
            };
            let start = run[0].start;
            if self.check_timing_as(start, now, booker).is_err() {
                continue;
            }
            let free = run
                .iter()
                .map(|u| u.capacity.saturating_sub(taken(u.start)))
                .min()
                .unwrap_or(0);
            slots.push(Slot {
                start,
                end: run[run.len() - 1].start + self.unit(),
                free,
            });
        }
        Ok(slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Open every day 01:00–04:00 (to cross the DST hour) and weekdays 08:00–12:00, 13:00–15:00.
    fn schedule() -> Schedule {
        let mut opening = Vec::new();
        for weekday in 1..=7 {
            opening.push(OpeningPeriod {
                weekday,
                open: t(1, 0),
                close: t(4, 0),
                online_capacity: 1,
                staff_capacity: 0,
                valid_from: None,
                valid_until: None,
            });
        }
        for weekday in 1..=5 {
            opening.push(OpeningPeriod {
                weekday,
                open: t(8, 0),
                close: t(12, 0),
                online_capacity: 2,
                staff_capacity: 0,
                valid_from: None,
                valid_until: None,
            });
            opening.push(OpeningPeriod {
                weekday,
                open: t(13, 0),
                close: t(15, 0),
                online_capacity: 2,
                staff_capacity: 0,
                valid_from: None,
                valid_until: None,
            });
        }
        Schedule {
            confirm_within_minutes: None,
            release_time: None,
            staff_only_days: 0,
            no_show_rule: None,
            release_hold_minutes: 0,
            reconfirm: None,
            time_zone: "Europe/Berlin".into(),
            unit_minutes: 15,
            region: Region::RhinelandPalatinate,
            opening,
            closures: vec![Closure::days(
                d(2026, 12, 7),
                d(2026, 12, 8),
                Text::new("Schulung", "Training"),
            )],
            booking_window_days: 60,
            min_lead_minutes: 120,
            max_active_per_email: 2,
        }
    }

    /// A clock ten days before `day`: inside the booking window, past the lead time.
    fn before(day: NaiveDate) -> DateTime<Utc> {
        (day - Duration::days(10)).and_time(t(0, 0)).and_utc()
    }

    fn local(s: &Schedule, u: &Unit) -> NaiveDateTime {
        u.start.with_timezone(&s.tz().unwrap()).naive_local()
    }

    #[test]
    fn spring_forward_has_no_units_in_the_missing_hour() {
        // 29 March 2026: 02:00 CET jumps to 03:00 CEST.
        let s = schedule();
        let mut s = s.clone();
        s.booking_window_days = 10_000;
        let units = s.units(d(2026, 3, 29)).unwrap();
        let night: Vec<_> = units.iter().filter(|u| local(&s, u).time() < t(4, 0)).collect();
        // 01:00–02:00 (4 units) + 03:00–04:00 (4 units); 02:xx does not exist.
        assert_eq!(night.len(), 8);
        assert_eq!(night[0].start, utc("2026-03-29T00:00:00Z"));
        assert_eq!(night[3].start, utc("2026-03-29T00:45:00Z"));
        assert_eq!(
            night[4].start,
            utc("2026-03-29T01:00:00Z"),
            "03:00 CEST follows 01:45 CET directly"
        );
        assert!(units.windows(2).all(|w| w[0].start < w[1].start), "no doubled instants");
        // Sunday: no daytime hours, so nothing after 04:00.
        assert!(units.iter().all(|u| local(&s, u).time() < t(4, 0)));
    }

    #[test]
    fn hours_hold_from_and_until_their_valid_days() {
        // From Friday 8 January 2027 the Friday morning ends at 11:00, no longer at 12:00.
        let mut s = schedule();
        let friday = s
            .opening
            .iter()
            .position(|p| p.weekday == 5 && p.open == t(8, 0))
            .unwrap();
        let mut shorter = s.opening[friday].clone();
        shorter.close = t(11, 0);
        shorter.valid_from = Some(d(2027, 1, 8));
        s.opening[friday].valid_until = Some(d(2027, 1, 7));
        s.opening.push(shorter);
        let last_of_morning = |day| {
            let units = s.units(day).unwrap();
            units
                .iter()
                .filter(|u| local(&s, u).time() < t(12, 0))
                .map(|u| local(&s, u).time())
                .max()
                .unwrap()
        };
        assert_eq!(last_of_morning(d(2026, 12, 18)), t(11, 45), "before: until 12:00");
        assert_eq!(last_of_morning(d(2027, 1, 8)), t(10, 45), "from the first valid day");
        assert_eq!(last_of_morning(d(2027, 1, 15)), t(10, 45));
        // A period that ended no longer opens the office for walk-ins either.
        let at = |h| {
            d(2027, 1, 15)
                .and_time(t(h, 30))
                .and_local_timezone(s.tz().unwrap())
                .unwrap()
                .with_timezone(&Utc)
        };
        assert!(s.takes_walk_ins(at(10)).unwrap());
        assert!(!s.takes_walk_ins(at(11)).unwrap());
    }

    #[test]
    fn fall_back_has_the_repeated_hour_twice_as_distinct_instants() {
        // 25 October 2026: 03:00 CEST falls back to 02:00 CET.
        let s = schedule();
        let units = s.units(d(2026, 10, 25)).unwrap();
        // 01:00–04:00 local is four real hours: 16 units.
        assert_eq!(units.len(), 16);
        assert_eq!(units[0].start, utc("2026-10-24T23:00:00Z"));
        assert_eq!(units[4].start, utc("2026-10-25T00:00:00Z"), "02:00 CEST");
        assert_eq!(
            units[8].start,
            utc("2026-10-25T01:00:00Z"),
            "02:00 CET, the second time"
        );
        assert_eq!(units[15].start, utc("2026-10-25T02:45:00Z"), "03:45 CET");
        assert!(units
            .windows(2)
            .all(|w| w[1].start - w[0].start == Duration::minutes(15)));
    }

    #[test]
    fn weekday_hours_map_to_the_right_utc_on_both_sides_of_dst() {
        let s = schedule();
        // Friday before spring forward (CET, UTC+1) and Monday after (CEST, UTC+2).
        let before = s.units(d(2026, 3, 27)).unwrap();
        let after = s.units(d(2026, 3, 30)).unwrap();
        let first_day = |units: &[Unit]| units.iter().find(|u| local(&s, u).time() == t(8, 0)).unwrap().start;
        assert_eq!(first_day(&before), utc("2026-03-27T07:00:00Z"));
        assert_eq!(first_day(&after), utc("2026-03-30T06:00:00Z"));
        // 12 (night) + 16 (morning) + 8 (afternoon) units on an ordinary weekday.
        assert_eq!(before.len(), 36);
    }

    #[test]
    fn services_need_consecutive_units_and_breaks_end_a_run() {
        let s = schedule();
        let day = d(2026, 12, 2); // a Wednesday
        let slots = s.slots(day, 3, |_| 0, before(day)).unwrap();
        let tz = s.tz().unwrap();
        let local_starts: Vec<NaiveTime> = slots.iter().map(|x| x.start.with_timezone(&tz).time()).collect();
        assert!(
            local_starts.contains(&t(11, 15)),
            "11:15 + 45 min ends exactly at 12:00"
        );
        assert!(!local_starts.contains(&t(11, 30)), "would run into the lunch break");
        assert!(local_starts.contains(&t(13, 0)));
        assert!(!local_starts.contains(&t(14, 30)), "would run past closing");
        let first = slots
            .iter()
            .find(|x| x.start.with_timezone(&tz).time() == t(8, 0))
            .unwrap();
        assert_eq!(first.end - first.start, Duration::minutes(45));
        assert_eq!(first.free, 2);
    }

    #[test]
    fn free_capacity_is_the_minimum_over_the_units() {
        let s = schedule();
        let day = d(2026, 12, 2);
        let tz = s.tz().unwrap();
        let at = |h, m| {
            tz.from_local_datetime(&day.and_time(t(h, m)))
                .unwrap()
                .with_timezone(&Utc)
        };
        let busy = at(8, 15);
        let slots = s
            .slots(
                day,
                2,
                |u| {
                    if u == busy {
                        2
                    } else if u == at(8, 30) {
                        1
                    } else {
                        0
                    }
                },
                before(day),
            )
            .unwrap();
        let free_at = |h, m| slots.iter().find(|x| x.start == at(h, m)).unwrap().free;
        assert_eq!(free_at(8, 0), 0, "08:15 is full");
        assert_eq!(free_at(8, 15), 0);
        assert_eq!(free_at(8, 30), 1);
        assert_eq!(free_at(8, 45), 2);
    }

    #[test]
    fn holidays_and_closures_have_no_slots() {
        let s = schedule();
        assert!(
            s.slots(d(2026, 12, 25), 1, |_| 0, before(d(2026, 12, 25)))
                .unwrap()
                .is_empty(),
            "Christmas"
        );
        assert!(
            s.slots(d(2026, 11, 1), 1, |_| 0, before(d(2026, 11, 1)))
                .unwrap()
                .is_empty(),
            "All Saints (RLP)"
        );
        assert!(
            s.slots(d(2026, 12, 7), 1, |_| 0, before(d(2026, 12, 7)))
                .unwrap()
                .is_empty(),
            "training closure"
        );
        assert!(
            s.slots(d(2026, 12, 8), 1, |_| 0, before(d(2026, 12, 8)))
                .unwrap()
                .is_empty(),
            "closure is inclusive"
        );
        assert!(!s
            .slots(d(2026, 12, 9), 1, |_| 0, before(d(2026, 12, 9)))
            .unwrap()
            .is_empty());
        let mut hesse = s.clone();
        hesse.region = Region::Hesse;
        assert!(!hesse
            .slots(d(2026, 11, 2), 1, |_| 0, before(d(2026, 11, 2)))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_part_day_closure_takes_only_its_hours() {
        let mut s = schedule();
        // Wednesday 9 December 2026: closed from 11:00 (an ill clerk's afternoon).
        let day = d(2026, 12, 9);
        s.closures.push(Closure {
            from_time: Some(t(11, 0)),
            ..Closure::days(day, day, Text::new("Krankheit", "Illness"))
        });
        let tz = s.tz().unwrap();
        let at = |h, m| {
            tz.from_local_datetime(&day.and_time(t(h, m)))
                .unwrap()
                .with_timezone(&Utc)
        };
        let starts: Vec<_> = s
            .slots(day, 1, |_| 0, before(day))
            .unwrap()
            .iter()
            .map(|x| x.start)
            .collect();
        assert!(starts.contains(&at(10, 45)), "before the closure");
        assert!(
            !starts.contains(&at(11, 0)) && !starts.contains(&at(13, 0)),
            "{starts:?}"
        );
        assert!(!s.is_closed(day), "the morning is open");
        assert_eq!(s.units_for(at(11, 0), 1, before(day)), Err(SlotError::Closed));
        assert_eq!(
            s.units_for(at(10, 45), 2, before(day)),
            Err(SlotError::Closed),
            "its second unit is closed"
        );
        assert!(s.units_for(at(10, 30), 2, before(day)).is_ok());
        let walk_ins = |h, m| s.takes_walk_ins(at(h, m)).unwrap();
        assert!(walk_ins(10, 59) && !walk_ins(11, 0) && !walk_ins(14, 0));
        // Until 10:00 on the next day: that morning opens at 10:00.
        let next = d(2026, 12, 10);
        s.closures.last_mut().unwrap().to = next;
        s.closures.last_mut().unwrap().until_time = Some(t(10, 0));
        let first = s.slots(next, 1, |_| 0, before(next)).unwrap()[0].start;
        assert_eq!(first.with_timezone(&tz).time(), t(10, 0));
        let wrong = Closure {
            from_time: Some(t(12, 0)),
            until_time: Some(t(11, 0)),
            ..Closure::days(day, day, Text::new("x", ""))
        };
        assert_eq!(wrong.problem().map(|(field, _)| field), Some("until_time"));
        assert_eq!(
            Closure::days(next, day, Text::new("x", "")).problem().map(|(f, _)| f),
            Some("to")
        );
        assert_eq!(
            Closure::days(day, day, Text::new(" ", "")).problem().map(|(f, _)| f),
            Some("reason")
        );
    }

    #[test]
    fn timing_rules_for_a_requested_start() {
        let s = schedule();
        let now = utc("2026-12-01T08:00:00Z"); // 09:00 in Berlin
        let tz = s.tz().unwrap();
        let at = |day: NaiveDate, h, m| {
            tz.from_local_datetime(&day.and_time(t(h, m)))
                .unwrap()
                .with_timezone(&Utc)
        };
        let today = d(2026, 12, 1);
        assert_eq!(s.units_for(at(today, 8, 30), 1, now), Err(SlotError::InPast));
        assert_eq!(s.units_for(at(today, 10, 0), 1, now), Err(SlotError::TooSoon(120)));
        assert_eq!(
            s.units_for(at(today, 11, 0), 2, now).unwrap(),
            vec![
                Unit {
                    start: at(today, 11, 0),
                    capacity: 2
                },
                Unit {
                    start: at(today, 11, 15),
                    capacity: 2
                }
            ]
        );
        assert_eq!(s.units_for(at(today, 11, 5), 1, now), Err(SlotError::NotOnGrid));
        assert_eq!(
            s.units_for(at(today, 11, 45), 2, now),
            Err(SlotError::NotOnGrid),
            "runs into the break"
        );
        assert_eq!(s.units_for(at(d(2026, 12, 7), 9, 0), 1, now), Err(SlotError::Closed));
        assert_eq!(
            s.units_for(at(d(2027, 1, 29), 9, 0), 1, now).unwrap().len(),
            1,
            "day 59"
        );
        assert_eq!(
            s.units_for(at(d(2027, 2, 1), 9, 0), 1, now),
            Err(SlotError::BeyondWindow(60))
        );
        // Slots of today respect the lead time too.
        let today_slots = s.slots(today, 1, |_| 0, now).unwrap();
        assert_eq!(today_slots.first().unwrap().start, at(today, 11, 0));
    }

    #[test]
    fn walk_in_tickets_only_while_the_office_is_open() {
        let s = schedule();
        // Wednesday 2 December 2026 (CET, UTC+1); 7 December is a closure; Sunday the 6th has
        // only the night period.
        let table = [
            (
                "2026-12-02T06:44:00Z",
                false,
                "07:44, before the quarter hour ahead of 08:00",
            ),
            ("2026-12-02T06:45:00Z", true, "07:45, people wait at the door"),
            ("2026-12-02T10:59:00Z", true, "11:59"),
            ("2026-12-02T11:00:00Z", false, "12:00, closing time"),
            ("2026-12-02T11:30:00Z", false, "12:30, lunch break"),
            (
                "2026-12-02T11:45:00Z",
                true,
                "12:45, a quarter hour before the afternoon",
            ),
            ("2026-12-02T13:59:00Z", true, "14:59"),
            ("2026-12-02T14:00:00Z", false, "15:00, closed for the day"),
            ("2026-12-02T00:50:00Z", true, "01:50 in the night period"),
            ("2026-12-01T23:00:00Z", false, "00:00"),
            ("2026-12-06T09:00:00Z", false, "Sunday 10:00"),
            ("2026-12-07T09:00:00Z", false, "Monday 10:00, a closure"),
            ("2026-12-25T09:00:00Z", false, "Christmas Day, a holiday"),
        ];
        for (now, open, why) in table {
            assert_eq!(s.takes_walk_ins(utc(now)).unwrap(), open, "{why}");
        }
    }

    /// Local time in Berlin.
    fn berlin(s: &str) -> DateTime<Utc> {
        chrono_tz::Europe::Berlin
            .from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_newest_day_opens_at_the_release_time_also_on_dst_days() {
        let s = Schedule {
            booking_window_days: 61,
            release_time: Some(t(7, 0)),
            ..schedule()
        };
        // Spring forward (28 March 2027), fall back (31 October 2027), and a plain day.
        for today in [d(2027, 3, 28), d(2027, 10, 31), d(2027, 6, 15)] {
            let newest = today + Duration::days(61);
            let start = berlin(&format!("{newest} 01:00:00"));
            let at = |time: &str| berlin(&format!("{today} {time}"));
            assert_eq!(
                s.check_timing(start, at("06:59:59")),
                Err(SlotError::NotYetReleased(t(7, 0))),
                "{today}"
            );
            assert_eq!(s.check_timing(start, at("07:00:00")), Ok(()), "{today}");
            assert!(s.units_for(start, 1, at("07:00:00")).is_ok(), "{today}");
            // Staff booking for a caller do not wait for the release.
            assert_eq!(s.check_timing_as(start, at("06:59:59"), Booker::Staff), Ok(()));
            // The day before the newest was released yesterday.
            let earlier = berlin(&format!("{} 01:00:00", newest - Duration::days(1)));
            assert_eq!(s.check_timing(earlier, at("06:59:59")), Ok(()), "{today}");
        }
    }

    #[test]
    fn the_staff_share_and_the_near_days_are_for_staff_only() {
        let mut s = Schedule {
            staff_only_days: 2,
            ..schedule()
        };
        for p in &mut s.opening {
            p.staff_capacity = 1;
        }
        let monday = d(2026, 12, 14);
        let nine = berlin("2026-12-14 09:00:00");
        let now = berlin("2026-12-01 08:00:00");
        assert_eq!(s.units_for(nine, 1, now).unwrap()[0].capacity, 2, "online");
        assert_eq!(
            s.units_for_as(nine, 1, now, Booker::Staff).unwrap()[0].capacity,
            3,
            "online and staff"
        );
        let online = s.slots(monday, 1, |_| 2, now).unwrap();
        assert!(
            online.iter().filter(|x| x.start == nine).all(|x| x.free == 0),
            "the online share is used up"
        );
        let staff = s.slots_as(monday, 1, |_| 2, now, Booker::Staff).unwrap();
        assert_eq!(
            staff.iter().find(|x| x.start == nine).map(|x| x.free),
            Some(1),
            "the clerk's place"
        );
        // Tomorrow is kept for staff; the day after is not.
        let tomorrow = berlin("2026-12-02 09:00:00");
        assert_eq!(s.check_timing(tomorrow, now), Err(SlotError::StaffOnly(2)));
        assert_eq!(s.check_timing_as(tomorrow, now, Booker::Staff), Ok(()));
        assert_eq!(s.check_timing(berlin("2026-12-03 09:00:00"), now), Ok(()));
    }
}

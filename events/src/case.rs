//! Applications after the visit (cases): an identity card applied for at the counter is made
//! elsewhere and comes back to be picked up. A case follows it like a parcel, step by step,
//! set by staff or by the specialist procedure that makes the document.
//!
//! A case's stream is named by a hash of its tracking code, as a booking's is: the code is the
//! citizen's key and is never stored.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::booking::Personal;
use crate::event::{decode, encode, Decision, DecodeError, Expectation, RecordedEvent};

pub const SCHEMA: i32 = 1;

pub fn stream(tracking_hash: &str) -> String {
    format!("case-{tracking_hash}")
}

/// The kinds of application every office follows: id, German and English name, and the weeks
/// before expiry a renewal reminder goes (a passport takes up to six weeks to make; vehicle
/// papers do not expire). Offices add their own (`Catalogue::case_kinds`).
pub const KINDS: &[(&str, &str, &str, u32)] = &[
    ("personalausweis", "Personalausweis", "Identity card", 8),
    ("reisepass", "Reisepass", "Passport", 8),
    ("fuehrerschein", "Führerschein", "Driving licence", 8),
    ("fahrzeugpapiere", "Fahrzeugpapiere", "Vehicle papers", 0),
];

/// How far ahead an expected ready date may lie: a passport takes weeks, not years.
pub const MAX_EXPECTED_DAYS: i64 = 180;

/// Where an application stands. Staff and the specialist procedure move it on; the citizen
/// sees the same steps as a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Step {
    /// Applied for at the counter.
    Received,
    /// At the manufacturer (the Bundesdruckerei for identity documents).
    InProduction,
    /// Something is missing; the citizen is asked to bring it.
    DocumentsMissing,
    /// Back at the office, waiting to be picked up.
    Ready,
    PickedUp,
    /// Given up: by the citizen, or not picked up in time.
    Withdrawn,
}

impl Step {
    /// The steps that may follow this one. Received may go straight to ready (a document made
    /// on the spot), documents missing returns to where the work stood, and nothing follows
    /// picked up or withdrawn.
    pub fn next(self) -> &'static [Step] {
        use Step::*;
        match self {
            Received => &[InProduction, DocumentsMissing, Ready, Withdrawn],
            InProduction => &[Ready, DocumentsMissing, Withdrawn],
            DocumentsMissing => &[Received, InProduction, Withdrawn],
            Ready => &[PickedUp, Withdrawn],
            PickedUp | Withdrawn => &[],
        }
    }

    pub fn may_become(self, next: Step) -> bool {
        self.next().contains(&next)
    }

    /// Nothing more happens to a closed case.
    pub fn is_closed(self) -> bool {
        self.next().is_empty()
    }

    pub const ALL: [Step; 6] = [
        Step::Received,
        Step::InProduction,
        Step::DocumentsMissing,
        Step::Ready,
        Step::PickedUp,
        Step::Withdrawn,
    ];
}

/// Who moved a case on: a clerk (named in the event's metadata as actor), or a specialist
/// procedure through the import with its own token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Source {
    Staff,
    Import { system: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CaseEvent {
    CaseOpened {
        /// What was applied for: `personalausweis`, `reisepass`, … or an office-defined kind.
        kind: String,
        location: String,
        opened_at: DateTime<Utc>,
        expected_ready: NaiveDate,
        /// The specialist procedure's number for the application, which its imports name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Where "ready" is sent (email or mobile), sealed like a booking's contact; none when
        /// the citizen only keeps the tracking code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<Personal>,
        /// The language the citizen is written to in: `de` or `en`.
        language: String,
    },
    StepReached {
        step: Step,
        at: DateTime<Utc>,
        source: Source,
    },
    /// The contact's data key is destroyed: the address served its one purpose.
    ContactErased { at: DateTime<Utc> },
}

impl CaseEvent {
    pub fn to_new_event(&self, tracking_hash: &str) -> crate::event::NewEvent {
        encode(stream(tracking_hash), SCHEMA, self)
    }
}

/// A case as its stream tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub version: i64,
    pub kind: String,
    pub location: String,
    pub reference: Option<String>,
    pub contact: Option<Personal>,
    pub language: String,
    pub expected_ready: NaiveDate,
    pub step: Step,
    /// Every step with when it was reached, the first one the opening.
    pub history: Vec<(Step, DateTime<Utc>)>,
    /// The contact's key is destroyed (the sealed text stays, unreadable).
    pub erased: bool,
}

impl Case {
    /// Folds a case stream; `None` for a stream without an opening.
    pub fn fold(events: &[RecordedEvent]) -> Result<Option<Case>, DecodeError> {
        let mut case: Option<Case> = None;
        for e in events {
            Case::apply(&mut case, e)?;
        }
        Ok(case)
    }

    pub fn apply(case: &mut Option<Case>, e: &RecordedEvent) -> Result<(), DecodeError> {
        match (decode(e)?, case.as_mut()) {
            (
                CaseEvent::CaseOpened {
                    kind,
                    location,
                    opened_at,
                    expected_ready,
                    reference,
                    contact,
                    language,
                },
                _,
            ) => {
                *case = Some(Case {
                    version: e.version,
                    kind,
                    location,
                    reference,
                    contact,
                    language,
                    expected_ready,
                    step: Step::Received,
                    history: vec![(Step::Received, opened_at)],
                    erased: false,
                })
            }
            (CaseEvent::StepReached { step, at, .. }, Some(c)) => {
                c.step = step;
                c.history.push((step, at));
                c.version = e.version;
            }
            (CaseEvent::ContactErased { .. }, Some(c)) => {
                c.erased = true;
                c.version = e.version;
            }
            (CaseEvent::StepReached { .. } | CaseEvent::ContactErased { .. }, None) => {}
        }
        Ok(())
    }

    /// Whether its contact, kept for the "ready" notice, is due to go: the case closed (picked
    /// up or withdrawn) before `cutoff` and the contact is not erased yet.
    pub fn contact_erasable(&self, cutoff: DateTime<Utc>) -> bool {
        self.contact.is_some() && !self.erased && self.step.is_closed() && self.updated_at() < cutoff
    }

    /// When the case last moved.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.history.last().map(|(_, at)| *at).unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// Past its expected date and not moved since (R9.6: a transfer from the specialist
    /// procedure that never came). `today` is the office's local date.
    pub fn is_overdue(&self, today: NaiveDate, updated_on: NaiveDate) -> bool {
        matches!(self.step, Step::Received | Step::InProduction)
            && today > self.expected_ready
            && updated_on <= self.expected_ready
    }
}

/// Every case in brief, without contact: how an import finds a case by the procedure's
/// reference, and which cases are overdue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cases {
    cases: std::collections::HashMap<String, Case>,
    /// (location, reference) → the case's stream.
    references: std::collections::HashMap<(String, String), String>,
    /// The specialist procedures allowed to report, by device id.
    procedures: std::collections::BTreeMap<String, Procedure>,
}

/// The applications of a period in figures (`Cases::figures`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseFigures {
    /// Applications opened in the period.
    pub opened: u32,
    pub by_kind: Vec<KindCount>,
    /// Where the period's applications stand now.
    pub by_step: Vec<StepCount>,
    /// Days from the application to ready (one decimal), of those ready by now.
    pub days_to_ready: crate::stats::Spread,
    /// Days from ready to picked up, of those picked up.
    pub days_to_pick_up: crate::stats::Spread,
}

/// One month, office and kind of the open-data counts (`Cases::monthly`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub location: String,
    pub kind: String,
    pub opened: u32,
    pub ready: u32,
    pub picked_up: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindCount {
    pub kind: String,
    /// What the office calls the kind (filled in by the server, which knows the catalogue).
    #[serde(default)]
    pub name: crate::catalogue::Text,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCount {
    pub step: Step,
    pub count: u32,
}

/// A specialist procedure as the alarm for missing transfers sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub id: String,
    pub location: String,
    pub registered_at: DateTime<Utc>,
    /// When an import from it last arrived (to within [`ARRIVAL_EVERY_MINUTES`]).
    pub last_import: Option<DateTime<Utc>>,
}

impl Procedure {
    /// Heard from last: its last import, or its registration if it never sent one.
    pub fn heard_at(&self) -> DateTime<Utc> {
        self.last_import.unwrap_or(self.registered_at)
    }

    /// Quiet for longer than a weekend and a holiday: the transfer has probably stopped (R9.6).
    pub fn is_silent(&self, now: DateTime<Utc>) -> bool {
        now - self.heard_at() >= Duration::hours(SILENT_AFTER_HOURS)
    }
}

/// How long a procedure may stay quiet before admins are told.
pub const SILENT_AFTER_HOURS: i64 = 72;
/// An import's arrival is written at most this often per procedure: enough to notice silence,
/// rare enough that imports repeating what is known leave the log alone.
pub const ARRIVAL_EVERY_MINUTES: i64 = 60;

pub fn procedure_stream(device: &str) -> String {
    format!("procedure-{device}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ProcedureEvent {
    /// An import from the procedure arrived and was accepted.
    ImportArrived { at: DateTime<Utc> },
}

/// The arrival to record for an accepted import from `procedure` at `now`: none while the last
/// recorded one is recent.
pub fn arrival(procedure: &Procedure, now: DateTime<Utc>) -> Option<Decision> {
    let recent = procedure
        .last_import
        .is_some_and(|last| now - last < Duration::minutes(ARRIVAL_EVERY_MINUTES));
    (!recent).then(|| {
        Decision::unconditional(vec![encode(
            procedure_stream(&procedure.id),
            SCHEMA,
            &ProcedureEvent::ImportArrived { at: now },
        )])
    })
}

impl Cases {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        if let Some(id) = e.stream.strip_prefix("device-") {
            use crate::staff::access::{AccessEvent, DeviceRole};
            match decode::<AccessEvent>(e)? {
                AccessEvent::DeviceRegistered {
                    id,
                    location,
                    role: DeviceRole::Procedure,
                    ..
                } => {
                    let procedure = Procedure {
                        id: id.clone(),
                        location,
                        registered_at: e.recorded_at,
                        last_import: None,
                    };
                    self.procedures.insert(id, procedure);
                }
                AccessEvent::DeviceRevoked => {
                    self.procedures.remove(id);
                }
                _ => {}
            }
            return Ok(());
        }
        if let Some(id) = e.stream.strip_prefix("procedure-") {
            let ProcedureEvent::ImportArrived { at } = decode(e)?;
            if let Some(p) = self.procedures.get_mut(id) {
                p.last_import = Some(p.last_import.map_or(at, |last| last.max(at)));
            }
            return Ok(());
        }
        if !e.stream.starts_with("case-") {
            return Ok(());
        }
        let mut case = self.cases.remove(&e.stream);
        Case::apply(&mut case, e)?;
        if let Some(mut c) = case {
            // The contact stays in the stream: this map is read for lookups and counts only.
            c.contact = None;
            if let Some(reference) = &c.reference {
                self.references
                    .insert((c.location.clone(), reference.clone()), e.stream.clone());
            }
            self.cases.insert(e.stream.clone(), c);
        }
        Ok(())
    }

    /// Figures about the applications opened from `from` to `to` (local days, inclusive) at
    /// `location` (all offices when `None`): how many of which kind, where they stand now, and
    /// how long they took. Nothing about who handled them.
    pub fn figures(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        location: Option<&str>,
        local_date: impl Fn(&str, DateTime<Utc>) -> NaiveDate,
    ) -> CaseFigures {
        let days = |from: DateTime<Utc>, to: DateTime<Utc>| ((to - from).num_minutes() as f64 / 144.0).round() / 10.0;
        let reached = |c: &Case, step: Step| c.history.iter().find(|(s, _)| *s == step).map(|(_, at)| *at);
        let mut figures = CaseFigures::default();
        let (mut to_ready, mut to_pick_up) = (Vec::new(), Vec::new());
        let mut kinds: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
        let mut steps: std::collections::BTreeMap<Step, u32> = std::collections::BTreeMap::new();
        for c in self.cases.values() {
            let Some((_, opened)) = c.history.first() else { continue };
            let day = local_date(&c.location, *opened);
            if location.is_some_and(|l| l != c.location) || day < from || day > to {
                continue;
            }
            figures.opened += 1;
            *kinds.entry(&c.kind).or_default() += 1;
            *steps.entry(c.step).or_default() += 1;
            if let Some(ready) = reached(c, Step::Ready) {
                to_ready.push(days(*opened, ready));
                if let Some(picked) = reached(c, Step::PickedUp) {
                    to_pick_up.push(days(ready, picked));
                }
            }
        }
        figures.by_kind = kinds
            .into_iter()
            .map(|(kind, count)| KindCount {
                kind: kind.to_owned(),
                name: Default::default(),
                count,
            })
            .collect();
        figures.by_step = Step::ALL
            .iter()
            .filter_map(|step| steps.get(step).map(|&count| StepCount { step: *step, count }))
            .collect();
        figures.days_to_ready = crate::stats::Spread::of(to_ready);
        figures.days_to_pick_up = crate::stats::Spread::of(to_pick_up);
        figures
    }

    /// How many applications were opened, became ready and were picked up in each month before
    /// `before` (the office's local days), per office and kind: the open-data counts.
    pub fn monthly(&self, before: NaiveDate, local_date: impl Fn(&str, DateTime<Utc>) -> NaiveDate) -> Vec<CaseMonth> {
        use chrono::Datelike;
        let mut months: std::collections::BTreeMap<(String, String, String), CaseMonth> = Default::default();
        for c in self.cases.values() {
            for (i, (step, at)) in c.history.iter().enumerate() {
                let day = local_date(&c.location, *at);
                if day >= before {
                    continue;
                }
                let month = format!("{:04}-{:02}", day.year(), day.month());
                let row = months
                    .entry((month.clone(), c.location.clone(), c.kind.clone()))
                    .or_insert_with(|| CaseMonth {
                        month,
                        location: c.location.clone(),
                        kind: c.kind.clone(),
                        ..CaseMonth::default()
                    });
                match step {
                    _ if i == 0 => row.opened += 1,
                    Step::Ready => row.ready += 1,
                    Step::PickedUp => row.picked_up += 1,
                    _ => {}
                }
            }
        }
        months.into_values().collect()
    }

    /// A procedure allowed to report (registered, not revoked).
    pub fn procedure(&self, id: &str) -> Option<&Procedure> {
        self.procedures.get(id)
    }

    /// The procedures quiet for too long at `now`, longest quiet first.
    pub fn silent_procedures(&self, now: DateTime<Utc>) -> Vec<&Procedure> {
        let mut silent: Vec<&Procedure> = self.procedures.values().filter(|p| p.is_silent(now)).collect();
        silent.sort_by_key(|p| (p.heard_at(), p.id.clone()));
        silent
    }

    /// The tracking hash of the case the procedure knows as `reference` at `location`.
    pub fn by_reference(&self, location: &str, reference: &str) -> Option<&str> {
        self.references
            .get(&(location.to_owned(), reference.to_owned()))
            .and_then(|stream| stream.strip_prefix("case-"))
    }

    /// The overdue cases, oldest expected date first; `local_date` gives a location's date of
    /// an instant.
    pub fn overdue(
        &self,
        today: impl Fn(&str) -> NaiveDate,
        local_date: impl Fn(&str, DateTime<Utc>) -> NaiveDate,
    ) -> Vec<&Case> {
        let mut late: Vec<&Case> = self
            .cases
            .values()
            .filter(|c| c.is_overdue(today(&c.location), local_date(&c.location, c.updated_at())))
            .collect();
        late.sort_by(|a, b| (a.expected_ready, &a.location, &a.kind).cmp(&(b.expected_ready, &b.location, &b.kind)));
        late
    }
}

/// Records that the contact of a case closed before `cutoff` (picked up or withdrawn) is
/// erased; `None` when there is nothing to erase or the case is still open. The caller destroys
/// the data key first.
pub fn erase_contact(case: &Case, tracking_hash: &str, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Option<Decision> {
    case.contact_erasable(cutoff).then(|| {
        Decision::expecting(
            CaseEvent::ContactErased { at: now }.to_new_event(tracking_hash),
            Expectation::AtVersion(case.version),
        )
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaseError {
    #[error("there is no kind of application {0:?}")]
    UnknownKind(String),
    #[error("there is no location with this id")]
    UnknownLocation,
    #[error("the expected ready date is before today")]
    ExpectedInPast,
    #[error("the expected ready date is more than {MAX_EXPECTED_DAYS} days ahead")]
    ExpectedTooFar,
    #[error("there is no application with this code")]
    UnknownCase,
    #[error("an application that is {from:?} cannot become {to:?}")]
    StepNotAllowed { from: Step, to: Step },
    #[error("the application is {0:?}, not ready for pick-up")]
    NotReady(Step),
    #[error("the application is collected at another office")]
    OtherLocation,
}

/// A pick-up ticket for `case` at `location`: only for a document ready there. The answer is
/// the expectation the ticket is issued under, so a case withdrawn meanwhile gets no ticket.
pub fn draw_pick_up(case: &Case, tracking_hash: &str, location: &str) -> Result<Decision, CaseError> {
    if case.location != location {
        return Err(CaseError::OtherLocation);
    }
    if case.step != Step::Ready {
        return Err(CaseError::NotReady(case.step));
    }
    Ok(Decision {
        events: Vec::new(),
        expectations: vec![(stream(tracking_hash), Expectation::AtVersion(case.version))],
    })
}

/// The clerk handed the document over at the end of a pick-up visit: the case is picked up,
/// if it still may be (nothing for one withdrawn or already closed meanwhile).
pub fn hand_over(case: &Case, tracking_hash: &str, now: DateTime<Utc>) -> Option<Decision> {
    reach(case, tracking_hash, Step::PickedUp, Source::Staff, now)
        .ok()
        .flatten()
}

/// Opening a case at the end of a visit.
pub struct Open<'a> {
    pub tracking_hash: &'a str,
    pub kind: &'a str,
    /// The kinds the office handles.
    pub kinds: &'a [&'a str],
    pub location: &'a str,
    pub known_location: bool,
    pub today: NaiveDate,
    pub expected_ready: NaiveDate,
    pub reference: Option<String>,
    pub contact: Option<Personal>,
    pub language: &'a str,
    pub now: DateTime<Utc>,
}

pub fn open(cmd: Open<'_>) -> Result<Decision, CaseError> {
    if !cmd.kinds.contains(&cmd.kind) {
        return Err(CaseError::UnknownKind(cmd.kind.to_owned()));
    }
    if !cmd.known_location {
        return Err(CaseError::UnknownLocation);
    }
    if cmd.expected_ready < cmd.today {
        return Err(CaseError::ExpectedInPast);
    }
    if cmd.expected_ready > cmd.today + Duration::days(MAX_EXPECTED_DAYS) {
        return Err(CaseError::ExpectedTooFar);
    }
    let event = CaseEvent::CaseOpened {
        kind: cmd.kind.to_owned(),
        location: cmd.location.to_owned(),
        opened_at: cmd.now,
        expected_ready: cmd.expected_ready,
        reference: cmd.reference,
        contact: cmd.contact,
        language: if cmd.language == "en" { "en" } else { "de" }.to_owned(),
    };
    // A new stream: a second case with the same code (a collision of 80 random bits) fails.
    Ok(Decision::expecting(
        event.to_new_event(cmd.tracking_hash),
        Expectation::NoStream,
    ))
}

/// Moves the case to `step`. The step it already has changes nothing (`None`): an import sent
/// twice, or two clerks pressing the same button, records it once.
pub fn reach(
    case: &Case,
    tracking_hash: &str,
    step: Step,
    source: Source,
    now: DateTime<Utc>,
) -> Result<Option<Decision>, CaseError> {
    if case.step == step {
        return Ok(None);
    }
    if !case.step.may_become(step) {
        return Err(CaseError::StepNotAllowed {
            from: case.step,
            to: step,
        });
    }
    let event = CaseEvent::StepReached { step, at: now, source };
    Ok(Some(Decision::expecting(
        event.to_new_event(tracking_hash),
        Expectation::AtVersion(case.version),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const KINDS: &[&str] = &["personalausweis", "reisepass"];

    fn opening<'a>(expected: &str) -> Open<'a> {
        Open {
            tracking_hash: "h",
            kind: "personalausweis",
            kinds: KINDS,
            location: "buergerbuero",
            known_location: true,
            today: day("2026-12-01"),
            expected_ready: day(expected),
            reference: Some("PA-2026-4711".into()),
            contact: None,
            language: "de",
            now: now(),
        }
    }

    /// A case folded from its events, as the store would give them back.
    fn case_at(step: Step) -> Case {
        let mut events = vec![open(opening("2026-12-22")).unwrap().events.remove(0)];
        // A path from received to `step` through allowed steps.
        let path: &[Step] = match step {
            Received => &[],
            InProduction => &[InProduction],
            DocumentsMissing => &[DocumentsMissing],
            Ready => &[InProduction, Ready],
            PickedUp => &[InProduction, Ready, PickedUp],
            Withdrawn => &[Withdrawn],
        };
        for s in path {
            events.push(
                CaseEvent::StepReached {
                    step: *s,
                    at: now(),
                    source: Source::Staff,
                }
                .to_new_event("h"),
            );
        }
        let recorded: Vec<_> = events
            .iter()
            .enumerate()
            .map(|(i, e)| e.recorded(i as i64 + 1, i as i64 + 1, now()))
            .collect();
        Case::fold(&recorded).unwrap().unwrap()
    }

    #[test]
    fn every_step_allows_exactly_its_successors() {
        // (from, to, allowed)
        let allowed = [
            (Received, InProduction),
            (Received, DocumentsMissing),
            (Received, Ready),
            (Received, Withdrawn),
            (InProduction, Ready),
            (InProduction, DocumentsMissing),
            (InProduction, Withdrawn),
            (DocumentsMissing, Received),
            (DocumentsMissing, InProduction),
            (DocumentsMissing, Withdrawn),
            (Ready, PickedUp),
            (Ready, Withdrawn),
        ];
        let mut tried = 0;
        for from in Step::ALL {
            let case = case_at(from);
            assert_eq!(case.step, from);
            for to in Step::ALL {
                tried += 1;
                let answer = reach(&case, "h", to, Source::Staff, now());
                match (from == to, allowed.contains(&(from, to))) {
                    (true, _) => assert_eq!(answer, Ok(None), "{from:?} again records nothing"),
                    (false, true) => {
                        let decision = answer.unwrap().expect("an event");
                        assert_eq!(decision.events.len(), 1);
                        assert_eq!(decision.expectations[0].1, Expectation::AtVersion(case.version));
                    }
                    (false, false) => {
                        assert_eq!(answer, Err(CaseError::StepNotAllowed { from, to }), "{from:?} → {to:?}")
                    }
                }
            }
        }
        assert_eq!(tried, 36);
        assert!(PickedUp.is_closed() && Withdrawn.is_closed() && !Ready.is_closed());
    }

    #[test]
    fn only_a_ready_document_is_drawn_for_and_handed_over() {
        for step in Step::ALL {
            let case = case_at(step);
            let drawn = draw_pick_up(&case, "h", "buergerbuero");
            let handed = hand_over(&case, "h", now());
            if step == Ready {
                let drawn = drawn.unwrap();
                assert!(drawn.events.is_empty(), "drawing a ticket changes the case in no way");
                assert_eq!(
                    drawn.expectations,
                    vec![(stream("h"), Expectation::AtVersion(case.version))],
                    "the ticket holds only while the case is still ready"
                );
                let handed = handed.expect("ready → picked up");
                assert_eq!(
                    decode::<CaseEvent>(&handed.events[0].recorded(9, 9, now())).unwrap(),
                    CaseEvent::StepReached {
                        step: PickedUp,
                        at: now(),
                        source: Source::Staff
                    }
                );
            } else {
                assert_eq!(drawn.unwrap_err(), CaseError::NotReady(step), "{step:?}");
                assert_eq!(handed, None, "a {step:?} case is left as it is");
            }
        }
        let elsewhere = draw_pick_up(&case_at(Ready), "h", "kfz-zulassung");
        assert_eq!(elsewhere.unwrap_err(), CaseError::OtherLocation);
    }

    #[test]
    fn an_import_names_its_system_and_the_history_keeps_every_step() {
        let case = case_at(InProduction);
        let source = Source::Import {
            system: "kommwis-pass".into(),
        };
        let decision = reach(&case, "h", Ready, source.clone(), now()).unwrap().unwrap();
        let recorded = decision.events[0].recorded(3, 3, now());
        let mut folded = Some(case.clone());
        Case::apply(&mut folded, &recorded).unwrap();
        let folded = folded.unwrap();
        assert_eq!(folded.step, Ready);
        assert_eq!(
            folded.history.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            [Received, InProduction, Ready]
        );
        assert_eq!(
            decode::<CaseEvent>(&recorded).unwrap(),
            CaseEvent::StepReached {
                step: Ready,
                at: now(),
                source
            }
        );
    }

    #[test]
    fn opening_checks_kind_place_and_date() {
        assert!(open(opening("2026-12-01")).is_ok(), "ready the same day");
        assert_eq!(open(opening("2026-11-30")).unwrap_err(), CaseError::ExpectedInPast);
        assert_eq!(open(opening("2027-06-30")).unwrap_err(), CaseError::ExpectedTooFar);
        let unknown = Open {
            kind: "angelschein",
            ..opening("2026-12-22")
        };
        assert_eq!(open(unknown).unwrap_err(), CaseError::UnknownKind("angelschein".into()));
        let nowhere = Open {
            known_location: false,
            ..opening("2026-12-22")
        };
        assert_eq!(open(nowhere).unwrap_err(), CaseError::UnknownLocation);
        let decision = open(opening("2026-12-22")).unwrap();
        assert_eq!(decision.expectations, vec![(stream("h"), Expectation::NoStream)]);
    }

    #[test]
    fn a_procedure_quiet_for_three_days_is_silent_and_arrivals_are_written_hourly() {
        use crate::staff::access::{AccessEvent, DeviceRole};
        let registered = now();
        let mut cases = Cases::default();
        let device = |role| {
            encode(
                "device-pass",
                1,
                &AccessEvent::DeviceRegistered {
                    id: "pass".into(),
                    location: "buergerbuero".into(),
                    role,
                    token_hash: "t".into(),
                },
            )
            .recorded(1, 1, registered)
        };
        cases.apply(&device(DeviceRole::Kiosk)).unwrap();
        assert!(cases.procedure("pass").is_none(), "a kiosk reports nothing");
        cases.apply(&device(DeviceRole::Procedure)).unwrap();
        let hours = |h: i64| registered + Duration::hours(h);
        assert!(cases.silent_procedures(hours(71)).is_empty(), "never sent, but new");
        assert_eq!(cases.silent_procedures(hours(72)).len(), 1, "never sent for three days");

        let first = arrival(cases.procedure("pass").unwrap(), hours(10)).expect("the first arrival");
        assert_eq!(first.events[0].stream, "procedure-pass");
        cases.apply(&first.events[0].recorded(2, 1, hours(10))).unwrap();
        let p = cases.procedure("pass").unwrap();
        assert_eq!(p.last_import, Some(hours(10)));
        assert!(
            arrival(p, hours(10) + Duration::minutes(59)).is_none(),
            "within the hour"
        );
        assert!(arrival(p, hours(11)).is_some(), "an hour later");
        assert!(cases.silent_procedures(hours(81)).is_empty());
        assert_eq!(
            cases.silent_procedures(hours(82)).len(),
            1,
            "quiet since its last import"
        );

        let revoked = encode("device-pass", 1, &AccessEvent::DeviceRevoked).recorded(3, 2, hours(90));
        cases.apply(&revoked).unwrap();
        assert!(
            cases.silent_procedures(hours(100)).is_empty(),
            "a revoked key is not missed"
        );
    }

    #[test]
    fn figures_count_kinds_and_steps_and_measure_the_days() {
        let mut cases = Cases::default();
        let mut position = 0;
        let mut record = |cases: &mut Cases, event: crate::event::NewEvent, at: DateTime<Utc>| {
            position += 1;
            cases.apply(&event.recorded(position, position, at)).unwrap();
        };
        let days = |d: i64| now() + Duration::days(d);
        let step = |hash: &str, step, at| {
            CaseEvent::StepReached {
                step,
                at,
                source: Source::Staff,
            }
            .to_new_event(hash)
        };
        for (hash, kind, location) in [
            ("a", "personalausweis", "buergerbuero"),
            ("b", "personalausweis", "buergerbuero"),
            ("c", "reisepass", "buergerbuero"),
            ("d", "reisepass", "kfz-zulassung"),
        ] {
            let opened = open(Open {
                tracking_hash: hash,
                kind,
                location,
                ..opening("2026-12-22")
            });
            record(&mut cases, opened.unwrap().events.remove(0), now());
        }
        // a: ready after 14 days, picked up 3 days later; b: ready after 21 days; c: withdrawn.
        record(&mut cases, step("a", Ready, days(14)), days(14));
        record(&mut cases, step("a", PickedUp, days(17)), days(17));
        record(&mut cases, step("b", InProduction, days(1)), days(1));
        record(&mut cases, step("b", Ready, days(21)), days(21));
        record(&mut cases, step("c", Withdrawn, days(2)), days(2));
        let utc_day = |_: &str, t: DateTime<Utc>| t.date_naive();
        let f = cases.figures(day("2026-12-01"), day("2026-12-01"), Some("buergerbuero"), utc_day);
        assert_eq!(f.opened, 3, "the other office's case is not counted");
        let kinds: Vec<(&str, u32)> = f.by_kind.iter().map(|k| (k.kind.as_str(), k.count)).collect();
        assert_eq!(kinds, [("personalausweis", 2), ("reisepass", 1)]);
        let steps: Vec<(Step, u32)> = f.by_step.iter().map(|s| (s.step, s.count)).collect();
        assert_eq!(steps, [(Ready, 1), (PickedUp, 1), (Withdrawn, 1)]);
        assert_eq!((f.days_to_ready.n, f.days_to_ready.median), (2, Some(17.5)));
        assert_eq!((f.days_to_pick_up.n, f.days_to_pick_up.median), (1, Some(3.0)));
        let none = cases.figures(day("2026-12-02"), day("2026-12-31"), None, utc_day);
        assert_eq!(none, CaseFigures::default(), "opened before the period");

        // By month: opened in December, a's pick-up (17 days later) too; b's ready (21 days)
        // falls in December as well; nothing of January while January is not over.
        let months = cases.monthly(day("2027-02-01"), utc_day);
        let row = |location: &str, kind: &str| {
            months
                .iter()
                .find(|m| m.location == location && m.kind == kind)
                .map(|m| (m.month.as_str(), m.opened, m.ready, m.picked_up))
        };
        assert_eq!(row("buergerbuero", "personalausweis"), Some(("2026-12", 2, 2, 1)));
        assert_eq!(row("buergerbuero", "reisepass"), Some(("2026-12", 1, 0, 0)));
        assert_eq!(row("kfz-zulassung", "reisepass"), Some(("2026-12", 1, 0, 0)));
        assert_eq!(months.len(), 3);
        assert!(
            cases.monthly(day("2026-12-01"), utc_day).is_empty(),
            "December not over"
        );
    }

    #[test]
    fn the_register_finds_a_case_by_reference_and_lists_the_late_ones() {
        let mut cases = Cases::default();
        let opened = open(opening("2026-12-22"))
            .unwrap()
            .events
            .remove(0)
            .recorded(1, 1, now());
        cases.apply(&opened).unwrap();
        assert_eq!(cases.by_reference("buergerbuero", "PA-2026-4711"), Some("h"));
        assert_eq!(cases.by_reference("kfz-zulassung", "PA-2026-4711"), None, "per office");
        let utc_day = |_: &str, t: DateTime<Utc>| t.date_naive();
        assert!(cases.overdue(|_| day("2026-12-22"), utc_day).is_empty());
        let late = cases.overdue(|_| day("2026-12-23"), utc_day);
        assert_eq!(late.len(), 1);
        assert!(late[0].contact.is_none(), "no contact kept in the register");
        let ready = CaseEvent::StepReached {
            step: Ready,
            at: now(),
            source: Source::Staff,
        }
        .to_new_event("h")
        .recorded(2, 2, now());
        cases.apply(&ready).unwrap();
        assert!(cases.overdue(|_| day("2026-12-23"), utc_day).is_empty());
    }

    #[test]
    fn only_a_closed_cases_contact_is_erased_and_only_once() {
        let with_contact = |mut c: Case| {
            c.contact = Some(Personal::Plain(crate::booking::Contact {
                name: String::new(),
                email: "erika@example.org".into(),
                phone: None,
            }));
            c
        };
        let later = now() + Duration::days(1);
        let earlier = now() - Duration::days(1);
        let open = with_contact(case_at(Ready));
        assert_eq!(
            erase_contact(&open, "h", later, later),
            None,
            "ready: the notice may still go"
        );
        let closed = with_contact(case_at(PickedUp));
        assert_eq!(
            erase_contact(&closed, "h", earlier, later),
            None,
            "closed after the cutoff"
        );
        let decision = erase_contact(&closed, "h", later, later).expect("closed before the cutoff");
        assert_eq!(decision.expectations[0].1, Expectation::AtVersion(closed.version));
        let mut erased = Some(closed);
        Case::apply(&mut erased, &decision.events[0].recorded(9, 5, later)).unwrap();
        let erased = erased.unwrap();
        assert!(erased.erased);
        assert_eq!(erase_contact(&erased, "h", later, later), None, "once");
        assert_eq!(
            erase_contact(&case_at(Withdrawn), "h", later, later),
            None,
            "no contact, nothing to erase"
        );
    }

    #[test]
    fn a_case_is_overdue_once_its_date_passed_without_news() {
        let case = case_at(InProduction);
        let expected = case.expected_ready;
        let after = expected + Duration::days(1);
        assert!(!case.is_overdue(expected, expected), "not on the day itself");
        assert!(case.is_overdue(after, day("2026-12-02")));
        assert!(!case.is_overdue(after, after), "news after the date: someone looked");
        assert!(
            !case_at(Ready).is_overdue(after, day("2026-12-02")),
            "ready is not late"
        );
        assert!(
            !case_at(DocumentsMissing).is_overdue(after, day("2026-12-02")),
            "waits for the citizen"
        );
        assert!(!case_at(PickedUp).is_overdue(after, day("2026-12-02")));
    }
}

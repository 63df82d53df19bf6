//! What a municipality offers and where: locations and services.
//!
//! Configuration is part of the log too (stream [`STREAM`]), so every past day can be
//! evaluated against the catalogue that was valid then.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::calendar::Region;
use crate::event::{decode, encode, NewEvent, RecordedEvent};
use crate::slots::{OpeningPeriod, Schedule};

pub const STREAM: &str = "catalogue";
pub const SCHEMA: i32 = 1;

/// A text in the two UI languages; German is the office's language and always present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Text {
    pub de: String,
    pub en: String,
}

impl Text {
    pub fn new(de: &str, en: &str) -> Self {
        Text {
            de: de.into(),
            en: en.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.de.is_empty() && self.en.is_empty()
    }

    /// The text for a language code; falls back to German.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" && !self.en.is_empty() {
            &self.en
        } else {
            &self.de
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Location {
    /// Stable slug, used in URLs.
    pub id: String,
    pub name: Text,
    pub address: String,
    /// IANA time zone; all times shown and accepted at this location are local to it.
    pub time_zone: String,
    pub accessibility: Text,
    /// How to get there: public transport, parking, the entrance.
    #[serde(default, skip_serializing_if = "Text::is_empty")]
    pub directions: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Service {
    /// Stable slug, used in URLs.
    pub id: String,
    pub name: Text,
    pub description: Text,
    /// Locations that offer this service.
    pub locations: Vec<String>,
    pub duration_minutes: u32,
    /// What to bring, one entry per document.
    pub documents: Vec<Text>,
    pub fee: Text,
    pub bookable_online: bool,
    pub walk_in: bool,
    /// Letter(s) before walk-in ticket numbers, e.g. `A` in `A-017`.
    pub ticket_prefix: String,
    /// Where citizens can finish this service fully online instead of coming in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_elsewhere: Option<String>,
    /// The service's key in the federal service catalogue (LeiKa, 14 digits), for reports and
    /// links to the state's service portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leika_key: Option<String>,
    /// Hands out finished documents: its tickets may be drawn with an application's tracking
    /// code, are called before other fresh walk-ins, and the hand-over closes the application.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pick_up: bool,
}

/// The municipality behind the offices, as its privacy notice must name it (GDPR art. 13(1)(a)
/// and (b)): who is responsible for the data and how to reach its data-protection officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Municipality {
    pub name: String,
    /// The controller: authority, postal address, email or phone, as one text (lines kept).
    pub controller: String,
    /// The data-protection officer's contact, as one text.
    pub data_protection_officer: String,
}

/// A kind of application the offices follow after the visit (identity card, passport, …): the
/// four every German office handles are built in ([`crate::case::KINDS`]); an office defines
/// its own, or renames a built-in one, with the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseKind {
    /// Stable slug, e.g. `personalausweis`.
    pub id: String,
    pub name: Text,
    /// How many weeks before the document expires a citizen who asked is reminded to renew it;
    /// 0 for documents that do not expire (vehicle papers): no reminder is offered.
    #[serde(default)]
    pub remind_weeks: u32,
}

/// A counter (Schalter) where staff serve; it calls only the services it handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Counter {
    /// Stable slug, e.g. `buergerbuero-3`.
    pub id: String,
    pub location: String,
    /// What the hall screen shows, e.g. `3` or `Schalter 3`.
    pub name: String,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CatalogueEvent {
    LocationDefined(Location),
    ServiceDefined(Service),
    ServiceWithdrawn {
        id: String,
    },
    /// Opening hours, online capacity and booking rules of a location, replacing earlier ones.
    ScheduleSet {
        location: String,
        schedule: Schedule,
    },
    CounterDefined(Counter),
    /// The counter is gone (rebuilt hall, fewer places); its services stay with the others.
    CounterRemoved {
        id: String,
    },
    /// A closure added to a location's schedule by an admin (`closing::close`); the bookings it
    /// cancelled are in the same append.
    ClosureAdded {
        location: String,
        closure: crate::slots::Closure,
    },
    /// Who runs the offices: controller and data-protection officer for the privacy notice.
    MunicipalityDefined(Municipality),
    /// A kind of application defined by the office, or a built-in one renamed.
    CaseKindDefined(CaseKind),
}

impl CatalogueEvent {
    pub fn to_new_event(&self) -> NewEvent {
        encode(STREAM, SCHEMA, self)
    }
}

/// The catalogue as it stands after a sequence of events: a pure fold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    pub locations: BTreeMap<String, Location>,
    pub services: BTreeMap<String, Service>,
    pub schedules: BTreeMap<String, Schedule>,
    pub counters: BTreeMap<String, Counter>,
    pub municipality: Option<Municipality>,
    /// The kinds of application the office defined (the built-in ones are not here unless
    /// changed); [`Catalogue::case_kinds`] gives all.
    pub case_kinds: BTreeMap<String, CaseKind>,
}

impl Catalogue {
    /// Every kind of application followed: the built-in ones as the office left them, then its
    /// own, by id.
    pub fn case_kinds(&self) -> Vec<CaseKind> {
        let mut kinds: BTreeMap<String, CaseKind> = crate::case::KINDS
            .iter()
            .map(|&(id, de, en, remind_weeks)| {
                (
                    id.to_owned(),
                    CaseKind {
                        id: id.to_owned(),
                        name: Text::new(de, en),
                        remind_weeks,
                    },
                )
            })
            .collect();
        kinds.extend(self.case_kinds.iter().map(|(id, k)| (id.clone(), k.clone())));
        let builtin = |id: &str| crate::case::KINDS.iter().position(|(k, ..)| *k == id);
        let mut kinds: Vec<CaseKind> = kinds.into_values().collect();
        kinds.sort_by_key(|k| (builtin(&k.id).unwrap_or(usize::MAX), k.id.clone()));
        kinds
    }

    /// The kind of application `id`, built in or the office's.
    pub fn case_kind(&self, id: &str) -> Option<CaseKind> {
        self.case_kinds.get(id).cloned().or_else(|| {
            crate::case::KINDS
                .iter()
                .find(|(k, ..)| *k == id)
                .map(|&(id, de, en, remind_weeks)| CaseKind {
                    id: id.to_owned(),
                    name: Text::new(de, en),
                    remind_weeks,
                })
        })
    }

    /// What a kind of application is called; its id for one no longer known.
    pub fn case_kind_name(&self, id: &str) -> Text {
        self.case_kind(id).map_or_else(|| Text::new(id, id), |k| k.name)
    }

    /// The location's time zone; Europe/Berlin for an unknown location (import-config refuses
    /// unknown zone names, so that is the only way to miss).
    pub fn time_zone(&self, location: &str) -> chrono_tz::Tz {
        self.locations
            .get(location)
            .and_then(|l| l.time_zone.parse().ok())
            .unwrap_or(chrono_tz::Europe::Berlin)
    }

    /// Where finished documents are handed out at `location`: its first pick-up service.
    pub fn pick_up_service(&self, location: &str) -> Option<&Service> {
        self.services
            .values()
            .find(|s| s.pick_up && s.locations.iter().any(|l| l == location))
    }

    pub fn apply(&mut self, event: &CatalogueEvent) {
        match event {
            CatalogueEvent::LocationDefined(l) => {
                self.locations.insert(l.id.clone(), l.clone());
            }
            CatalogueEvent::ServiceDefined(s) => {
                self.services.insert(s.id.clone(), s.clone());
            }
            CatalogueEvent::ServiceWithdrawn { id } => {
                self.services.remove(id);
            }
            CatalogueEvent::ScheduleSet { location, schedule } => {
                self.schedules.insert(location.clone(), schedule.clone());
            }
            CatalogueEvent::CounterDefined(counter) => {
                self.counters.insert(counter.id.clone(), counter.clone());
            }
            CatalogueEvent::CounterRemoved { id } => {
                self.counters.remove(id);
            }
            CatalogueEvent::ClosureAdded { location, closure } => {
                if let Some(schedule) = self.schedules.get_mut(location) {
                    schedule.closures.push(closure.clone());
                }
            }
            CatalogueEvent::MunicipalityDefined(m) => self.municipality = Some(m.clone()),
            CatalogueEvent::CaseKindDefined(k) => {
                self.case_kinds.insert(k.id.clone(), k.clone());
            }
        }
    }

    /// Folds a recorded event if it belongs to the catalogue; other streams are ignored.
    pub fn apply_recorded(&mut self, event: &RecordedEvent) -> Result<(), crate::event::DecodeError> {
        if event.stream == STREAM {
            self.apply(&decode(event)?);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty() && self.services.is_empty()
    }

    /// The events that would create this catalogue from nothing.
    pub fn to_events(&self) -> Vec<CatalogueEvent> {
        self.locations
            .values()
            .cloned()
            .map(CatalogueEvent::LocationDefined)
            .chain(self.services.values().cloned().map(CatalogueEvent::ServiceDefined))
            .chain(
                self.schedules
                    .iter()
                    .map(|(location, schedule)| CatalogueEvent::ScheduleSet {
                        location: location.clone(),
                        schedule: schedule.clone(),
                    }),
            )
            .chain(self.counters.values().cloned().map(CatalogueEvent::CounterDefined))
            .chain(self.municipality.clone().map(CatalogueEvent::MunicipalityDefined))
            .chain(self.case_kinds.values().cloned().map(CatalogueEvent::CaseKindDefined))
            .collect()
    }
}

/// The demo municipality used by `schalter serve --demo`: a citizen office and a vehicle
/// registration office with their most requested services and realistic durations.
pub fn demo() -> Catalogue {
    let mut c = Catalogue::default();
    let buergerbuero = Location {
        id: "buergerbuero".into(),
        name: Text::new("Bürgerbüro im Rathaus", "Citizens' Office, Town Hall"),
        address: "Rathausplatz 1, 67059 Ludwigshafen am Rhein".into(),
        time_zone: "Europe/Berlin".into(),
        accessibility: Text::new(
            "Stufenloser Eingang, Aufzug, barrierefreies WC, Induktionsschleife an Schalter 1.",
            "Step-free entrance, lift, accessible toilet, induction loop at counter 1.",
        ),
        directions: Text::new(
            "Straßenbahn bis Haltestelle Rathaus; Parkhaus Rathaus-Center. Eingang am Rathausplatz.",
            "Tram to the Rathaus stop; Rathaus-Center car park. Entrance on Rathausplatz.",
        ),
    };
    let kfz = Location {
        id: "kfz-zulassung".into(),
        name: Text::new("Kfz-Zulassungsstelle", "Vehicle Registration Office"),
        address: "Europaplatz 1, 67063 Ludwigshafen am Rhein".into(),
        time_zone: "Europe/Berlin".into(),
        accessibility: Text::new(
            "Stufenloser Eingang, Behindertenparkplätze vor dem Haus.",
            "Step-free entrance, disabled parking in front of the building.",
        ),
        directions: Text::new(
            "Bus bis Haltestelle Europaplatz; Parkplätze vor dem Haus.",
            "Bus to the Europaplatz stop; parking in front of the building.",
        ),
    };
    let bb = || vec![buergerbuero.id.clone()];
    let kz = || vec![kfz.id.clone()];
    let id_docs = || {
        vec![
            Text::new("Bisheriger Ausweis oder Reisepass", "Current ID card or passport"),
            Text::new("Ein biometrisches Passfoto", "One biometric passport photo"),
        ]
    };
    let services = [
        Service {
            id: "personalausweis".into(),
            name: Text::new("Personalausweis beantragen", "Apply for an ID card"),
            description: Text::new(
                "Neuer Personalausweis, auch bei Verlust oder Namensänderung.",
                "New ID card, also after loss or a change of name.",
            ),
            locations: bb(),
            duration_minutes: 20,
            documents: id_docs(),
            fee: Text::new("37,00 € (unter 24 Jahren 22,80 €)", "€37.00 (under 24: €22.80)"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "A".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "reisepass".into(),
            name: Text::new("Reisepass beantragen", "Apply for a passport"),
            description: Text::new(
                "Reisepass für Erwachsene und Kinder; Expresspass möglich.",
                "Passport for adults and children; express passport available.",
            ),
            locations: bb(),
            duration_minutes: 20,
            documents: id_docs(),
            fee: Text::new("70,00 € (unter 24 Jahren 37,50 €)", "€70.00 (under 24: €37.50)"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "A".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "ausweis-abholung".into(),
            name: Text::new("Ausweis oder Pass abholen", "Collect an ID card or passport"),
            description: Text::new(
                "Abholung, sobald Sie die Fertigstellungs-Mail erhalten haben.",
                "Collection once you have received the ready-for-collection email.",
            ),
            locations: bb(),
            duration_minutes: 5,
            documents: vec![
                Text::new("Abholschein", "Collection slip"),
                Text::new("Bisheriges Dokument", "Previous document"),
            ],
            fee: Text::new("Keine Gebühr", "No fee"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "B".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: true,
        },
        Service {
            id: "wohnsitz-anmeldung".into(),
            name: Text::new("Wohnsitz anmelden oder ummelden", "Register or change your address"),
            description: Text::new(
                "Innerhalb von zwei Wochen nach dem Einzug.",
                "Within two weeks of moving in.",
            ),
            locations: bb(),
            duration_minutes: 15,
            documents: vec![
                Text::new("Personalausweis oder Reisepass", "ID card or passport"),
                Text::new("Wohnungsgeberbestätigung", "Landlord's confirmation"),
            ],
            fee: Text::new("Keine Gebühr", "No fee"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "C".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "meldebescheinigung".into(),
            name: Text::new("Meldebescheinigung", "Certificate of residence"),
            description: Text::new(
                "Bescheinigung über Ihre aktuelle Anschrift.",
                "Certificate of your current address.",
            ),
            locations: bb(),
            duration_minutes: 10,
            documents: vec![Text::new("Personalausweis oder Reisepass", "ID card or passport")],
            fee: Text::new("10,00 €", "€10.00"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "C".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "fuehrungszeugnis".into(),
            name: Text::new("Führungszeugnis beantragen", "Police clearance certificate"),
            description: Text::new(
                "Wird vom Bundesamt für Justiz per Post zugestellt.",
                "Sent by post by the Federal Office of Justice.",
            ),
            locations: bb(),
            duration_minutes: 10,
            documents: vec![Text::new("Personalausweis oder Reisepass", "ID card or passport")],
            fee: Text::new("13,00 €", "€13.00"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "C".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "kfz-neuzulassung".into(),
            name: Text::new("Fahrzeug neu zulassen", "Register a new vehicle"),
            description: Text::new(
                "Erstzulassung eines Neufahrzeugs oder Zulassung eines Gebrauchtwagens.",
                "First registration of a new vehicle or registration of a used one.",
            ),
            locations: kz(),
            duration_minutes: 30,
            documents: vec![
                Text::new("Personalausweis oder Reisepass", "ID card or passport"),
                Text::new("Zulassungsbescheinigung Teil I und II", "Registration certificate parts I and II"),
                Text::new("eVB-Nummer der Versicherung", "Insurance confirmation number (eVB)"),
                Text::new("SEPA-Mandat für die Kfz-Steuer", "SEPA mandate for vehicle tax"),
            ],
            fee: Text::new("ab 30,00 € zuzüglich Kennzeichen", "from €30.00 plus number plates"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "K".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "kfz-umschreibung".into(),
            name: Text::new("Fahrzeug umschreiben", "Re-register a vehicle"),
            description: Text::new(
                "Halterwechsel oder Umzug in den Zulassungsbezirk.",
                "Change of keeper or move into the registration district.",
            ),
            locations: kz(),
            duration_minutes: 20,
            documents: vec![
                Text::new("Personalausweis oder Reisepass", "ID card or passport"),
                Text::new("Zulassungsbescheinigung Teil I und II", "Registration certificate parts I and II"),
                Text::new("eVB-Nummer der Versicherung", "Insurance confirmation number (eVB)"),
            ],
            fee: Text::new("ab 27,00 €", "from €27.00"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "K".into(),
            online_elsewhere: None,
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "kfz-abmeldung".into(),
            name: Text::new("Fahrzeug abmelden", "Deregister a vehicle"),
            description: Text::new(
                "Mit neuem Fahrzeugschein und freigelegtem Sicherheitscode geht das vollständig online (i-Kfz).",
                "With a recent registration certificate and its uncovered security code this works fully online (i-Kfz).",
            ),
            locations: kz(),
            duration_minutes: 10,
            documents: vec![
                Text::new("Zulassungsbescheinigung Teil I", "Registration certificate part I"),
                Text::new("Beide Kennzeichen", "Both number plates"),
            ],
            fee: Text::new("ca. 12,00 €", "about €12.00"),
            bookable_online: true,
            walk_in: true,
            ticket_prefix: "K".into(),
            online_elsewhere: Some("https://www.kba.de/DE/Themen/ZentraleRegister/ZFZR/i-kfz/i-kfz_node.html".into()),
            leika_key: None,
            pick_up: false,
        },
        Service {
            id: "wunschkennzeichen".into(),
            name: Text::new("Wunschkennzeichen reservieren", "Reserve a personalised number plate"),
            description: Text::new(
                "Die Reservierung erfolgt online; zur Zulassung bringen Sie die Reservierungsbestätigung mit.",
                "Reservation is online; bring the reservation confirmation to the registration.",
            ),
            locations: kz(),
            duration_minutes: 5,
            documents: vec![],
            fee: Text::new("12,80 €", "€12.80"),
            bookable_online: false,
            walk_in: false,
            ticket_prefix: "K".into(),
            online_elsewhere: Some("https://www.ludwigshafen.de/wunschkennzeichen".into()),
            leika_key: None,
            pick_up: false,
        },
    ];
    // (ISO weekday, opens (h, m), closes (h, m))
    type Hours = (u8, (u32, u32), (u32, u32));
    let hours = |periods: &[Hours], capacity| -> Vec<OpeningPeriod> {
        periods
            .iter()
            .map(|&(weekday, (oh, om), (ch, cm))| OpeningPeriod {
                weekday,
                open: chrono::NaiveTime::from_hms_opt(oh, om, 0).expect("valid time"),
                close: chrono::NaiveTime::from_hms_opt(ch, cm, 0).expect("valid time"),
                online_capacity: capacity,
                staff_capacity: 0,
                valid_from: None,
                valid_until: None,
            })
            .collect()
    };
    let schedule = |opening| Schedule {
        confirm_within_minutes: None,
        release_time: None,
        staff_only_days: 0,
        no_show_rule: None,
        release_hold_minutes: 0,
        reconfirm: None,
        time_zone: "Europe/Berlin".into(),
        unit_minutes: 10,
        region: Region::RhinelandPalatinate,
        opening,
        closures: vec![],
        booking_window_days: 60,
        min_lead_minutes: 60,
        max_active_per_email: 2,
    };
    // Long Wednesday afternoon for people who work; Friday mornings only.
    let buergerbuero_hours = hours(
        &[
            (1, (8, 0), (12, 30)),
            (1, (13, 30), (16, 0)),
            (2, (8, 0), (12, 30)),
            (3, (8, 0), (12, 30)),
            (3, (13, 30), (18, 0)),
            (4, (8, 0), (12, 30)),
            (4, (13, 30), (16, 0)),
            (5, (8, 0), (12, 0)),
        ],
        3,
    );
    let kfz_hours = hours(
        &[
            (1, (7, 30), (12, 30)),
            (2, (7, 30), (12, 30)),
            (3, (7, 30), (12, 30)),
            (4, (7, 30), (12, 30)),
            (4, (14, 0), (17, 30)),
            (5, (7, 30), (12, 0)),
        ],
        4,
    );
    c.apply(&CatalogueEvent::ScheduleSet {
        location: buergerbuero.id.clone(),
        schedule: schedule(buergerbuero_hours),
    });
    c.apply(&CatalogueEvent::ScheduleSet {
        location: kfz.id.clone(),
        schedule: schedule(kfz_hours),
    });
    let counter = |location: &str, n: u32, services: &[&str]| Counter {
        id: format!("{location}-{n}"),
        location: location.to_owned(),
        name: n.to_string(),
        services: services.iter().map(|s| s.to_string()).collect(),
    };
    let all_buergerbuero = [
        "personalausweis",
        "reisepass",
        "ausweis-abholung",
        "wohnsitz-anmeldung",
        "meldebescheinigung",
        "fuehrungszeugnis",
    ];
    let all_kfz = [
        "kfz-neuzulassung",
        "kfz-umschreibung",
        "kfz-abmeldung",
        "wunschkennzeichen",
    ];
    let mut counters = vec![];
    for n in 1..=3 {
        counters.push(counter(&buergerbuero.id, n, &all_buergerbuero));
    }
    // Counter 4 only hands out finished documents: short visits, never stuck behind a passport.
    counters.push(counter(&buergerbuero.id, 4, &["ausweis-abholung"]));
    for n in 1..=4 {
        counters.push(counter(&kfz.id, n, &all_kfz));
    }
    for c2 in counters {
        c.apply(&CatalogueEvent::CounterDefined(c2));
    }
    c.apply(&CatalogueEvent::LocationDefined(buergerbuero));
    c.apply(&CatalogueEvent::LocationDefined(kfz));
    for s in services {
        c.apply(&CatalogueEvent::ServiceDefined(s));
    }
    // Placeholders a municipality replaces with its own (docs/config-example.toml).
    c.apply(&CatalogueEvent::MunicipalityDefined(Municipality {
        name: "Demo-Stadtverwaltung".into(),
        controller: "Demo-Stadtverwaltung (Beispiel: in der Konfiguration durch die eigene Verwaltung ersetzen)\nRathausplatz 1, 67059 Ludwigshafen am Rhein\nbuergerservice@verwaltung.example, Telefon 115".into(),
        data_protection_officer: "Behördliche Datenschutzbeauftragte der Demo-Stadtverwaltung\nRathausplatz 1, 67059 Ludwigshafen am Rhein\ndatenschutz@verwaltung.example".into(),
    }));
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Metadata, RecordedEvent};

    #[test]
    fn demo_catalogue_round_trips_through_events() {
        let demo = demo();
        assert_eq!(demo.locations.len(), 2);
        assert_eq!(demo.services.len(), 10);
        assert_eq!(demo.schedules.len(), 2);
        assert_eq!(demo.counters.len(), 8);
        let mut rebuilt = Catalogue::default();
        for (i, e) in demo.to_events().iter().enumerate() {
            let new = e.to_new_event();
            let rec = RecordedEvent {
                position: i as i64 + 1,
                stream: new.stream,
                version: i as i64 + 1,
                event_type: new.event_type,
                schema: new.schema,
                data: new.data,
                metadata: Metadata::default(),
                recorded_at: chrono::Utc::now(),
            };
            rebuilt.apply_recorded(&rec).unwrap();
        }
        assert_eq!(rebuilt, demo);
    }

    #[test]
    fn every_demo_service_is_offered_somewhere_that_exists() {
        let demo = demo();
        for s in demo.services.values() {
            assert!(!s.locations.is_empty(), "{}", s.id);
            for l in &s.locations {
                assert!(demo.locations.contains_key(l), "{} at unknown {l}", s.id);
            }
        }
    }

    #[test]
    fn withdrawn_service_disappears_and_text_falls_back_to_german() {
        let mut c = demo();
        c.apply(&CatalogueEvent::ServiceWithdrawn { id: "reisepass".into() });
        assert!(!c.services.contains_key("reisepass"));
        let t = Text {
            de: "Hallo".into(),
            en: String::new(),
        };
        assert_eq!(t.get("en"), "Hallo");
        assert_eq!(Text::new("Hallo", "Hello").get("en"), "Hello");
    }
}

/// The catalogue as an operator edits it: one TOML file (`schalter import-config`), also what
/// `schalter export-config` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Controller and data-protection officer for the privacy notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<Municipality>,
    #[serde(default)]
    pub location: Vec<LocationConfig>,
    #[serde(default)]
    pub service: Vec<Service>,
    #[serde(default)]
    pub counter: Vec<Counter>,
    /// Kinds of application beyond the built-in ones, or built-in ones renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_kind: Vec<CaseKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationConfig {
    #[serde(flatten)]
    pub location: Location,
    /// Opening hours and booking rules; without them the location takes no online bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl ConfigFile {
    pub fn from_catalogue(c: &Catalogue) -> ConfigFile {
        ConfigFile {
            municipality: c.municipality.clone(),
            location: c
                .locations
                .values()
                .map(|l| LocationConfig {
                    location: l.clone(),
                    schedule: c.schedules.get(&l.id).cloned(),
                })
                .collect(),
            service: c.services.values().cloned().collect(),
            counter: c.counters.values().cloned().collect(),
            case_kind: c.case_kinds.values().cloned().collect(),
        }
    }

    /// The catalogue this file describes, or every problem found in it.
    pub fn to_catalogue(&self) -> Result<Catalogue, Vec<String>> {
        let mut c = Catalogue::default();
        let mut problems = Vec::new();
        if let Some(m) = &self.municipality {
            for (field, value) in [
                ("name", &m.name),
                ("controller", &m.controller),
                ("data_protection_officer", &m.data_protection_officer),
            ] {
                if value.trim().is_empty() {
                    problems.push(format!("municipality: {field} is empty (the privacy notice names it)"));
                }
            }
            c.municipality = Some(m.clone());
        }
        use crate::administration::{self as rules, Invalid};
        let said = |kind: &str, id: &str, e: Invalid| format!("{kind} {id:?}: {e}");
        for lc in &self.location {
            let l = &lc.location;
            if c.locations.contains_key(&l.id) {
                problems.push(format!("location {:?} is defined twice", l.id));
            }
            if let Err(e) = rules::check_location(l) {
                problems.push(said("location", &l.id, e));
            }
            if let Some(s) = &lc.schedule {
                if s.time_zone != l.time_zone {
                    problems.push(format!(
                        "location {:?}: the schedule's time zone differs from the location's",
                        l.id
                    ));
                }
                c.schedules.insert(l.id.clone(), s.clone());
            }
            c.locations.insert(l.id.clone(), l.clone());
        }
        // Services are checked against all of them, so their order in the file does not matter.
        for s in &self.service {
            if c.services.contains_key(&s.id) {
                problems.push(format!("service {:?} is defined twice", s.id));
            }
            c.services.insert(s.id.clone(), s.clone());
        }
        for s in &self.service {
            if let Err(e) = rules::check_service(&c, s) {
                problems.push(said("service", &s.id, e));
            }
        }
        for counter in &self.counter {
            if c.counters.contains_key(&counter.id) {
                problems.push(format!("counter {:?} is defined twice", counter.id));
            }
            if let Err(e) = rules::check_counter(&c, counter) {
                problems.push(said("counter", &counter.id, e));
            }
            c.counters.insert(counter.id.clone(), counter.clone());
        }
        for k in &self.case_kind {
            if c.case_kinds.contains_key(&k.id) {
                problems.push(format!("case_kind {:?} is defined twice", k.id));
            }
            if let Err(e) = rules::check_case_kind(k) {
                problems.push(said("case_kind", &k.id, e));
            }
            c.case_kinds.insert(k.id.clone(), k.clone());
        }
        for (id, s) in &c.schedules {
            if let Err(e) = rules::check_schedule(s, Some(rules::counters_at(&c, id))) {
                problems.push(said("location", id, e));
            }
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems)
        }
    }
}

impl Catalogue {
    /// The events that turn this catalogue into `target`: only what differs, so importing the
    /// same file twice records nothing the second time.
    pub fn changes_to(&self, target: &Catalogue, withdraw_missing: bool) -> Vec<CatalogueEvent> {
        let mut events = Vec::new();
        for (id, l) in &target.locations {
            if self.locations.get(id) != Some(l) {
                events.push(CatalogueEvent::LocationDefined(l.clone()));
            }
        }
        for (id, s) in &target.schedules {
            if self.schedules.get(id) != Some(s) {
                events.push(CatalogueEvent::ScheduleSet {
                    location: id.clone(),
                    schedule: s.clone(),
                });
            }
        }
        for (id, s) in &target.services {
            if self.services.get(id) != Some(s) {
                events.push(CatalogueEvent::ServiceDefined(s.clone()));
            }
        }
        for (id, counter) in &target.counters {
            if self.counters.get(id) != Some(counter) {
                events.push(CatalogueEvent::CounterDefined(counter.clone()));
            }
        }
        for (id, k) in &target.case_kinds {
            if self.case_kinds.get(id) != Some(k) {
                events.push(CatalogueEvent::CaseKindDefined(k.clone()));
            }
        }
        if target.municipality.is_some() && self.municipality != target.municipality {
            events.extend(target.municipality.clone().map(CatalogueEvent::MunicipalityDefined));
        }
        if withdraw_missing {
            for id in self.services.keys().filter(|id| !target.services.contains_key(*id)) {
                events.push(CatalogueEvent::ServiceWithdrawn { id: id.clone() });
            }
            for id in self.counters.keys().filter(|id| !target.counters.contains_key(*id)) {
                events.push(CatalogueEvent::CounterRemoved { id: id.clone() });
            }
        }
        events
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn offices_add_kinds_of_application_and_rename_built_in_ones() {
        let mut c = Catalogue::default();
        let ids = |c: &Catalogue| c.case_kinds().into_iter().map(|k| k.id).collect::<Vec<_>>();
        assert_eq!(
            ids(&c),
            ["personalausweis", "reisepass", "fuehrerschein", "fahrzeugpapiere"]
        );
        assert_eq!(
            c.case_kind("fahrzeugpapiere").unwrap().remind_weeks,
            0,
            "vehicle papers do not expire"
        );
        let file = ConfigFile {
            case_kind: vec![
                CaseKind {
                    id: "bewohnerparkausweis".into(),
                    name: Text::new("Bewohnerparkausweis", "Resident parking permit"),
                    remind_weeks: 4,
                },
                CaseKind {
                    id: "reisepass".into(),
                    name: Text::new("Reisepass", "Passport"),
                    remind_weeks: 12,
                },
            ],
            ..ConfigFile::default()
        };
        let target = file.to_catalogue().unwrap();
        let changes = c.changes_to(&target, false);
        assert_eq!(changes.len(), 2);
        for e in &changes {
            c.apply(e);
        }
        assert!(
            c.changes_to(&target, false).is_empty(),
            "a second import changes nothing"
        );
        assert_eq!(
            ids(&c),
            [
                "personalausweis",
                "reisepass",
                "fuehrerschein",
                "fahrzeugpapiere",
                "bewohnerparkausweis"
            ],
            "built-in first, the office's own after"
        );
        assert_eq!(c.case_kind("reisepass").unwrap().remind_weeks, 12);
        assert_eq!(c.case_kind_name("bewohnerparkausweis").en, "Resident parking permit");
        assert_eq!(c.case_kind_name("gone").de, "gone", "an unknown kind shows its id");
        let broken = ConfigFile {
            case_kind: vec![CaseKind {
                id: "Kein Slug".into(),
                name: Text::new("", ""),
                remind_weeks: 60,
            }],
            ..ConfigFile::default()
        };
        assert_eq!(broken.to_catalogue().unwrap_err().len(), 1);
        let too_long = CaseKind {
            id: "x".into(),
            name: Text::new("X", ""),
            remind_weeks: 53,
        };
        assert_eq!(
            crate::administration::check_case_kind(&too_long).unwrap_err().code,
            "invalid_remind_weeks"
        );
    }

    #[test]
    fn demo_survives_the_file_format_and_a_second_import_changes_nothing() {
        let demo = demo();
        let file = ConfigFile::from_catalogue(&demo);
        let back = file.to_catalogue().unwrap();
        assert_eq!(back, demo);
        // 2 locations, 2 schedules, 10 services, 8 counters, the municipality.
        assert_eq!(Catalogue::default().changes_to(&demo, false).len(), 23);
        assert!(demo.changes_to(&back, true).is_empty());
        // A file without a [municipality] keeps the one recorded: nothing changes.
        let without = ConfigFile {
            municipality: None,
            ..file
        };
        assert!(demo.changes_to(&without.to_catalogue().unwrap(), false).is_empty());
    }

    #[test]
    fn changes_are_only_the_differences() {
        let before = demo();
        let mut after = before.clone();
        after.services.get_mut("reisepass").unwrap().duration_minutes = 25;
        after.services.remove("fuehrungszeugnis");
        after.schedules.get_mut("buergerbuero").unwrap().min_lead_minutes = 120;
        after.counters.remove("buergerbuero-4");
        let changes = before.changes_to(&after, true);
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(matches!(&changes[0], CatalogueEvent::ScheduleSet { location, .. } if location == "buergerbuero"));
        assert!(matches!(&changes[1], CatalogueEvent::ServiceDefined(s) if s.id == "reisepass"));
        assert!(matches!(&changes[2], CatalogueEvent::ServiceWithdrawn { id } if id == "fuehrungszeugnis"));
        assert!(matches!(&changes[3], CatalogueEvent::CounterRemoved { id } if id == "buergerbuero-4"));
        assert_eq!(
            before.changes_to(&after, false).len(),
            2,
            "nothing withdrawn or removed without asking"
        );
    }

    #[test]
    fn a_broken_file_lists_every_problem() {
        let mut file = ConfigFile::from_catalogue(&demo());
        file.location[0].location.time_zone = "Mars/Olympus".into();
        file.service[0].locations.push("atlantis".into());
        file.service[1].duration_minutes = 0;
        file.service[2].id = "Bad Id".into();
        let problems = file.to_catalogue().unwrap_err();
        // 5 problems in 4 entries, and the 4 Kfz counters that now name a service that is gone.
        assert_eq!(problems.len(), 9, "{problems:#?}");
    }
}

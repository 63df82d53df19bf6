//! German first, English on request; the choice is remembered on this device.

use std::sync::OnceLock;

use leptos::prelude::*;
use schalter_events::catalogue::Text;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }
}

const STORAGE_KEY: &str = "schalter.lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn provide() {
    let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok()?);
    let lang = RwSignal::new(if saved.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::De
    });
    provide_context(lang);
    Effect::new(move |_| {
        let l = lang.get();
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, l.code());
        }
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", l.code());
        }
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            doc.set_title(text(l, "page_title"));
        }
    });
}

pub fn use_lang() -> RwSignal<Lang> {
    expect_context()
}

/// A catalogue text (given in German and English) that follows the language switch.
// One function for all such texts, so the app holds one compiled copy of the view code.
pub fn local(text: Text) -> impl Fn() -> String + Send + Sync + 'static {
    let lang = use_lang();
    move || text.get(lang.get().code()).to_owned()
}

/// A `YYYY-MM-DD` day in words ([`long_date`]) that follows the language switch.
pub fn date_of(day: String) -> impl Fn() -> String + Send + Sync + 'static {
    let lang = use_lang();
    move || long_date(lang.get(), &day)
}

/// The local time of an RFC 3339 instant ([`clock`]) that follows the language switch.
pub fn time_of(start: String) -> impl Fn() -> String + Send + Sync + 'static {
    let lang = use_lang();
    move || clock(lang.get(), &start)
}

/// A reactive UI text for `key` in the current language.
pub fn t(key: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let lang = use_lang();
    move || text(lang.get(), key)
}

/// (key, German, English) for each UI text.
pub type Texts = &'static [(&'static str, &'static str, &'static str)];

/// The texts both bundles use. German is the office's language; English for visitors.
const TEXTS: Texts = &[
    (
        "page_title",
        "Termine und Wartemarken – Bürgerservice",
        "Appointments and tickets – Citizen services",
    ),
    ("brand", "Bürgerservice", "Citizen services"),
    ("skip_to_content", "Zum Inhalt springen", "Skip to content"),
    (
        "footer_phone",
        "Ohne Internet: Termine auch telefonisch unter 115 oder ohne Termin mit Wartemarke vor Ort.",
        "No internet? Book by phone on 115, or come in and take a ticket.",
    ),
    (
        "catalogue_title",
        "Was möchten Sie erledigen?",
        "What would you like to do?",
    ),
    (
        "catalogue_intro",
        "Wählen Sie eine Dienstleistung. Sie sehen, was Sie mitbringen müssen und was es kostet.",
        "Choose a service. You will see what to bring and what it costs.",
    ),
    ("loading", "Wird geladen …", "Loading …"),
    (
        "load_failed",
        "Die Dienstleistungen konnten nicht geladen werden. Bitte versuchen Sie es gleich noch einmal.",
        "The services could not be loaded. Please try again in a moment.",
    ),
    ("minutes", "Min.", "min"),
    ("duration", "Dauer", "Duration"),
    ("fee", "Gebühr", "Fee"),
    ("documents", "Bitte mitbringen", "Please bring"),
    ("bookable_online", "Online buchbar", "Bookable online"),
    ("walk_in", "Auch ohne Termin", "Walk-in possible"),
    ("online_elsewhere", "Vollständig online erledigen", "Do it fully online"),
    (
        "coming",
        "Diese Seite ist in Vorbereitung.",
        "This page is being prepared.",
    ),
    ("not_found_title", "Seite nicht gefunden", "Page not found"),
    (
        "not_found_text",
        "Diese Adresse gibt es nicht. Zur Übersicht der Dienstleistungen:",
        "This address does not exist. Back to the list of services:",
    ),
    ("to_overview", "Zur Übersicht", "To the overview"),
    ("manage_title", "Ihr Termin", "Your appointment"),
    ("ticket_title", "Ihre Wartemarke", "Your ticket"),
    ("admin_title", "Verwaltung", "Administration"),
    ("book_button", "Termin buchen", "Book an appointment"),
    ("step", "Schritt", "Step"),
    ("of", "von", "of"),
    ("back", "Zurück", "Back"),
    ("choose_location", "Wo möchten Sie hingehen?", "Where would you like to go?"),
    ("choose_day", "Wählen Sie einen Tag", "Choose a day"),
    ("choose_time", "Wählen Sie eine Uhrzeit", "Choose a time"),
    ("your_details", "Ihre Angaben", "Your details"),
    ("no_days", "In den nächsten Wochen sind keine Termine frei. Sie können ohne Termin mit Wartemarke kommen.", "There are no free appointments in the coming weeks. You can come in without one and take a ticket."),
    ("times_free", "Zeiten frei", "times free"),
    ("name", "Vor- und Nachname", "First and last name"),
    ("email", "E-Mail-Adresse", "Email address"),
    ("email_hint", "Hierhin schicken wir die Bestätigung und eine Erinnerung.", "We send the confirmation and a reminder here."),
    ("phone", "Telefon (freiwillig)", "Phone (optional)"),
    ("phone_hint", "Für Rückfragen, falls der Termin ausfallen muss.", "In case we have to reach you about the appointment."),
    ("consent", "Ich habe die Datenschutzhinweise gelesen. Meine Angaben werden nur für diesen Termin verwendet und danach gelöscht.", "I have read the privacy notice. My details are used only for this appointment and deleted afterwards."),
    ("privacy_link", "Datenschutzhinweise", "Privacy notice"),
    ("confirm_booking", "Termin verbindlich buchen", "Book this appointment"),
    ("booking", "Wird gebucht …", "Booking …"),
    ("summary", "Ihr Termin", "Your appointment"),
    ("booked_title", "Ihr Termin ist gebucht", "Your appointment is booked"),
    ("booked_text", "Bitte notieren Sie Ihren Buchungscode. Mit ihm können Sie den Termin ändern, absagen und sich vor Ort anmelden.", "Please note your booking code. You need it to change or cancel the appointment and to check in at the office."),
    ("booking_code", "Buchungscode", "Booking code"),
    ("qr_alt", "QR-Code mit Ihrem Buchungscode zum Anmelden am Automaten", "QR code with your booking code for checking in at the kiosk"),
    ("add_to_calendar", "In den Kalender eintragen", "Add to calendar"),
    ("manage_link", "Link zu diesem Termin", "Link to this appointment"),
    ("status", "Status", "Status"),
    ("status_confirmed", "Gebucht", "Booked"),
    ("status_cancelled", "Abgesagt", "Cancelled"),
    ("status_pending", "Noch nicht bestätigt", "Not confirmed yet"),
    ("status_expired", "Verfallen (nicht bestätigt)", "Lapsed (not confirmed)"),
    ("status_checked_in", "Angemeldet", "Checked in"),
    ("pending_title", "Fast geschafft: bitte bestätigen", "Almost done: please confirm"),
    ("pending_text", "Wir haben Ihnen eine E-Mail geschickt. Bitte öffnen Sie den Link darin, um den Termin zu bestätigen. Ohne Bestätigung wird der Termin wieder freigegeben um", "We have sent you an email. Please open the link in it to confirm the appointment. Without confirmation the time is released again at"),
    ("confirm_button", "Termin bestätigen", "Confirm appointment"),
    ("confirmed_notice", "Danke, Ihr Termin ist bestätigt.", "Thank you, your appointment is confirmed."),
    ("expired_text", "Dieser Termin wurde nicht rechtzeitig bestätigt und ist wieder frei. Sie können gern einen neuen buchen.", "This appointment was not confirmed in time and has been released. You are welcome to book a new one."),
    ("err_invalid_confirmation", "Dieser Bestätigungslink passt nicht zu diesem Termin.", "This confirmation link does not belong to this appointment."),
    ("err_confirmation_expired", "Die Zeit zum Bestätigen ist abgelaufen; der Termin wurde freigegeben.", "The time to confirm has run out; the appointment was released."),
    ("err_not_pending", "Dieser Termin ist bereits bestätigt.", "This appointment is already confirmed."),
    ("err_not_confirmed", "Bitte bestätigen Sie den Termin zuerst über den Link in der E-Mail.", "Please confirm the appointment first with the link in the email."),
    ("when", "Wann", "When"),
    ("where", "Wo", "Where"),
    ("reschedule", "Termin verschieben", "Change the time"),
    ("reschedule_done", "Ihr Termin wurde verschoben.", "Your appointment has been moved."),
    ("cancel", "Termin absagen", "Cancel the appointment"),
    ("cancel_confirm", "Wirklich absagen? Der Termin wird sofort für andere frei.", "Really cancel? The time becomes free for others at once."),
    ("cancel_yes", "Ja, absagen", "Yes, cancel"),
    ("cancel_no", "Nein, behalten", "No, keep it"),
    ("cancelled_text", "Dieser Termin ist abgesagt.", "This appointment has been cancelled."),
    ("not_found_booking", "Zu diesem Code gibt es keinen Termin. Bitte prüfen Sie die Eingabe.", "There is no appointment with this code. Please check it."),
    ("err_slot_taken", "Diese Zeit wurde gerade vergeben. Bitte wählen Sie eine andere.", "This time has just been taken. Please choose another."),
    ("err_too_many_bookings", "Mit dieser E-Mail-Adresse sind schon zwei Termine gebucht. Sagen Sie einen ab, um einen neuen zu buchen.", "This email address already holds two appointments. Cancel one to book another."),
    ("err_invalid_contact", "Bitte prüfen Sie Ihre Angaben.", "Please check your details."),
    ("err_consent_required", "Bitte bestätigen Sie die Datenschutzhinweise.", "Please confirm the privacy notice."),
    ("err_too_soon", "Diese Zeit ist zu kurzfristig. Bitte wählen Sie eine spätere.", "This time is too soon. Please choose a later one."),
    ("err_in_past", "Diese Zeit ist schon vorbei.", "This time has passed."),
    ("err_already_cancelled", "Dieser Termin ist bereits abgesagt.", "This appointment is already cancelled."),
    ("err_already_past", "Dieser Termin hat schon stattgefunden.", "This appointment has already taken place."),
    // Ticket status
    ("ticket_unknown", "Diese Wartemarke gibt es nicht (mehr).", "This ticket does not exist (any more)."),
    ("ticket_offline", "Keine Verbindung. Die Anzeige wird gleich erneut versucht.", "No connection. Trying again shortly."),
    ("ticket_go_to", "Sie sind dran! Bitte gehen Sie zu Schalter", "It's your turn! Please go to counter"),
    ("ticket_finished", "Erledigt. Vielen Dank für Ihren Besuch!", "Done. Thank you for your visit!"),
    ("ticket_missed", "Ihre Nummer wurde aufgerufen, Sie waren nicht da. Bitte melden Sie sich am Empfang.", "Your number was called while you were away. Please ask at the front desk."),
    ("ticket_next", "Sie sind als Nächstes dran.", "You are next."),
    ("ticket_ahead", "Vor Ihnen:", "Ahead of you:"),
    ("ticket_about", "etwa", "about"),
    ("ticket_waiting", "Sie warten. Wir rufen Ihre Nummer auf.", "You are waiting. We will call your number."),
    ("ticket_hint", "Die Wartezeit ist eine Schätzung. Diese Seite aktualisiert sich selbst.", "The waiting time is an estimate. This page updates itself."),
    ("called", "aufgerufen", "called"),
    // Errors of the queue
    // Privacy notice
    ("privacy_intro", "Wir verarbeiten nur, was wir für Ihren Termin brauchen, so kurz wie möglich und verschlüsselt.", "We process only what your appointment needs, for as short a time as possible, and encrypted."),
    ("privacy_h_what", "Welche Daten?", "Which data?"),
    ("privacy_p_what", "Für einen Termin: Ihr Name, Ihre E-Mail-Adresse und, wenn Sie möchten, eine Telefonnummer, dazu Dienstleistung, Ort und Zeit. Für eine Wartemarke ohne Termin: keine persönlichen Daten, nur die Nummer.", "For an appointment: your name, your email address and, if you wish, a phone number, plus service, place and time. For a ticket without an appointment: no personal data, only the number."),
    ("privacy_h_why", "Wozu?", "What for?"),
    ("privacy_p_why", "Um Ihren Termin zu vergeben, Ihnen Bestätigung und Erinnerung zu schicken und Sie am Schalter zu bedienen (Art. 6 Abs. 1 lit. e DSGVO in Verbindung mit dem Landesrecht zur Verwaltungsdigitalisierung). Keine Werbung, keine Weitergabe, keine Auswertung über einzelne Personen.", "To give you your appointment, send you a confirmation and a reminder, and serve you at the counter (Art. 6(1)(e) GDPR with the state's e-government law). No advertising, no disclosure, no analysis of individual persons."),
    ("privacy_h_protect", "Wie geschützt?", "How protected?"),
    ("privacy_p_protect", "Ihre Angaben werden für jeden Termin mit einem eigenen Schlüssel verschlüsselt gespeichert. Den Termin erreichen Sie nur mit Ihrem Termin-Code; wir speichern den Code selbst nicht lesbar.", "Your details are stored encrypted, with a key of their own for each appointment. Your appointment can only be reached with your booking code; we do not store the code itself in readable form."),
    ("privacy_h_keep", "Wie lange?", "For how long?"),
    ("privacy_p_keep", "Bis 30 Tage nach dem Termin. Dann wird der Schlüssel vernichtet; Ihre Angaben sind danach für niemanden mehr lesbar. Übrig bleiben nur anonyme Zahlen für die Statistik (z. B. wie viele Termine es an einem Tag gab).", "Until 30 days after the appointment. Then the key is destroyed and nobody can read your details any more. Only anonymous figures remain for statistics (e.g. how many appointments there were on a day)."),
    ("privacy_h_who", "Wer sieht sie?", "Who sees them?"),
    ("privacy_p_who", "Nur die Mitarbeitenden der Dienststelle, bei der Sie den Termin haben, und nur, soweit sie es für Ihr Anliegen brauchen. E-Mails verschickt der Mail-Server der Verwaltung.", "Only the staff of the office where you have your appointment, and only as far as your matter requires. Emails are sent by the administration's mail server."),
    ("privacy_h_screen", "Aufrufanzeige", "Call display"),
    ("privacy_p_screen", "Der Bildschirm im Wartebereich zeigt nur Wartenummern und Schalter, niemals Namen.", "The screen in the waiting area shows only ticket numbers and counters, never names."),
    ("privacy_h_rights", "Ihre Rechte", "Your rights"),
    ("privacy_p_rights", "Sie können Auskunft, Berichtigung und Löschung verlangen. Nach einer Absage oder nach dem Termin löschen Sie Ihre Angaben auf der Seite Ihres Termins sofort selbst. Beschweren können Sie sich bei der Datenschutzaufsicht Ihres Landes (in Rheinland-Pfalz: Landesbeauftragter für den Datenschutz und die Informationsfreiheit).", "You may ask for access, correction and erasure. After cancelling, or after the appointment, you can erase your details yourself at once on your appointment's page. You may complain to your state's data protection authority (in Rhineland-Palatinate: the State Commissioner for Data Protection and Freedom of Information)."),
    // Erasure on the manage page
    ("erase_data", "Meine Angaben jetzt löschen", "Erase my details now"),
    ("erase_data_hint", "Name, E-Mail und Telefonnummer werden endgültig gelöscht. Der Termin selbst bleibt als anonymer Eintrag für die Statistik.", "Name, email and phone number are erased for good. The appointment itself stays as an anonymous entry for statistics."),
    ("data_erased", "Ihre persönlichen Angaben zu diesem Termin sind gelöscht.", "Your personal details for this appointment have been erased."),
    ("err_booking_active", "Bitte sagen Sie den Termin zuerst ab.", "Please cancel the appointment first."),
    ("err_rate_limited", "Zu viele Anfragen von hier. Bitte warten Sie etwas und versuchen Sie es dann noch einmal.", "Too many requests from here. Please wait a little and try again."),
    ("err_cooling_off", "Diese Zeit wurde gerade von hier aus abgesagt. Bitte wählen Sie eine andere.", "This time was just cancelled from here. Please choose another."),
    ("err_cross_site_request", "Bitte laden Sie die Seite neu.", "Please reload the page."),
    ("err_other", "Bitte versuchen Sie es gleich noch einmal.", "Please try again in a moment."),
    ("weekdays", "Mo,Di,Mi,Do,Fr,Sa,So", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    ("weekdays_long", "Montag,Dienstag,Mittwoch,Donnerstag,Freitag,Samstag,Sonntag", "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday"),
    ("months", "Januar,Februar,März,April,Mai,Juni,Juli,August,September,Oktober,November,Dezember", "January,February,March,April,May,June,July,August,September,October,November,December"),
    ("oclock", "Uhr", ""),
];

static BUNDLE_TEXTS: OnceLock<Texts> = OnceLock::new();

/// Adds a bundle's own texts to the shared ones; the staff bundle calls it once at start.
pub fn add_texts(texts: Texts) {
    let _ = BUNDLE_TEXTS.set(texts);
}

fn all_texts() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TEXTS.iter().chain(BUNDLE_TEXTS.get().copied().unwrap_or_default())
}

/// The UI text for an API error code, in the current language.
pub fn error_text(lang: Lang, code: &str) -> &'static str {
    all_texts()
        .find(|(k, _, _)| k.strip_prefix("err_") == Some(code))
        .map(|(_, de, en)| if lang == Lang::De { *de } else { *en })
        .unwrap_or_else(|| text(lang, "err_other"))
}

/// A `YYYY-MM-DD` date as (year, month 1–12, day, weekday 0 = Monday). Hand-written: chrono's
/// parser would cost the phone tens of kilobytes of WebAssembly.
fn ymd(date: &str) -> Option<(i32, usize, u32, usize)> {
    let mut parts = date.get(..10)?.split('-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: usize = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Sakamoto's method; 0 = Sunday.
    const T: [i32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let yy = if m < 3 { y - 1 } else { y };
    let sunday_based = (yy + yy / 4 - yy / 100 + yy / 400 + T[m - 1] + d as i32).rem_euclid(7) as usize;
    Some((y, m, d, (sunday_based + 6) % 7))
}

fn nth(list: &'static str, i: usize) -> &'static str {
    list.split(',').nth(i).unwrap_or("")
}

/// `2026-12-02` → "Mittwoch, 2. Dezember 2026" / "Wednesday, 2 December 2026".
pub fn long_date(lang: Lang, date: &str) -> String {
    let Some((y, m, d, wd)) = ymd(date) else {
        return date.to_owned();
    };
    let weekday = nth(text(lang, "weekdays_long"), wd);
    let month = nth(text(lang, "months"), m - 1);
    match lang {
        Lang::De => format!("{weekday}, {d}. {month} {y}"),
        Lang::En => format!("{weekday}, {d} {month} {y}"),
    }
}

/// `2026-12-02` → ("Mi", "2.12.") / ("Wed", "2 Dec").
pub fn short_date(lang: Lang, date: &str) -> (String, String) {
    let Some((_, m, d, wd)) = ymd(date) else {
        return (String::new(), date.to_owned());
    };
    let month = nth(text(lang, "months"), m - 1);
    let day = match lang {
        Lang::De => format!("{d}.{m}."),
        Lang::En => format!("{d} {}", month.get(..3).unwrap_or(month)),
    };
    (nth(text(lang, "weekdays"), wd).to_owned(), day)
}

/// "2026-12-02T09:00:00+01:00" → "09:00 Uhr" / "09:00".
pub fn clock(lang: Lang, start: &str) -> String {
    let hm = start.get(11..16).unwrap_or(start);
    match text(lang, "oclock") {
        "" => hm.to_owned(),
        suffix => format!("{hm} {suffix}"),
    }
}

pub fn text(lang: Lang, key: &str) -> &'static str {
    match all_texts().find(|(k, _, _)| *k == key) {
        Some((_, de, en)) => match lang {
            Lang::De => de,
            Lang::En => en,
        },
        None => {
            debug_assert!(false, "missing UI text {key}");
            "?"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::staff_texts::STAFF_TEXTS;

    #[test]
    fn every_text_exists_once_in_both_languages() {
        let all: Vec<_> = TEXTS.iter().chain(STAFF_TEXTS).collect();
        for (i, (key, de, en)) in all.iter().enumerate() {
            assert!(!de.is_empty() && (!en.is_empty() || *key == "oclock"), "{key}");
            assert!(all[i + 1..].iter().all(|(k, _, _)| k != key), "{key} twice");
        }
        assert_eq!(text(Lang::En, "brand"), "Citizen services");
        assert_eq!(text(Lang::De, "brand"), "Bürgerservice");
    }

    /// The keys a source file names in `t("…")` or `text(…, "…")`.
    fn keys_used(source: &str) -> Vec<&str> {
        let standalone = |at: usize| !source[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let mut keys = Vec::new();
        for (i, _) in source.match_indices('"') {
            let before = &source[..i];
            let t_call = before.ends_with("t(") && standalone(i - 2);
            let text_call = before.ends_with(", ")
                && before.rfind("text(").is_some_and(|at| {
                    // Still inside that call: its parentheses never close before the key.
                    let mut depth = 0i32;
                    let inside = before[at + 5..].chars().all(|c| {
                        depth += i32::from(c == '(') - i32::from(c == ')');
                        depth >= 0
                    });
                    standalone(at) && inside && depth == 0
                });
            if t_call || text_call {
                if let Some(len) = source[i + 1..].find('"') {
                    keys.push(&source[i + 1..i + 1 + len]);
                }
            }
        }
        keys
    }

    #[test]
    fn each_bundle_has_every_text_its_pages_name() {
        let citizens = [
            include_str!("main.rs"),
            include_str!("lib.rs"),
            include_str!("api.rs"),
            include_str!("pages/catalogue.rs"),
            include_str!("pages/book.rs"),
            include_str!("pages/manage.rs"),
            include_str!("pages/ticket.rs"),
            include_str!("pages/privacy.rs"),
            include_str!("pages/coming.rs"),
        ];
        let staff = [
            include_str!("staff.rs"),
            include_str!("pages/kiosk.rs"),
            include_str!("pages/desk.rs"),
            include_str!("pages/display.rs"),
            include_str!("pages/stats.rs"),
            include_str!("pages/login.rs"),
        ];
        let shared = |k: &str| TEXTS.iter().any(|(key, _, _)| *key == k);
        let staff_only = |k: &str| STAFF_TEXTS.iter().any(|(key, _, _)| *key == k);
        let mut named = 0;
        for source in citizens {
            for key in keys_used(source) {
                assert!(shared(key), "the citizens' bundle lacks the text {key:?}");
                named += 1;
            }
            // Texts reach pages in other ways too (a key passed on, a table of keys).
            for (key, _, _) in STAFF_TEXTS {
                assert!(
                    !source.contains(&format!("\"{key}\"")),
                    "{key:?} is needed by citizens' pages"
                );
            }
        }
        for source in staff {
            for key in keys_used(source) {
                assert!(
                    shared(key) || staff_only(key),
                    "the staff bundle lacks the text {key:?}"
                );
                named += 1;
            }
        }
        assert!(named > 200, "the scan finds the pages' texts ({named})");
    }

    #[test]
    fn dates_and_times_read_naturally() {
        assert_eq!(long_date(Lang::De, "2026-12-02"), "Mittwoch, 2. Dezember 2026");
        assert_eq!(long_date(Lang::En, "2026-12-02"), "Wednesday, 2 December 2026");
        assert_eq!(short_date(Lang::De, "2026-12-02"), ("Mi".into(), "2.12.".into()));
        assert_eq!(short_date(Lang::En, "2026-12-02"), ("Wed".into(), "2 Dec".into()));
        assert_eq!(
            short_date(Lang::De, "2026-03-29").0,
            "So",
            "a Sunday in March (DST day)"
        );
        assert_eq!(short_date(Lang::De, "2024-02-29").0, "Do", "leap day");
        assert_eq!(short_date(Lang::De, "2027-01-01").0, "Fr");
        assert_eq!(clock(Lang::De, "2026-12-02T09:00:00+01:00"), "09:00 Uhr");
        assert_eq!(clock(Lang::En, "2026-12-02T09:00:00+01:00"), "09:00");
        assert_eq!(
            error_text(Lang::En, "slot_taken"),
            "This time has just been taken. Please choose another."
        );
        assert_eq!(
            error_text(Lang::De, "something_new"),
            "Bitte versuchen Sie es gleich noch einmal."
        );
    }
}

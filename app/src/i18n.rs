//! German first, English on request; the choice is remembered on this device.

use leptos::prelude::*;

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

/// A reactive UI text for `key` in the current language.
pub fn t(key: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let lang = use_lang();
    move || text(lang.get(), key)
}

/// (key, German, English). German is the office's language; English for visitors.
const TEXTS: &[(&str, &str, &str)] = &[
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
    ("kiosk_title", "Wartemarke ziehen", "Take a ticket"),
    ("desk_title", "Schalterplatz", "Counter workstation"),
    ("display_title", "Aufrufanzeige", "Call display"),
    ("ticket_title", "Ihre Wartemarke", "Your ticket"),
    ("stats_title", "Auswertung", "Statistics"),
    ("admin_title", "Verwaltung", "Administration"),
];

pub fn text(lang: Lang, key: &str) -> &'static str {
    match TEXTS.iter().find(|(k, _, _)| *k == key) {
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

    #[test]
    fn every_text_exists_once_in_both_languages() {
        for (i, (key, de, en)) in TEXTS.iter().enumerate() {
            assert!(!de.is_empty() && !en.is_empty(), "{key}");
            assert!(TEXTS[i + 1..].iter().all(|(k, _, _)| k != key), "{key} twice");
        }
        assert_eq!(text(Lang::En, "brand"), "Citizen services");
        assert_eq!(text(Lang::De, "brand"), "Bürgerservice");
    }
}

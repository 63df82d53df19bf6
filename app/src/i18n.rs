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
    load();
    let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok()?);
    let lang = RwSignal::new(if saved.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::De
    });
    provide_context(lang);
    let page = RwSignal::new(None::<&'static str>);
    provide_context(PageTitle(page));
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
            match page.get() {
                Some(key) => doc.set_title(&format!("{} – {}", text(l, key), text(l, "brand"))),
                None => doc.set_title(text(l, "page_title")),
            }
        }
    });
}

/// The open page's name (a text key) for the browser tab and history.
#[derive(Clone, Copy)]
struct PageTitle(RwSignal<Option<&'static str>>);

/// Names the tab after this page ("Ihr Termin – Bürgerservice") while it is open, so tabs,
/// history and screen readers tell pages apart.
pub fn title(key: &'static str) {
    if let Some(PageTitle(page)) = use_context::<PageTitle>() {
        page.set(Some(key));
        // The next page may have named itself already.
        on_cleanup(move || {
            page.update(|p| {
                if *p == Some(key) {
                    *p = None
                }
            })
        });
    }
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

/// One UI text: (key, German, English).
type Row = (&'static str, &'static str, &'static str);

/// The page's texts. They travel in the page itself, not in the WebAssembly: every bundle's
/// `index.html` inlines `app/texts/citizens.html` (a JSON table in
/// `<script type="application/json" id="texts">`), the staff bundle also
/// `app/texts/staff.html` (`id="staff-texts"`). So the phones' download stays within its budget
/// while the texts grow, and a translator edits one table per bundle.
static TEXTS: OnceLock<Vec<Row>> = OnceLock::new();

/// Element ids of the text tables a page may carry.
const TABLES: [&str; 2] = ["texts", "staff-texts"];

/// Reads the page's text tables; call once, before anything is shown.
pub fn load() {
    let document = web_sys::window().and_then(|w| w.document());
    let mut rows = Vec::new();
    for id in TABLES {
        let json = document
            .as_ref()
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.text_content());
        if let Some(table) = json.and_then(|j| js_sys::JSON::parse(&j).ok()) {
            rows.extend(js_sys::Array::from(&table).iter().map(|row| {
                let row = js_sys::Array::from(&row);
                let cell = |i| leak(row.get(i).as_string().unwrap_or_default());
                (cell(0), cell(1), cell(2))
            }));
        }
    }
    let _ = TEXTS.set(rows);
}

/// The tables live as long as the page: one allocation each, never freed.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn all_texts() -> impl Iterator<Item = &'static Row> {
    TEXTS.get().map(Vec::as_slice).unwrap_or_default().iter()
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

    /// A bundle's table as its file holds it, read as the page's `load` reads it.
    fn table(file: &'static str, id: &str) -> Vec<Row> {
        let opening = format!("<script type=\"application/json\" id=\"{id}\">");
        let json = file
            .strip_prefix(opening.as_str())
            .and_then(|rest| rest.trim_end().strip_suffix("</script>"))
            .unwrap_or_else(|| panic!("the {id} table is one script element"));
        let rows: Vec<(String, String, String)> = serde_json::from_str(json).expect("a JSON table of triples");
        rows.into_iter()
            .map(|(k, de, en)| (leak(k), leak(de), leak(en)))
            .collect()
    }

    fn citizens_table() -> Vec<Row> {
        table(include_str!("../texts/citizens.html"), "texts")
    }

    fn staff_table() -> Vec<Row> {
        table(include_str!("../texts/staff.html"), "staff-texts")
    }

    /// What the staff bundle's page carries: both tables.
    fn load_for_tests() {
        let _ = TEXTS.set(citizens_table().into_iter().chain(staff_table()).collect());
    }

    #[test]
    fn every_text_exists_once_in_both_languages() {
        let all: Vec<Row> = citizens_table().into_iter().chain(staff_table()).collect();
        assert!(all.len() > 200, "both tables are read ({})", all.len());
        for (i, (key, de, en)) in all.iter().enumerate() {
            assert!(!de.is_empty() && (!en.is_empty() || *key == "oclock"), "{key}");
            assert!(all[i + 1..].iter().all(|(k, _, _)| k != key), "{key} twice");
        }
        load_for_tests();
        assert_eq!(text(Lang::En, "brand"), "Citizen services");
        assert_eq!(text(Lang::De, "brand"), "Bürgerservice");
    }

    #[test]
    fn each_page_carries_its_bundles_tables() {
        let inlined = |html: &str, table: &str| {
            html.contains(&format!("rel=\"inline\" type=\"html\" href=\"texts/{table}.html\""))
        };
        let (citizens_page, staff_page) = (include_str!("../index.html"), include_str!("../staff.html"));
        assert!(inlined(citizens_page, "citizens") && !inlined(citizens_page, "staff"));
        let ticket_page = include_str!("../info.html");
        assert!(inlined(ticket_page, "citizens") && !inlined(ticket_page, "staff"));
        assert!(inlined(staff_page, "citizens") && inlined(staff_page, "staff"));
    }

    /// The codes the setup rules answer with: the second argument of each `invalid(…)`.
    fn setup_error_codes(source: &str) -> Vec<&str> {
        let rules = &source[..source.find("#[cfg(test)]").unwrap_or(source.len())];
        let mut codes = Vec::new();
        for (at, _) in rules.match_indices("invalid(") {
            let rest = &rules[at + "invalid(".len()..];
            // Past the first argument: the first comma outside parentheses and quotes.
            let (mut depth, mut quoted, mut end) = (0i32, false, None);
            for (i, c) in rest.char_indices() {
                match c {
                    '"' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => depth -= 1,
                    ',' if !quoted && depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
                if depth < 0 {
                    break;
                }
            }
            let Some(second) = end.map(|i| rest[i + 1..].trim_start()) else {
                continue;
            };
            if let Some(code) = second.strip_prefix('"').and_then(|s| s.split('"').next()) {
                codes.push(code);
            }
        }
        codes
    }

    #[test]
    fn every_setup_refusal_has_a_text() {
        let codes = setup_error_codes(include_str!("../../events/src/administration.rs"));
        assert!(codes.len() > 30, "the rules are read ({codes:?})");
        assert!(codes.contains(&"invalid_cooling_off"));
        load_for_tests();
        let missing: Vec<&str> = codes
            .into_iter()
            .filter(|code| !all_texts().any(|(k, _, _)| k.strip_prefix("err_") == Some(code)))
            .collect();
        assert!(missing.is_empty(), "no err_ text in texts/*.html for {missing:?}");
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
            include_str!("info.rs"),
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
            include_str!("pages/admin.rs"),
        ];
        let (citizens_texts, staff_texts) = (citizens_table(), staff_table());
        let shared = |k: &str| citizens_texts.iter().any(|(key, _, _)| *key == k);
        let staff_only = |k: &str| staff_texts.iter().any(|(key, _, _)| *key == k);
        let mut named = 0;
        for source in citizens {
            for key in keys_used(source) {
                assert!(shared(key), "the citizens' bundle lacks the text {key:?}");
                named += 1;
            }
            // Texts reach pages in other ways too (a key passed on, a table of keys).
            for (key, _, _) in &staff_texts {
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
        load_for_tests();
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

//! Moving between the pages of one bundle. The address (path and query) is a signal; links are
//! plain `<a href>`, and a click on a link to one of the bundle's own pages becomes a history
//! entry instead of a page load. Hand-written instead of a router crate because a bundle has
//! four or five fixed pages and phones download every byte (docs/decisions.md, "Size of the
//! web app").

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Key/value pairs of an address's path parameters or query, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    /// `a=1&b=x%20y` (with or without the leading `?`).
    pub fn from_query(query: &str) -> Pairs {
        Pairs(
            query
                .trim_start_matches('?')
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }
}

/// Percent-decoding as browsers encode addresses (`+` stays `+`: our links encode it as `%2B`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parameters of `path` if it has the shape of `pattern` (`/booking/:code`).
pub fn matches(pattern: &str, path: &str) -> Option<Pairs> {
    let parts = |s: &str| -> Vec<String> { s.split('/').filter(|p| !p.is_empty()).map(str::to_owned).collect() };
    let (pattern, path) = (parts(pattern), parts(path));
    if pattern.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, v) in pattern.iter().zip(path) {
        match p.strip_prefix(':') {
            Some(name) => params.push((name.to_owned(), decode(&v))),
            None if *p == v => {}
            None => return None,
        }
    }
    Some(Pairs(params))
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Address {
    path: String,
    query: String,
}

impl Address {
    fn of(href: &str) -> Address {
        let href = href.split('#').next().unwrap_or_default();
        let (path, query) = href.split_once('?').unwrap_or((href, ""));
        Address {
            path: path.to_owned(),
            query: query.to_owned(),
        }
    }

    fn current() -> Address {
        let location = window().location();
        Address {
            path: location.pathname().unwrap_or_default(),
            query: location.search().unwrap_or_default().trim_start_matches('?').to_owned(),
        }
    }
}

#[derive(Clone, Copy)]
struct Nav {
    address: RwSignal<Address>,
    /// The path patterns of the bundle's pages: links elsewhere load normally.
    patterns: StoredValue<Vec<&'static str>>,
}

fn nav() -> Nav {
    expect_context::<Nav>()
}

/// Going to a page of this bundle as a link would (new history entry, top of the page), for
/// code that runs later (after an answer arrives), where the context is not at hand.
pub fn use_navigate() -> impl Fn(&str) + Clone {
    let nav = nav();
    move |href| go(nav, href)
}

fn go(nav: Nav, href: &str) {
    if window()
        .history()
        .and_then(|h| h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href)))
        .is_err()
    {
        let _ = window().location().set_href(href);
        return;
    }
    nav.address.set(Address::of(href));
    window().scroll_to_with_x_and_y(0.0, 0.0);
    focus_heading(20);
}

/// After a step, the focus goes to the new step's heading (the old one is gone with the link
/// that had the focus, which would leave a keyboard or screen-reader user at the top of the
/// page). The heading may wait for an answer from the server: looked for every 50 ms, for a
/// second at most.
fn focus_heading(tries: u32) {
    set_timeout(
        move || match window()
            .document()
            .and_then(|d| d.query_selector("main h1").ok().flatten())
        {
            Some(heading) => {
                let _ = heading.set_attribute("tabindex", "-1");
                if let Ok(heading) = heading.dyn_into::<web_sys::HtmlElement>() {
                    let _ = heading.focus();
                }
            }
            None if tries > 0 => focus_heading(tries - 1),
            None => {}
        },
        std::time::Duration::from_millis(50),
    );
}

/// Arrow keys move between the links of a list (the days and times to choose from), as in a
/// calendar, instead of only Tab.
pub fn arrows(ev: leptos::ev::KeyboardEvent) {
    let step: i32 = match ev.key().as_str() {
        "ArrowRight" | "ArrowDown" => 1,
        "ArrowLeft" | "ArrowUp" => -1,
        _ => return,
    };
    let Some(list) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return;
    };
    let Ok(links) = list.query_selector_all("a") else {
        return;
    };
    let active = window().document().and_then(|d| d.active_element());
    let Some(at) = (0..links.length()).find(|&i| {
        links
            .item(i)
            .is_some_and(|link| active.as_ref().is_some_and(|a| a.is_same_node(Some(&link))))
    }) else {
        return;
    };
    let next = (at as i32 + step).clamp(0, links.length() as i32 - 1) as u32;
    if let Some(link) = links.item(next).and_then(|l| l.dyn_into::<web_sys::HtmlElement>().ok()) {
        ev.prevent_default();
        let _ = link.focus();
    }
}

/// The query of the current address.
pub fn use_query_map() -> Memo<Pairs> {
    let address = nav().address;
    Memo::new(move |_| Pairs::from_query(&address.read().query))
}

/// The path parameters of the current page (from its pattern in [`Routes`]).
pub fn use_params_map() -> Memo<Pairs> {
    expect_context::<Memo<Pairs>>()
}

/// Keeps the address current: back and forward buttons, and clicks on links to own pages.
#[component]
pub fn Router(children: Children) -> impl IntoView {
    let nav = Nav {
        address: RwSignal::new(Address::current()),
        patterns: StoredValue::new(Vec::new()),
    };
    provide_context(nav);
    let popstate = window_event_listener(leptos::ev::popstate, move |_| nav.address.set(Address::current()));
    let click = window_event_listener(leptos::ev::click, move |ev| {
        if let Some(href) = own_link(&ev, nav) {
            ev.prevent_default();
            go(nav, &href);
        }
    });
    on_cleanup(move || {
        popstate.remove();
        click.remove();
    });
    children()
}

/// The `href` of the link `ev` clicked, if it is a plain click on a link to a page of this
/// bundle (not a new tab, a download, another site or the API).
fn own_link(ev: &web_sys::MouseEvent, nav: Nav) -> Option<String> {
    if ev.default_prevented() || ev.button() != 0 || ev.meta_key() || ev.alt_key() || ev.ctrl_key() || ev.shift_key() {
        return None;
    }
    let link = ev
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest("a[href]")
        .ok()??;
    if link.has_attribute("download")
        || link.has_attribute("target")
        || link.get_attribute("rel").as_deref() == Some("external")
    {
        return None;
    }
    let href = link.get_attribute("href")?;
    if !href.starts_with('/') || href.starts_with("//") {
        return None;
    }
    let path = Address::of(&href).path;
    nav.patterns
        .with_value(|patterns| patterns.iter().any(|p| matches(p, &path).is_some()))
        .then_some(href)
}

/// One page of a bundle: its path pattern and its view.
pub type Page = (&'static str, fn() -> AnyView);

/// Shows the page whose pattern the current path has, or `fallback`.
#[component]
pub fn Routes(pages: Vec<Page>, fallback: fn() -> AnyView) -> impl IntoView {
    let nav = nav();
    nav.patterns.set_value(pages.iter().map(|(p, _)| *p).collect());
    let pages = StoredValue::new(pages);
    let matched = Memo::new(move |_| {
        let address = nav.address.read();
        pages.with_value(|pages| {
            pages
                .iter()
                .enumerate()
                .find_map(|(i, (pattern, _))| matches(pattern, &address.path).map(|params| (i, params)))
        })
    });
    provide_context(Memo::new(move |_| {
        matched
            .read()
            .as_ref()
            .map(|(_, params)| params.clone())
            .unwrap_or_default()
    }));
    // A new view only when the page changes, not when its query or parameters do.
    let page = Memo::new(move |_| matched.read().as_ref().map(|(i, _)| *i));
    move || match page.get() {
        Some(i) => pages.with_value(|pages| pages[i].1)(),
        None => fallback(),
    }
}

/// Moves the focus to the element with `id` (a step's heading, a notice, a wrong field), so
/// the next thing read and typed is what changed.
pub fn focus(id: &str) {
    focus_first(&format!("#{id}"));
}

/// Moves the focus to the first element `selector` finds, once the view has drawn what just
/// changed (the control that had the focus is often gone with it).
pub fn focus_first(selector: &str) {
    let selector = selector.to_owned();
    set_timeout(
        move || {
            if let Some(el) = window()
                .document()
                .and_then(|d| d.query_selector(&selector).ok().flatten())
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        },
        std::time::Duration::ZERO,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_queries() {
        assert_eq!(
            matches("/booking/:code", "/booking/AB%2DC")
                .unwrap()
                .get("code")
                .as_deref(),
            Some("AB-C")
        );
        assert!(matches("/booking/:code", "/booking").is_none());
        assert!(matches("/", "/datenschutz").is_none());
        assert!(matches("/", "/").is_some());
        let q = Pairs::from_query("?service=pass&time=2026-12-02T09%3A00%3A00%2B01%3A00&neu");
        assert_eq!(q.get("time").as_deref(), Some("2026-12-02T09:00:00+01:00"));
        assert_eq!(q.get("neu").as_deref(), Some(""));
        assert_eq!(q.get("day"), None);
    }
}

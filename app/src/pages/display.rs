//! `/display/:location`: the hall screen. Ticket numbers and counters only, large enough to read
//! from across the hall, fed live by the server's SSE stream (the browser's EventSource resumes
//! with `Last-Event-ID` by itself; after a refused connection the page reconnects on its own).
//! A two-tone gong (Web Audio, no sound file) and an optional spoken call announce each call.

use std::time::Duration;

use crate::nav::use_params_map;
use leptos::prelude::*;
use schalter_events::api::{CallView, Snapshot, WaitingGroup};
use schalter_events::catalogue::Text;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::api;
use crate::i18n::{t, text, use_lang, Lang};

const SHOWN_CALLS: usize = 8;
const RECONNECT: Duration = Duration::from_secs(5);

/// The screen's state, shared by the event handlers of every connection it makes.
#[derive(Clone, Copy)]
struct Screen {
    calls: RwSignal<Vec<CallView>>,
    waiting: RwSignal<Vec<WaitingGroup>>,
    place: RwSignal<Option<Text>>,
    online: RwSignal<bool>,
    /// Bumped on every call, so the newest row is drawn afresh and its highlight plays again.
    flash: RwSignal<u32>,
    sound: RwSignal<bool>,
    speech: RwSignal<bool>,
    lang: RwSignal<Lang>,
}

#[component]
pub fn Display() -> impl IntoView {
    crate::i18n::title("display_page_title");
    let params = use_params_map();
    let location = params.read_untracked().get("location").unwrap_or_default();
    let token = api::device_token("display");
    let screen = Screen {
        calls: RwSignal::new(vec![]),
        waiting: RwSignal::new(vec![]),
        place: RwSignal::new(None),
        online: RwSignal::new(false),
        flash: RwSignal::new(0),
        sound: RwSignal::new(false),
        speech: RwSignal::new(false),
        lang: use_lang(),
    };
    let mut url = format!("/api/locations/{location}/display/stream");
    if let Some(token) = &token {
        url.push_str(&format!("?token={token}"));
    }
    let source = StoredValue::new_local(connect(url, screen));
    on_cleanup(move || {
        source.with_value(|s| {
            if let Some(s) = s {
                s.close()
            }
        })
    });
    let lang = screen.lang;
    let place = move || {
        screen
            .place
            .get()
            .map(|p| p.get(lang.get().code()).to_owned())
            .unwrap_or_default()
    };
    let rows = move || {
        screen.flash.track();
        screen
            .calls
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let class = if i == 0 { "latest" } else { "" };
                let (number_id, counter_id) = if i == 0 {
                    ("latest-number", "latest-counter")
                } else {
                    ("", "")
                };
                // Marked in words, not by colour alone, and never more than the kind of visit.
                let pick_up = c
                    .pick_up
                    .then(|| view! { <span class="display-pick-up">{t("display_pick_up")}</span> });
                view! {
                    <tr class=class>
                        <td class="display-number" data-testid=number_id>{c.number}{pick_up}</td>
                        <td class="display-arrow" aria-hidden="true">"→"</td>
                        <td class="display-counter" data-testid=counter_id>{c.counter}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let announcement = move || {
        screen
            .calls
            .get()
            .first()
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    text(lang.get(), "display_number"),
                    c.number,
                    text(lang.get(), "display_to_counter"),
                    c.counter
                )
            })
            .unwrap_or_default()
    };
    let groups = move || {
        let waiting: Vec<WaitingGroup> = screen.waiting.get().into_iter().filter(|g| g.waiting > 0).collect();
        if waiting.is_empty() {
            // An empty box would look broken; an empty hall is worth saying.
            return view! { <li>{t("display_nobody_waiting")}</li> }.into_any();
        }
        waiting
            .into_iter()
            .map(|g| {
                let l = lang.get();
                let estimate = match g.estimate_minutes {
                    Some([from, to]) => format!("{} {from}–{to} {}", text(l, "ticket_about"), text(l, "minutes")),
                    None => text(l, "display_not_open").to_owned(),
                };
                view! {
                    <li>
                        <span class="group-name">{g.name.get(l.code()).to_owned()}</span>
                        <span class="group-figures">{format!("{} {} · {estimate}", g.waiting, text(l, "display_waiting"))}</span>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="display" aria-labelledby="display-h">
            <header class="display-head">
                <h1 id="display-h">{place}</h1>
                <div class="display-controls">
                    <button type="button" aria-pressed=move || screen.sound.get().to_string()
                        on:click=move |_| { screen.sound.update(|s| *s = !*s); if screen.sound.get_untracked() { gong(); } }>
                        {t("display_sound")}
                    </button>
                    <button type="button" aria-pressed=move || screen.speech.get().to_string()
                        on:click=move |_| screen.speech.update(|s| *s = !*s)>
                        {t("display_speech")}
                    </button>
                </div>
            </header>
            {move || (!screen.online.get()).then(|| view! { <p class="display-offline" role="status">{t("display_reconnecting")}</p> })}
            <div class="display-main">
                <table class="display-calls">
                    <caption class="visually-hidden">{t("display_calls")}</caption>
                    <thead><tr><th scope="col">{t("display_number")}</th><th aria-hidden="true"></th><th scope="col">{t("display_counter")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <aside class="display-waiting" aria-labelledby="waiting-h">
                    <h2 id="waiting-h">{t("display_waiting_title")}</h2>
                    <ul>{groups}</ul>
                    <p class="display-hint">{t("display_hint")}</p>
                </aside>
            </div>
            <p class="visually-hidden" aria-live="assertive">{announcement}</p>
        </section>
    }
}

fn on<F: FnMut(web_sys::MessageEvent) + 'static>(source: &web_sys::EventSource, name: &str, f: F) {
    let callback = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(f);
    let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
    // Lives as long as the EventSource, which the page closes on leaving.
    callback.forget();
}

fn connect(url: String, screen: Screen) -> Option<web_sys::EventSource> {
    let source = web_sys::EventSource::new(&url).ok()?;
    let data = |e: &web_sys::MessageEvent| e.data().as_string().unwrap_or_default();
    on(&source, "open", move |_| screen.online.set(true));
    on(&source, "snapshot", move |e| {
        if let Ok(s) = api::parse::<Snapshot>(data(&e)) {
            screen.place.set(Some(s.location));
            screen.calls.set(s.calls);
            screen.waiting.set(s.waiting);
            screen.online.set(true);
        }
    });
    on(&source, "call", move |e| {
        if let Ok(call) = api::parse::<CallView>(data(&e)) {
            announce(&call, screen);
            screen.calls.update(|calls| {
                calls.insert(0, call);
                calls.truncate(SHOWN_CALLS);
            });
            screen.flash.update(|n| *n += 1);
        }
    });
    on(&source, "withdrawn", move |e| {
        if let Ok(gone) = api::parse::<CallView>(data(&e)) {
            screen.calls.update(|calls| calls.retain(|c| c.number != gone.number));
        }
    });
    on(&source, "waiting", move |e| {
        if let Ok(groups) = api::parse::<Vec<WaitingGroup>>(data(&e)) {
            screen.waiting.set(groups);
        }
    });
    let retry_url = url.clone();
    let handle = source.clone();
    on(&source, "error", move |_| {
        screen.online.set(false);
        // The browser retries on its own unless the server refused the stream outright.
        if handle.ready_state() == web_sys::EventSource::CLOSED {
            let url = retry_url.clone();
            set_timeout(move || drop(connect(url, screen)), RECONNECT);
        }
    });
    Some(source)
}

fn announce(call: &CallView, screen: Screen) {
    if screen.sound.get_untracked() {
        gong();
    }
    if screen.speech.get_untracked() {
        let lang = screen.lang.get_untracked();
        let words = format!(
            "{} {}, {} {}",
            text(lang, "display_number"),
            call.number.replace('-', " "),
            text(lang, "display_to_counter"),
            call.counter
        );
        if let (Some(synth), Ok(utterance)) = (
            web_sys::window().and_then(|w| w.speech_synthesis().ok()),
            web_sys::SpeechSynthesisUtterance::new_with_text(&words),
        ) {
            utterance.set_lang(if lang == Lang::De { "de-DE" } else { "en-GB" });
            // After the gong has rung out.
            set_timeout(move || synth.speak(&utterance), Duration::from_millis(1200));
        }
    }
}

thread_local! {
    static AUDIO: std::cell::RefCell<Option<web_sys::AudioContext>> = const { std::cell::RefCell::new(None) };
}

/// Ding-dong: two soft sine tones. Browsers allow sound only after a click on the page, which
/// is why the screen has a sound button to press once when it is set up.
fn gong() {
    AUDIO.with(|audio| {
        let mut audio = audio.borrow_mut();
        if audio.is_none() {
            *audio = web_sys::AudioContext::new().ok();
        }
        let Some(ctx) = audio.as_ref() else { return };
        let _ = ctx.resume();
        let start = ctx.current_time();
        for (i, frequency) in [784.0_f32, 622.25].into_iter().enumerate() {
            let at = start + 0.6 * i as f64;
            let (Ok(tone), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return;
            };
            tone.frequency().set_value(frequency);
            let level = gain.gain();
            let _ = level.set_value_at_time(0.0, at);
            let _ = level.linear_ramp_to_value_at_time(0.35, at + 0.03);
            let _ = level.exponential_ramp_to_value_at_time(0.001, at + 1.4);
            let _ = tone.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&ctx.destination());
            let _ = tone.start_with_when(at);
            let _ = tone.stop_with_when(at + 1.5);
        }
    });
}

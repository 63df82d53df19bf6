//! `/desk`: the counter workstation. Sign in, pick the counter, open it, call the next ticket
//! and work through it with buttons or one-key shortcuts; the line beside it shows who waits
//! for what and how long, never names.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{ActionRequest, CalledTicket, CounterView, Me, SentAwayRequest, WaitingLine};
use schalter_events::catalogue::{Location, Service};
use schalter_events::queue::{SentAwayReason, State};
use schalter_events::staff::Role;

use super::login::StaffPage;
use crate::api;
use crate::i18n::{clock, error_text, t, text, use_lang, Lang};

/// A desk action's request: a counter's change, or one that answers with a ticket (call-next
/// answers with none when nobody waits).
enum DeskRequest {
    Counter(String),
    Ticket(String, Option<ActionRequest>),
    /// The citizen at the counter leaves without the service: documents missing.
    SentAway(String),
}

impl DeskRequest {
    /// Sends it; the number of the ticket it concerns, if any.
    async fn send(self) -> Result<Option<String>, api::ApiError> {
        match self {
            DeskRequest::Counter(url) => api::send::<CounterView>(&url).await.map(|_| None),
            DeskRequest::Ticket(url, None) => Ok(api::send::<CalledTicket>(&url).await?.map(|t| t.number)),
            DeskRequest::Ticket(url, Some(body)) => Ok(Some(api::post::<CalledTicket>(&url, &body).await?.number)),
            DeskRequest::SentAway(url) => {
                let body = SentAwayRequest {
                    reason: SentAwayReason::DocumentsMissing,
                };
                Ok(Some(api::post::<CalledTicket>(&url, &body).await?.number))
            }
        }
    }
}

/// The line changes while nobody at this desk acts; look again this often.
const REFRESH: Duration = Duration::from_secs(5);

fn remembered(key: &str) -> Option<String> {
    web_sys::window()?.local_storage().ok()??.get_item(key).ok()?
}

fn remember(key: &str, value: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(key, value);
    }
}

#[component]
pub fn Desk() -> impl IntoView {
    crate::i18n::title("desk_title");
    // Every role may work at a counter; the server decides what each may do.
    view! {
        <StaffPage class="page desk" title="desk_title" heading="desk-h" allowed=|_| true
            page=|me, signed_in| view! { <Workstation me signed_in/> }.into_any()/>
    }
}

/// What the workstation's parts share: the chosen counter, what the server said last, and the
/// actions, each one request followed by a fresh look at counters and line.
#[derive(Clone, Copy)]
struct Desk {
    lang: RwSignal<Lang>,
    location: RwSignal<Option<String>>,
    counter: RwSignal<Option<String>>,
    /// Bumped to load counters and line again.
    tick: RwSignal<u32>,
    message: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    services: api::Answer<Vec<Service>>,
    /// The office's counters, for the picker and the one chosen.
    counters: api::Answer<Vec<CounterView>>,
    here: Memo<Option<CounterView>>,
    current: Memo<Option<CalledTicket>>,
    transfer_to: RwSignal<String>,
    /// The ticket last marked absent, until the counter moves on: a mis-tap is taken back.
    undoable: RwSignal<Option<String>>,
    /// After an action the button pressed is often gone: focus moves to the next step's first
    /// control once the counter is drawn again, instead of falling back to the page.
    refocus: RwSignal<bool>,
    /// Marking someone absent ends their visit: it is asked once more, never done by one stray
    /// key or tap (the citizen may be on the way to the counter).
    confirming_no_show: RwSignal<bool>,
}

impl Desk {
    fn new() -> Desk {
        let location = RwSignal::new(remembered("schalter.desk.location"));
        let counter = RwSignal::new(remembered("schalter.desk.counter"));
        let tick = RwSignal::new(0u32);
        let counters = api::load(move || {
            tick.track();
            let location = location.get();
            async move {
                match location {
                    Some(l) => api::get::<Vec<CounterView>>(&format!("/api/locations/{l}/counters")).await,
                    None => Ok(vec![]),
                }
            }
        });
        let here = Memo::new(move |_| {
            let chosen = counter.get()?;
            counters.get()?.ok()?.into_iter().find(|c| c.id == chosen)
        });
        Desk {
            lang: use_lang(),
            location,
            counter,
            tick,
            message: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            services: api::load(|| async { api::get::<Vec<Service>>("/api/services").await }),
            counters,
            here,
            current: Memo::new(move |_| here.get().and_then(|c| c.current)),
            transfer_to: RwSignal::new(String::new()),
            undoable: RwSignal::new(None),
            refocus: RwSignal::new(false),
            confirming_no_show: RwSignal::new(false),
        }
    }

    fn service_name(self, id: &str) -> String {
        self.services
            .get()
            .and_then(|r| r.ok())
            .and_then(|all| all.into_iter().find(|s| s.id == id))
            .map(|s| s.name.get(self.lang.get().code()).to_owned())
            .unwrap_or_else(|| id.to_owned())
    }

    /// One request, then a fresh look at counters and line.
    fn run(self, request: DeskRequest, done: &'static str) {
        // Only a no-show can be taken back, and only until the next action.
        let undo = match &request {
            DeskRequest::Ticket(url, _) if url.ends_with("/no-show") => {
                Some(url.trim_end_matches("/no-show").to_owned())
            }
            _ => None,
        };
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.undoable.set(None);
        spawn_local(async move {
            let result = request.send().await;
            self.busy.set(false);
            match result {
                Ok(number) => {
                    self.error.set(None);
                    self.refocus.set(true);
                    self.undoable.set(undo);
                    let l = self.lang.get_untracked();
                    self.message.set(Some(match (done, number) {
                        ("called", None) => text(l, "desk_nobody_waiting").to_owned(),
                        (_, Some(n)) => format!("{n}: {}", text(l, done)),
                        (_, None) => text(l, done).to_owned(),
                    }));
                }
                Err(e) => {
                    self.message.set(None);
                    self.error.set(Some(e.code));
                }
            }
            self.tick.update(|n| *n += 1);
        });
    }

    fn counter_command(self, command: &'static str) {
        if let Some(c) = self.counter.get_untracked() {
            let done = match command {
                "call-next" => "called",
                "open" => "desk_opened",
                _ => "desk_closed",
            };
            let url = format!("/api/counters/{c}/{command}");
            let request = match command {
                "call-next" => DeskRequest::Ticket(url, None),
                _ => DeskRequest::Counter(url),
            };
            self.run(request, done);
        }
    }

    fn act(self, action: &'static str) {
        let Some(ticket) = self.current.get_untracked() else {
            return;
        };
        let url = format!("/api/tickets/{}/{action}", ticket.id);
        let request = match action {
            "transfer" => {
                let service = self.transfer_to.get_untracked();
                if service.is_empty() {
                    self.error.set(Some("invalid_transfer".into()));
                    return;
                }
                DeskRequest::Ticket(url, Some(ActionRequest { service: Some(service) }))
            }
            "sent-away" => DeskRequest::SentAway(url),
            _ => DeskRequest::Ticket(url, None),
        };
        self.run(request, action_done(action));
    }

    fn undo_no_show(self) {
        if let Some(ticket) = self.undoable.get_untracked() {
            self.run(
                DeskRequest::Ticket(format!("{ticket}/undo-no-show"), None),
                "desk_done_undo",
            );
        }
    }

    fn call_chosen(self, id: String) {
        if let Some(c) = self.counter.get_untracked() {
            self.run(
                DeskRequest::Ticket(format!("/api/counters/{c}/call/{id}"), None),
                "called",
            );
        }
    }

    fn ask_no_show(self) {
        if self.current.get_untracked().is_some_and(|c| c.state == State::Called) {
            self.confirming_no_show.set(true);
        }
    }

    /// One-key shortcuts, except while typing in a field.
    fn on_key(self, ev: web_sys::KeyboardEvent) {
        if ev.ctrl_key() || ev.alt_key() || ev.meta_key() {
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing {
            return;
        }
        let handled = match ev.key().to_lowercase().as_str() {
            "n" => {
                self.counter_command("call-next");
                true
            }
            "r" => {
                self.act("recall");
                true
            }
            "s" => {
                self.act("start");
                true
            }
            "f" => {
                self.act("finish");
                true
            }
            "x" => {
                self.ask_no_show();
                true
            }
            "escape" if self.confirming_no_show.get_untracked() => {
                self.confirming_no_show.set(false);
                true
            }
            "p" => {
                self.act("park");
                true
            }
            "u" if self.undoable.get_untracked().is_some() => {
                self.undo_no_show();
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    }
}

#[component]
fn Workstation(me: Me, signed_in: RwSignal<u32>) -> impl IntoView {
    let desk = Desk::new();
    let lang = desk.lang;
    let tick = desk.tick;
    if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |_| {
        desk.here.track();
        if desk.refocus.get_untracked() {
            desk.refocus.set(false);
            crate::nav::focus_first(".desk-actions button, .desk-call");
        }
    });
    Effect::new(move |_| {
        // Another ticket at the counter: no question left open from the one before.
        desk.current.track();
        desk.confirming_no_show.set(false);
    });
    let keys = window_event_listener(leptos::ev::keydown, move |ev| desk.on_key(ev));
    on_cleanup(move || keys.remove());
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::send::<api::Ignored>("/api/auth/logout").await;
            signed_in.update(|n| *n += 1);
        });
    };
    view! {
        <div class="desk-bar">
            <h1 id="desk-h">{t("desk_title")}</h1>
            <p class="desk-user">{move || format!("{} ({})", me.username, role_name(lang.get(), me.role))}</p>
            <button type="button" class="button" on:click=logout>{t("sign_out")}</button>
        </div>
        <Pickers desk/>
        <div class="desk-status" role="status" aria-live="polite" data-testid="desk-message">
            {move || desk.message.get()}
            {move || desk.undoable.get().is_some().then(|| view! {
                " "
                <button type="button" class="button small" data-testid="undo-no-show" on:click=move |_| desk.undo_no_show()>
                    {t("desk_undo")}<kbd>"U"</kbd>
                </button>
            })}
        </div>
        {move || desk.error.get().map(|c| view! { <p class="error" role="alert">{move || error_text(lang.get(), &c)}</p> })}
        <div class="desk-grid">
            <CounterPanel desk/>
            <Line desk/>
        </div>
        <super::day_list::DayList location=desk.location.into()/>
        <super::callers::CallerBooking location=desk.location.into() services=desk.services/>
        <super::callers::CallerChange/>
        <super::cases::CaseOpening location=desk.location.into()/>
        <super::cases::CaseStep/>
    }
}

/// The office and the counter this workstation serves, remembered for the next morning.
#[component]
fn Pickers(desk: Desk) -> impl IntoView {
    let lang = desk.lang;
    let locations = api::load(|| async { api::get::<Vec<Location>>("/api/locations").await });
    let location_options = move || {
        locations
            .get()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                let selected = desk.location.get().as_deref() == Some(l.id.as_str());
                view! { <option value=l.id.clone() selected=selected>{l.name.get(lang.get().code()).to_owned()}</option> }
            })
            .collect_view()
    };
    let counter_options = move || {
        desk.counters
            .get()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let selected = desk.counter.get().as_deref() == Some(c.id.as_str());
                let label = format!("{} {}", text(lang.get(), "display_counter"), c.name);
                view! { <option value=c.id.clone() selected=selected>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="desk-pick">
            <label>
                <span>{t("desk_location")}</span>
                <select on:change=move |ev| {
                    let v = event_target_value(&ev);
                    remember("schalter.desk.location", &v);
                    desk.location.set(Some(v));
                    desk.counter.set(None);
                }>
                    <option value="" disabled=true selected=move || desk.location.get().is_none()>{t("desk_choose")}</option>
                    {location_options}
                </select>
            </label>
            <label>
                <span>{t("display_counter")}</span>
                <select data-testid="counter-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    remember("schalter.desk.counter", &v);
                    desk.counter.set(Some(v));
                }>
                    <option value="" disabled=true selected=move || desk.counter.get().is_none()>{t("desk_choose")}</option>
                    {counter_options}
                </select>
            </label>
        </div>
    }
}

/// The counter: open or closed, "call next", and the ticket being served with its actions.
#[component]
fn CounterPanel(desk: Desk) -> impl IntoView {
    let lang = desk.lang;
    view! {
        <section class="desk-counter" aria-labelledby="counter-h">
            <h2 id="counter-h">{move || desk.here.get().map(|c| format!("{} {}", text(lang.get(), "display_counter"), c.name)).unwrap_or_else(|| text(lang.get(), "desk_no_counter").to_owned())}</h2>
            {move || desk.here.get().map(|c| {
                if c.open {
                    view! {
                        <p class="counter-state open">{t("desk_is_open")}</p>
                        <button type="button" class="button" on:click=move |_| desk.counter_command("close")>{t("desk_close")}</button>
                    }.into_any()
                } else {
                    view! {
                        <p class="counter-state">{t("desk_is_closed")}</p>
                        <button type="button" class="button primary" on:click=move |_| desk.counter_command("open")>{t("desk_open")}</button>
                    }.into_any()
                }
            })}
            // One person at a time: the next call comes after finishing, parking or a no-show.
            {move || desk.here.get().filter(|c| c.open && c.current.is_none()).map(|_| view! {
                <button type="button" class="button primary desk-call" disabled=move || desk.busy.get()
                    on:click=move |_| desk.counter_command("call-next")>
                    {t("desk_call_next")}<kbd>"N"</kbd>
                </button>
            })}
            {move || desk.current.get().map(|ticket| view! { <CurrentTicket desk ticket/> })}
        </section>
    }
}

#[component]
fn CurrentTicket(desk: Desk, ticket: CalledTicket) -> impl IntoView {
    let lang = desk.lang;
    let appointment = ticket.appointment.clone();
    let pick_up = ticket.kind == schalter_events::queue::Kind::PickUp;
    let kind = move || match appointment.as_ref() {
        Some(a) => format!(
            "{} {}",
            text(lang.get(), "desk_appointment_at"),
            clock(lang.get(), a.as_str())
        ),
        None if pick_up => text(lang.get(), "desk_pick_up").to_owned(),
        None => text(lang.get(), "desk_walk_in").to_owned(),
    };
    let called = ticket.state == State::Called;
    let service = ticket.service.clone();
    // The safe answer has the focus: a stray Enter keeps the citizen.
    let keep_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(keep) = keep_ref.get() {
            let _ = keep.focus();
        }
    });
    let here = desk.location.get_untracked().unwrap_or_default();
    let transfer_options = move || {
        desk.services
            .get()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.locations.contains(&here))
            .map(|s| view! { <option value=s.id.clone()>{s.name.get(lang.get().code()).to_owned()}</option> })
            .collect_view()
    };
    view! {
        <div class="desk-current" data-testid="current-ticket">
            <p class="current-number">{ticket.number.clone()}</p>
            <p class="current-service">{move || desk.service_name(&service)}</p>
            <p>{kind}" · "{move || text(lang.get(), if called { "desk_state_called" } else { "desk_state_serving" })}</p>
            <div class="desk-actions">
                {called.then(|| view! {
                    <button type="button" class="button" on:click=move |_| desk.act("recall")>{t("desk_recall")}<kbd>"R"</kbd></button>
                    <button type="button" class="button" on:click=move |_| desk.act("start")>{t("desk_start")}<kbd>"S"</kbd></button>
                })}
                <button type="button" class="button primary" on:click=move |_| desk.act("finish")>{t("desk_finish")}<kbd>"F"</kbd></button>
                <button type="button" class="button" on:click=move |_| desk.act("park")>{t("desk_park")}<kbd>"P"</kbd></button>
                <button type="button" class="button" data-testid="sent-away" on:click=move |_| desk.act("sent-away")>{t("desk_sent_away")}</button>
                // Last and apart from the everyday actions, so a quick tap lands elsewhere.
                {called.then(|| view! {
                    <button type="button" class="button danger desk-no-show" on:click=move |_| desk.ask_no_show()>
                        {t("desk_no_show")}<kbd>"X"</kbd>
                    </button>
                })}
            </div>
            {move || desk.confirming_no_show.get().then(|| view! {
                <div class="desk-confirm" role="alertdialog" aria-labelledby="no-show-q" data-testid="confirm-no-show">
                    <p id="no-show-q">{t("desk_no_show_question")}</p>
                    <button type="button" class="button danger" on:click=move |_| {
                        desk.confirming_no_show.set(false);
                        desk.act("no-show");
                    }>{t("desk_no_show_yes")}</button>
                    <button type="button" class="button" node_ref=keep_ref on:click=move |_| desk.confirming_no_show.set(false)>
                        {t("desk_no_show_cancel")}<kbd>"Esc"</kbd>
                    </button>
                </div>
            })}
            <div class="desk-transfer">
                <label for="transfer">{t("desk_transfer_to")}</label>
                <select id="transfer" on:change=move |ev| desk.transfer_to.set(event_target_value(&ev))>
                    <option value="" selected=true>{t("desk_choose")}</option>
                    {transfer_options}
                </select>
                <button type="button" class="button" on:click=move |_| desk.act("transfer")>{t("desk_transfer")}</button>
            </div>
        </div>
    }
}

/// Today's line: who waits for what and how long, never names; a ticket can be called out of
/// order while this counter is open and free.
#[component]
fn Line(desk: Desk) -> impl IntoView {
    let lang = desk.lang;
    let line = api::load(move || {
        desk.tick.track();
        let location = desk.location.get();
        async move {
            match location {
                Some(l) => api::get::<WaitingLine>(&format!("/api/locations/{l}/queue"))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    });
    let waiting_rows = move || {
        let line = match line.get() {
            Some(Ok(Some(line))) => line,
            Some(Ok(None)) => return view! { <tr><td colspan="5">{t("desk_pick_location")}</td></tr> }.into_any(),
            Some(Err(e)) => {
                return view! { <tr><td colspan="5" class="error" role="alert">{e.message}</td></tr> }.into_any()
            }
            None => return view! { <tr><td colspan="5">{t("loading")}</td></tr> }.into_any(),
        };
        if line.waiting.is_empty() {
            return view! { <tr><td colspan="5">{t("desk_nobody_waiting")}</td></tr> }.into_any();
        }
        let can_call = desk.here.get().is_some_and(|c| c.open && c.current.is_none());
        line.waiting
            .into_iter()
            .map(|w| {
                let id = w.id.clone();
                let label = format!("{} {}", w.number, text(lang.get(), "desk_call_this"));
                let testid = format!("call-{}", w.number);
                let appointment = w
                    .appointment
                    .as_ref()
                    .map(|a| clock(lang.get(), a.as_str()))
                    .unwrap_or_else(|| text(lang.get(), "desk_walk_in").to_owned());
                let parked = w.parked;
                view! {
                    <tr class:parked=parked>
                        <th scope="row">
                            {w.number}
                            {parked.then(|| view! { <span class="tag" data-testid="parked">{t("desk_parked")}</span> })}
                        </th>
                        <td>{desk.service_name(&w.service)}</td>
                        <td>{format!("{} {}", w.waiting_minutes, text(lang.get(), "minutes"))}</td>
                        <td>{appointment}</td>
                        <td>{can_call.then(|| view! {
                            <button type="button" class="button small" aria-label=label data-testid=testid
                                disabled=move || desk.busy.get() on:click=move |_| desk.call_chosen(id.clone())>
                                {t("desk_call_this")}
                            </button>
                        })}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any()
    };
    let summary = move || match line.get() {
        Some(Ok(Some(l))) => format!(
            "{} {} · {} {} · {} {}",
            l.waiting.len(),
            text(lang.get(), "display_waiting"),
            l.finished,
            text(lang.get(), "desk_served"),
            l.no_shows,
            text(lang.get(), "desk_no_shows")
        ),
        _ => String::new(),
    };
    view! {
        <section class="desk-line" aria-labelledby="line-h">
            <h2 id="line-h">{t("desk_line")}</h2>
            <p class="desk-summary">{summary}</p>
            <table>
                <thead><tr>
                    <th scope="col">{t("display_number")}</th>
                    <th scope="col">{t("desk_service")}</th>
                    <th scope="col">{t("desk_waiting_for")}</th>
                    <th scope="col">{t("desk_appointment")}</th>
                    <th scope="col">{t("desk_call_column")}</th>
                </tr></thead>
                <tbody>{waiting_rows}</tbody>
            </table>
        </section>
    }
}

fn action_done(action: &str) -> &'static str {
    match action {
        "recall" => "desk_done_recall",
        "start" => "desk_done_start",
        "finish" => "desk_done_finish",
        "no-show" => "desk_done_no_show",
        "park" => "desk_done_park",
        "undo-no-show" => "desk_done_undo",
        "sent-away" => "desk_done_sent_away",
        _ => "desk_done_transfer",
    }
}

/// The role as the office calls it.
fn role_name(lang: Lang, role: Role) -> &'static str {
    text(
        lang,
        match role {
            Role::Desk => "role_desk",
            Role::Manager => "role_manager",
            Role::Admin => "role_admin",
        },
    )
}

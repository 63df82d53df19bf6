//! The office's setup on `/admin`: services, counters, opening hours and locations. Each form
//! edits the domain's own value and checks it with the server's rules (`administration`) as
//! the admin types; the server checks again and names the field it refuses.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::administration::{self, Invalid};
use schalter_events::api::{
    AffectedBooking, BookingsChoice, BookingsDone, Impact, OfficeSetup, OpeningHours, ScheduleRequest, WithdrawRequest,
};
use schalter_events::calendar::Region;
use schalter_events::catalogue::{CaseKind, Catalogue, Counter, Location, Service, Text};

use crate::api;
use crate::i18n::{clock, error_text, local, long_date, t, text, use_lang};

/// The setup as last loaded, and a way to load it again after a save.
#[derive(Clone, Copy)]
struct Loaded {
    setup: Signal<Option<OfficeSetup>>,
    reload: RwSignal<u32>,
}

impl Loaded {
    /// The locations, tracked: a location just created appears in every form.
    fn locations(&self) -> Vec<Location> {
        self.setup.with(|s| {
            s.as_ref()
                .map(|s| s.locations.iter().map(|l| l.location.clone()).collect())
                .unwrap_or_default()
        })
    }

    fn catalogue(&self) -> Catalogue {
        self.setup
            .with(|s| s.as_ref().map(OfficeSetup::to_catalogue).unwrap_or_default())
    }
}

#[component]
pub fn OfficeSetupPanel() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let answer = api::load(move || {
        reload.track();
        async { api::get::<OfficeSetup>("/api/admin/setup").await }
    });
    let setup = Signal::derive(move || answer.get().and_then(Result::ok));
    let loaded = Loaded { setup, reload };
    // The forms are made once: a reload after a save updates what they check against and
    // list, but keeps what the admin sees (the saved notice, the entry being edited).
    let shape = Memo::new(move |_| answer.with(|a| a.as_ref().map(Result::is_ok)));
    view! {
        <section class="office-setup" aria-labelledby="setup-h">
            <h2 id="setup-h">{t("setup_title")}</h2>
            <p class="hint">{t("setup_hint")}</p>
            {move || match shape.get() {
                None => api::loading_notice(),
                Some(false) => api::failed_notice(),
                Some(true) => view! {
                    <ServiceEditor loaded=loaded/>
                    <CounterEditor loaded=loaded/>
                    <HoursEditor loaded=loaded/>
                    <LocationEditor loaded=loaded/>
                    <CaseKindEditor loaded=loaded/>
                }.into_any(),
            }}
        </section>
    }
}

/// A form's state: the problem the rules find now, shown once the admin has typed or tried to
/// save; the server's refusal; sending; saved.
#[derive(Clone, Copy)]
struct FormState {
    touched: RwSignal<bool>,
    /// A save was tried and refused: the refusal is also announced above the button.
    tried: RwSignal<bool>,
    server: RwSignal<Option<Invalid>>,
    sending: RwSignal<bool>,
    saved: RwSignal<bool>,
}

impl FormState {
    fn new() -> Self {
        FormState {
            touched: RwSignal::new(false),
            tried: RwSignal::new(false),
            server: RwSignal::new(None),
            sending: RwSignal::new(false),
            saved: RwSignal::new(false),
        }
    }

    fn edited(&self) {
        self.touched.set(true);
        self.tried.set(false);
        self.server.set(None);
        self.saved.set(false);
    }

    /// Another entry was picked: nothing of the last one stays shown.
    fn reset(&self) {
        self.touched.set(false);
        self.tried.set(false);
        self.server.set(None);
        self.saved.set(false);
    }

    /// What to show: the server's refusal, else the rules' finding once touched.
    fn shown(&self, local: Memo<Option<Invalid>>) -> Signal<Option<Invalid>> {
        let me = *self;
        Signal::derive(move || {
            me.server
                .get()
                .or_else(|| me.touched.get().then(|| local.get()).flatten())
        })
    }

    /// Sends `save` unless the rules refuse; reloads the setup when the server accepted.
    fn submit<F>(
        &self,
        local: Memo<Option<Invalid>>,
        form: &'static str,
        loaded: Loaded,
        save: impl FnOnce() -> F + 'static,
    ) where
        F: std::future::Future<Output = Result<(), api::ApiError>> + 'static,
    {
        self.touched.set(true);
        self.tried.set(true);
        if let Some(p) = local.get_untracked() {
            crate::nav::focus(&input_id(form, &p.field));
            return;
        }
        if self.sending.get_untracked() {
            return;
        }
        let me = *self;
        me.sending.set(true);
        spawn_local(async move {
            match save().await {
                Ok(()) => {
                    me.saved.set(true);
                    me.touched.set(false);
                    loaded.reload.update(|n| *n += 1);
                }
                Err(e) => {
                    let field = e.field.clone().unwrap_or_default();
                    crate::nav::focus(&input_id(form, &field));
                    me.server.set(Some(Invalid {
                        field,
                        code: "server",
                        message: e.code,
                    }));
                }
            }
            me.sending.set(false);
        });
    }
}

/// The id of the input for a rule's field path: `opening[2].close` in form `hours` is
/// `hours-opening-2-close`.
fn input_id(form: &str, field: &str) -> String {
    let path: String = field
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect();
    format!("{form}-{}", path.trim_matches('-').replace("--", "-"))
}

/// The text for a problem: the rule's code, or for a server refusal the code it sent.
fn problem_text(lang: crate::i18n::Lang, p: &Invalid) -> &'static str {
    let code = if p.code == "server" { p.message.as_str() } else { p.code };
    error_text(lang, code)
}

/// A form's value with its state and the problem it shows.
struct Bound<T: Send + Sync + 'static> {
    form: &'static str,
    value: RwSignal<T>,
    state: FormState,
    shown: Signal<Option<Invalid>>,
}

impl<T: Send + Sync + 'static> Clone for Bound<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Bound<T> {}

/// One labelled input bound to a field of the form's value, with its problem beside it.
fn field<T: Send + Sync + 'static>(
    bound: Bound<T>,
    path: &'static str,
    label: &'static str,
    kind: &'static str,
    get: fn(&T) -> String,
    set: fn(&mut T, String),
) -> impl IntoView {
    let Bound {
        form,
        value,
        state,
        shown,
    } = bound;
    let lang = use_lang();
    let id = input_id(form, path);
    let error_id = format!("{id}-error");
    let wrong = move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == path));
    view! {
        <div class="field">
            <label for=id.clone()>{t(label)}</label>
            <input id=id type=kind aria-invalid=move || wrong().to_string() aria-describedby=error_id.clone()
                prop:value=move || value.with(get)
                on:input=move |ev| { let v = event_target_value(&ev); value.update(|x| set(x, v)); state.edited(); }/>
            <p class="field-error" id=error_id>
                {move || wrong().then(|| shown.with(|p| p.as_ref().map(|p| problem_text(lang.get(), p))))}
            </p>
        </div>
    }
}

fn check_box<T: Send + Sync + 'static>(
    id: String,
    label: impl IntoView + 'static,
    value: RwSignal<T>,
    get: impl Fn(&T) -> bool + Send + Sync + 'static,
    set: impl Fn(&mut T, bool) + Send + Sync + 'static,
    state: FormState,
) -> impl IntoView {
    view! {
        <div class="field check">
            <input id=id.clone() type="checkbox" prop:checked=move || value.with(&get)
                on:change=move |ev| { let on = event_target_checked(&ev); value.update(|x| set(x, on)); state.edited(); }/>
            <label for=id>{label}</label>
        </div>
    }
}

/// The form's own problems not tied to an input shown above, and the saved notice.
fn form_footer(state: FormState, shown: Signal<Option<Invalid>>, testid: &'static str) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div role="alert" class="error">
            {move || state.tried.get().then(|| shown.get()).flatten().map(|p| view! { <p>{problem_text(lang.get(), &p)}</p> })}
        </div>
        <p role="status" class="saved" data-testid=testid>{move || state.saved.get().then(|| text(lang.get(), "setup_saved"))}</p>
        <button type="submit" class="button primary" prop:disabled=state.sending>{t("setup_save")}</button>
    }
}

/// The problem of a group of check boxes, where the group is named.
fn group_error(shown: Signal<Option<Invalid>>, path: &'static str, id: &'static str) -> impl IntoView {
    let lang = use_lang();
    view! {
        <p class="field-error" id=id>
            {move || shown.with(|p| p.as_ref().filter(|p| p.field == path).map(|p| problem_text(lang.get(), p)))}
        </p>
    }
}

/// A change that takes places from booked appointments: the ones it meets (no names), once the
/// server said so, and the admin's choice for them.
#[derive(Clone, Copy)]
pub(super) struct BookingsAsk {
    pub(super) met: RwSignal<Option<Vec<AffectedBooking>>>,
    pub(super) cancel: RwSignal<Option<bool>>,
    pub(super) message: RwSignal<String>,
}

impl BookingsAsk {
    pub(super) fn new() -> Self {
        BookingsAsk {
            met: RwSignal::new(None),
            cancel: RwSignal::new(None),
            message: RwSignal::new(String::new()),
        }
    }

    pub(super) fn reset(&self) {
        self.met.set(None);
        self.cancel.set(None);
        self.message.set(String::new());
    }

    /// What the request says about them: nothing until the server has named them.
    fn choice(&self) -> (Option<BookingsChoice>, Option<String>) {
        if self.met.with_untracked(|m| m.as_ref().is_none_or(Vec::is_empty)) {
            return (None, None);
        }
        match self.cancel.get_untracked() {
            None => (None, None),
            Some(false) => (Some(BookingsChoice::Keep), None),
            Some(true) => (Some(BookingsChoice::Cancel), Some(self.message.get_untracked())),
        }
    }

    /// After a refusal with `bookings_affected`: the appointments from `impact`.
    async fn ask(&self, impact: Result<Impact, api::ApiError>, focus: &str) {
        if let Ok(i) = impact {
            self.met.set(Some(i.bookings));
            crate::nav::focus(focus);
        }
    }

    /// The appointments (`count_key` says how many, `{n}`) and the choice; ids start with `form`.
    pub(super) fn view(self, form: &'static str, count_key: &'static str) -> impl IntoView {
        let lang = use_lang();
        let keep = format!("{form}-keep");
        let cancel = format!("{form}-cancel");
        let message = format!("{form}-message");
        let hint = format!("{form}-message-hint");
        move || {
            let met = self.met.get().filter(|m| !m.is_empty())?;
            let count = met.len();
            let rows = met
                .into_iter()
                .map(|b| {
                    let start = b.start.as_str().to_owned();
                    let day = start.clone();
                    view! {
                        <li>{move || long_date(lang.get(), &day)}", "{move || clock(lang.get(), &start)}": "{local(b.service_name.clone())}</li>
                    }
                })
                .collect_view();
            let (keep, cancel, message, hint) = (keep.clone(), cancel.clone(), message.clone(), hint.clone());
            Some(view! {
                <div class="closure-impact">
                    <p data-testid=format!("{form}-met")><strong>{move || text(lang.get(), count_key).replace("{n}", &count.to_string())}</strong></p>
                    <ul class="closure-met">{rows}</ul>
                    <fieldset>
                        <legend>{t("closure_choice")}</legend>
                        <div class="field check">
                            <input id=keep.clone() type="radio" name=format!("{form}-choice") prop:checked=move || self.cancel.get() == Some(false)
                                on:change=move |_| self.cancel.set(Some(false))/>
                            <label for=keep>{t("closure_keep")}</label>
                        </div>
                        <div class="field check">
                            <input id=cancel.clone() type="radio" name=format!("{form}-choice") prop:checked=move || self.cancel.get() == Some(true)
                                on:change=move |_| self.cancel.set(Some(true))/>
                            <label for=cancel>{t("closure_cancel")}</label>
                        </div>
                    </fieldset>
                    {move || (self.cancel.get() == Some(true)).then(|| view! {
                        <div class="field">
                            <label for=message.clone()>{t("closure_message")}</label>
                            <textarea id=message.clone() rows="4" maxlength="1000" aria-describedby=hint.clone()
                                prop:value=move || self.message.get()
                                on:input=move |ev| self.message.set(event_target_value(&ev))></textarea>
                            <p class="hint" id=hint.clone()>{t("closure_message_hint")}</p>
                        </div>
                    })}
                </div>
            })
        }
    }
}

/// "Which one": an existing entry to change, or a new one (the empty value).
fn chooser(
    id: &'static str,
    label: &'static str,
    new: &'static str,
    entries: impl Fn() -> Vec<(String, Text)> + Send + Sync + 'static,
    current: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    on_pick: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{t(label)}</label>
            <select id=id on:change=move |ev| on_pick(event_target_value(&ev))>
                <option value="" selected=move || current().is_none()>{t(new)}</option>
                {move || entries().into_iter().map(|(id, name)| {
                    let this = id.clone();
                    view! { <option value=id selected=move || current().as_ref() == Some(&this)>{local(name)}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

fn lines(texts: &[Text], en: bool) -> String {
    texts
        .iter()
        .map(|d| if en { d.en.as_str() } else { d.de.as_str() })
        .collect::<Vec<_>>()
        .join("\n")
}

fn set_lines(texts: &mut Vec<Text>, value: &str, en: bool) {
    let new: Vec<&str> = value.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    texts.resize(new.len(), Text::default());
    for (t, line) in texts.iter_mut().zip(new) {
        if en {
            t.en = line.to_owned();
        } else {
            t.de = line.to_owned();
        }
    }
}

fn blank_service() -> Service {
    Service {
        id: String::new(),
        name: Text::default(),
        description: Text::default(),
        locations: Vec::new(),
        duration_minutes: 15,
        documents: Vec::new(),
        fee: Text::default(),
        bookable_online: true,
        walk_in: true,
        ticket_prefix: String::new(),
        online_elsewhere: None,
        leika_key: None,
        pick_up: false,
    }
}

#[component]
fn ServiceEditor(loaded: Loaded) -> impl IntoView {
    const F: &str = "service";
    let service = RwSignal::new(blank_service());
    let editing = RwSignal::new(false);
    let lang = use_lang();
    let state = FormState::new();
    let withdrawing = FormState::new();
    let ask = BookingsAsk::new();
    let rules = Memo::new(move |_| administration::define_service(&loaded.catalogue(), service.get()).err());
    let no_rule = Memo::new(|_| None::<Invalid>);
    let withdraw_shown = withdrawing.shown(no_rule);
    let shown = state.shown(rules);
    let entries = move || {
        loaded.setup.with(|s| {
            s.as_ref()
                .map(|s| s.services.iter().map(|x| (x.id.clone(), x.name.clone())).collect())
                .unwrap_or_default()
        })
    };
    let pick = move |id: String| {
        let found = loaded.catalogue().services.get(&id).cloned();
        editing.set(found.is_some());
        service.set(found.unwrap_or_else(blank_service));
        withdrawing.reset();
        ask.reset();
        state.reset();
    };
    let withdraw = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (bookings, message) = ask.choice();
        let body = WithdrawRequest { bookings, message };
        let id = service.with_untracked(|s| s.id.clone());
        withdrawing.submit(no_rule, "withdraw", loaded, move || async move {
            let path = format!("/api/admin/services/{id}/withdraw");
            let answer = api::post::<BookingsDone>(&path, &body).await.map(|_| ());
            if matches!(&answer, Err(e) if e.code == "bookings_affected") {
                ask.ask(
                    api::post::<Impact>(&format!("{path}/impact"), &WithdrawRequest::default()).await,
                    "withdraw-keep",
                )
                .await;
            }
            answer
        });
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = service.get_untracked();
        state.submit(rules, F, loaded, move || async move {
            // Once saved it exists: the id is fixed and it can be withdrawn or removed.
            api::post::<api::Ignored>("/api/admin/services", &body)
                .await
                .map(|_| editing.set(true))
        });
    };
    let bound = Bound {
        form: F,
        value: service,
        state,
        shown,
    };
    let f = move |path, label, kind, get, set| field(bound, path, label, kind, get, set);
    view! {
        <form class="setup-form" on:submit=submit novalidate aria-labelledby="service-h">
            <h3 id="service-h">{t("setup_services")}</h3>
            {chooser("service-pick", "setup_pick_service", "setup_new_service", entries,
                move || editing.get().then(|| service.with(|s| s.id.clone())), pick)}
            <div class="field">
                <label for="service-id">{t("setup_id")}</label>
                <input id="service-id" type="text" aria-describedby="service-id-hint" readonly=move || editing.get()
                    aria-invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "id")).to_string()
                    prop:value=move || service.with(|s| s.id.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); service.update(|s| s.id = v); state.edited(); }/>
                <p class="hint" id="service-id-hint">{t("setup_id_hint")}</p>
            </div>
            {f("name.de", "setup_name_de", "text", |s: &Service| s.name.de.clone(), |s: &mut Service, v| s.name.de = v)}
            {f("name.en", "setup_name_en", "text", |s: &Service| s.name.en.clone(), |s: &mut Service, v| s.name.en = v)}
            {f("description.de", "setup_description_de", "text", |s: &Service| s.description.de.clone(), |s: &mut Service, v| s.description.de = v)}
            {f("description.en", "setup_description_en", "text", |s: &Service| s.description.en.clone(), |s: &mut Service, v| s.description.en = v)}
            <fieldset id="service-locations" class:invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "locations"))
                aria-describedby="service-locations-error">
                <legend>{t("setup_locations")}</legend>
                {group_error(shown, "locations", "service-locations-error")}
                {move || loaded.locations().into_iter().map(|l| {
                    let id = l.id.clone();
                    let has = id.clone();
                    check_box(format!("service-locations-{id}"), local(l.name.clone()), service,
                        move |s: &Service| s.locations.contains(&has),
                        move |s: &mut Service, on| { s.locations.retain(|x| x != &id); if on { s.locations.push(id.clone()); } },
                        state)
                }).collect_view()}
            </fieldset>
            {f("duration_minutes", "setup_duration", "number", |s: &Service| s.duration_minutes.to_string(),
                |s: &mut Service, v| s.duration_minutes = v.trim().parse().unwrap_or(0))}
            {f("ticket_prefix", "setup_ticket_prefix", "text", |s: &Service| s.ticket_prefix.clone(),
                |s: &mut Service, v| s.ticket_prefix = v.trim().to_uppercase())}
            {check_box("service-bookable_online".into(), t("setup_bookable_online"), service, |s: &Service| s.bookable_online, |s: &mut Service, on| s.bookable_online = on, state)}
            {check_box("service-walk_in".into(), t("setup_walk_in"), service, |s: &Service| s.walk_in, |s: &mut Service, on| s.walk_in = on, state)}
            {check_box("service-pick_up".into(), t("setup_pick_up"), service, |s: &Service| s.pick_up, |s: &mut Service, on| s.pick_up = on, state)}
            {f("online_elsewhere", "setup_online_elsewhere", "url", |s: &Service| s.online_elsewhere.clone().unwrap_or_default(),
                |s: &mut Service, v| s.online_elsewhere = Some(v.trim().to_owned()).filter(|v| !v.is_empty()))}
            {f("leika_key", "setup_leika_key", "text", |s: &Service| s.leika_key.clone().unwrap_or_default(),
                |s: &mut Service, v| s.leika_key = Some(v.trim().to_owned()).filter(|v| !v.is_empty()))}
            {f("fee.de", "setup_fee_de", "text", |s: &Service| s.fee.de.clone(), |s: &mut Service, v| s.fee.de = v)}
            {f("fee.en", "setup_fee_en", "text", |s: &Service| s.fee.en.clone(), |s: &mut Service, v| s.fee.en = v)}
            <div class="field">
                <label for="service-documents-de">{t("setup_documents_de")}</label>
                <textarea id="service-documents-de" rows="3" aria-describedby="service-documents-hint"
                    prop:value=move || service.with(|s| lines(&s.documents, false))
                    on:change=move |ev| { let v = event_target_value(&ev); service.update(|s| set_lines(&mut s.documents, &v, false)); state.edited(); }></textarea>
            </div>
            <div class="field">
                <label for="service-documents-en">{t("setup_documents_en")}</label>
                <textarea id="service-documents-en" rows="3" aria-describedby="service-documents-hint"
                    prop:value=move || service.with(|s| lines(&s.documents, true))
                    on:change=move |ev| { let v = event_target_value(&ev); service.update(|s| set_lines(&mut s.documents, &v, true)); state.edited(); }></textarea>
                <p class="hint" id="service-documents-hint">{t("setup_documents_hint")}</p>
            </div>
            {form_footer(state, shown, "service-saved")}
        </form>
        {move || editing.get().then(|| view! {
            <form class="setup-form withdraw" on:submit=withdraw novalidate aria-labelledby="withdraw-h">
                <h3 id="withdraw-h">{t("setup_withdraw_title")}</h3>
                <p class="hint">{t("setup_withdraw_hint")}</p>
                {ask.view("withdraw", "change_met")}
                <div role="alert" class="error">
                    {move || withdraw_shown.get().map(|p| view! { <p>{move || problem_text(lang.get(), &p)}</p> })}
                </div>
                <p role="status" class="saved" data-testid="withdraw-done">{move || withdrawing.saved.get().then(|| text(lang.get(), "setup_withdrawn"))}</p>
                <button type="submit" class="button" prop:disabled=withdrawing.sending>{t("setup_withdraw")}</button>
            </form>
        })}
    }
}

fn blank_counter() -> Counter {
    Counter {
        id: String::new(),
        location: String::new(),
        name: String::new(),
        services: Vec::new(),
    }
}

#[component]
fn CounterEditor(loaded: Loaded) -> impl IntoView {
    const F: &str = "counter";
    let counter = RwSignal::new(blank_counter());
    let editing = RwSignal::new(false);
    let lang = use_lang();
    let state = FormState::new();
    let removing = FormState::new();
    let no_rule = Memo::new(|_| None::<Invalid>);
    let remove_shown = removing.shown(no_rule);
    let rules = Memo::new(move |_| administration::define_counter(&loaded.catalogue(), counter.get()).err());
    let shown = state.shown(rules);
    let entries = move || {
        loaded.setup.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.counters
                        .iter()
                        .map(|k| {
                            let at = s.locations.iter().find(|l| l.location.id == k.location);
                            let place = at.map(|l| l.location.name.clone()).unwrap_or_default();
                            let name = |place: &str| format!("{place} {}", k.name);
                            (k.id.clone(), Text::new(&name(&place.de), &name(&place.en)))
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let locations: Vec<Location> = loaded.setup.with_untracked(|s| {
        s.as_ref()
            .map(|s| s.locations.iter().map(|l| l.location.clone()).collect())
            .unwrap_or_default()
    });
    if let Some(first) = locations.first() {
        counter.update(|k| k.location = first.id.clone());
    }
    let first_location = locations.first().map(|l| l.id.clone()).unwrap_or_default();
    let pick = move |id: String| {
        let found = loaded.catalogue().counters.get(&id).cloned();
        editing.set(found.is_some());
        counter.set(found.unwrap_or_else(|| Counter {
            location: first_location.clone(),
            ..blank_counter()
        }));
        state.reset();
        removing.reset();
    };
    let remove = move |ev: SubmitEvent| {
        ev.prevent_default();
        let id = counter.with_untracked(|k| k.id.clone());
        removing.submit(no_rule, "counter", loaded, move || async move {
            api::delete::<api::Ignored>(&format!("/api/admin/counters/{id}"))
                .await
                .map(|_| ())
        });
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = counter.get_untracked();
        state.submit(rules, F, loaded, move || async move {
            // Once saved it exists: the id is fixed and it can be withdrawn or removed.
            api::post::<api::Ignored>("/api/admin/counters", &body)
                .await
                .map(|_| editing.set(true))
        });
    };
    let bound = Bound {
        form: F,
        value: counter,
        state,
        shown,
    };
    let f = move |path, label, kind, get, set| field(bound, path, label, kind, get, set);
    // The services offered where the counter is.
    let offered = move || {
        let at = counter.with(|k| k.location.clone());
        loaded
            .catalogue()
            .services
            .into_values()
            .filter(|s| s.locations.contains(&at))
            .collect::<Vec<_>>()
    };
    view! {
        <form class="setup-form" on:submit=submit novalidate aria-labelledby="counter-h">
            <h3 id="counter-h">{t("setup_counters")}</h3>
            {chooser("counter-pick", "setup_pick_counter", "setup_new_counter", entries,
                move || editing.get().then(|| counter.with(|k| k.id.clone())), pick)}
            <div class="field">
                <label for="counter-id">{t("setup_id")}</label>
                <input id="counter-id" type="text" readonly=move || editing.get() aria-describedby="counter-id-hint"
                    aria-invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "id")).to_string()
                    prop:value=move || counter.with(|k| k.id.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); counter.update(|k| k.id = v); state.edited(); }/>
                <p class="hint" id="counter-id-hint">{t("setup_id_hint")}</p>
            </div>
            <div class="field">
                <label for="counter-location">{t("stats_location")}</label>
                <select id="counter-location" prop:disabled=editing
                    on:change=move |ev| { let v = event_target_value(&ev); counter.update(|k| { k.location = v; k.services.clear(); }); state.edited(); }>
                    {move || loaded.locations().into_iter().map(|l| {
                        let id = l.id.clone();
                        view! { <option value=l.id.clone() selected=move || counter.with(|k| k.location == id)>{local(l.name.clone())}</option> }
                    }).collect_view()}
                </select>
            </div>
            {f("name", "setup_counter_name", "text", |k: &Counter| k.name.clone(), |k: &mut Counter, v| k.name = v)}
            <fieldset id="counter-services" class:invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "services"))
                aria-describedby="counter-services-error">
                <legend>{t("setup_counter_services")}</legend>
                {group_error(shown, "services", "counter-services-error")}
                {move || offered().into_iter().map(|s| {
                    let id = s.id.clone();
                    let has = id.clone();
                    check_box(format!("counter-services-{id}"), local(s.name.clone()), counter,
                        move |k: &Counter| k.services.contains(&has),
                        move |k: &mut Counter, on| { k.services.retain(|x| x != &id); if on { k.services.push(id.clone()); } },
                        state)
                }).collect_view()}
            </fieldset>
            {form_footer(state, shown, "counter-saved")}
        </form>
        {move || editing.get().then(|| view! {
            <form class="setup-form withdraw" on:submit=remove novalidate aria-labelledby="remove-counter-h">
                <h3 id="remove-counter-h">{t("setup_remove_counter_title")}</h3>
                <p class="hint">{t("setup_remove_counter_hint")}</p>
                <div role="alert" class="error">
                    {move || remove_shown.get().map(|p| view! { <p>{move || problem_text(lang.get(), &p)}</p> })}
                </div>
                <p role="status" class="saved" data-testid="counter-removed">{move || removing.saved.get().then(|| text(lang.get(), "setup_counter_removed"))}</p>
                <button type="submit" class="button" prop:disabled=removing.sending>{t("setup_remove_counter")}</button>
            </form>
        })}
    }
}

fn hhmm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A time input's `HH:MM`; midnight when empty, which the rules then refuse.
fn clock_time(v: &str) -> chrono::NaiveTime {
    chrono::NaiveTime::parse_from_str(v, "%H:%M").unwrap_or_default()
}

fn day_value(day: Option<chrono::NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

/// A date input's `YYYY-MM-DD`; empty means no bound.
fn day_of(v: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
}

fn blank_hours() -> ScheduleRequest {
    ScheduleRequest {
        unit_minutes: 10,
        region: Region::RhinelandPalatinate,
        opening: Vec::new(),
        booking_window_days: 60,
        min_lead_minutes: 60,
        max_active_per_email: 2,
        confirm_within_minutes: None,
        release_time: None,
        staff_only_days: 0,
        confirm_after_no_shows: None,
        no_show_days: None,
        release_hold_minutes: 0,
        reconfirm_booked_days_ahead: None,
        reconfirm_days_before: None,
        bookings: None,
        message: None,
    }
}

#[component]
fn HoursEditor(loaded: Loaded) -> impl IntoView {
    const F: &str = "hours";
    let lang = use_lang();
    let locations = loaded
        .setup
        .with_untracked(|s| s.as_ref().map(|s| s.locations.clone()).unwrap_or_default());
    let location = RwSignal::new(locations.first().map(|l| l.location.id.clone()).unwrap_or_default());
    let hours_of = move |id: &str| {
        loaded
            .setup
            .with_untracked(|s| {
                s.as_ref()
                    .and_then(|s| s.locations.iter().find(|l| l.location.id == id)?.schedule.clone())
            })
            .unwrap_or_else(blank_hours)
    };
    let hours = RwSignal::new(hours_of(&location.get_untracked()));
    let state = FormState::new();
    let ask = BookingsAsk::new();
    // Any change to the hours asks the server again which appointments they meet.
    Effect::new(move |_| {
        hours.track();
        ask.reset();
    });
    let rules = Memo::new(move |_| {
        administration::set_schedule(&loaded.catalogue(), &location.get(), hours.get().to_schedule()).err()
    });
    let shown = state.shown(rules);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (bookings, message) = ask.choice();
        let body = ScheduleRequest {
            bookings,
            message,
            ..hours.get_untracked()
        };
        let at = location.get_untracked();
        state.submit(rules, F, loaded, move || async move {
            let path = format!("/api/admin/locations/{at}/schedule");
            let answer = api::put::<api::Ignored>(&path, &body).await.map(|_| ());
            match &answer {
                Err(e) if e.code == "bookings_affected" => {
                    ask.ask(
                        api::post::<Impact>(&format!("{path}/impact"), &body).await,
                        "hours-keep",
                    )
                    .await;
                }
                Ok(()) => ask.reset(),
                Err(_) => {}
            }
            answer
        });
    };
    let bound = Bound {
        form: F,
        value: hours,
        state,
        shown,
    };
    let f = move |path, label, kind, get, set| field(bound, path, label, kind, get, set);
    let period = move |i: usize| {
        let lang = lang;
        let at = move |part: &str| input_id(F, &format!("opening[{i}].{part}"));
        let wrong = move |part: &'static str| {
            move || {
                shown
                    .with(|p| p.as_ref().is_some_and(|p| p.field == format!("opening[{i}].{part}")))
                    .to_string()
            }
        };
        let get = move |read: fn(&OpeningHours) -> String| {
            move || hours.with(|h| h.opening.get(i).map(read).unwrap_or_default())
        };
        let put = move |write: fn(&mut OpeningHours, &str)| {
            move |ev: leptos::ev::Event| {
                let v = event_target_value(&ev);
                hours.update(|h| {
                    if let Some(o) = h.opening.get_mut(i) {
                        write(o, &v)
                    }
                });
                state.edited();
            }
        };
        view! {
            <tr>
                <td><select id=at("weekday") aria-label=move || text(lang.get(), "stats_weekday") aria-invalid=wrong("weekday")
                    on:change=put(|o, v| o.weekday = v.parse().unwrap_or(0))>
                    {(1..=7u8).map(|d| view! {
                        <option value=d.to_string() selected=move || hours.with(|h| h.opening.get(i).is_some_and(|o| o.weekday == d))>
                            {move || text(lang.get(), "weekdays_long").split(',').nth(usize::from(d) - 1).unwrap_or("").to_owned()}
                        </option>
                    }).collect_view()}
                </select></td>
                <td><input id=at("open") type="time" step="300" aria-label=move || text(lang.get(), "setup_open") aria-invalid=wrong("open")
                    prop:value=get(|o| hhmm(o.open)) on:change=put(|o, v| o.open = clock_time(v))/></td>
                <td><input id=at("close") type="time" step="300" aria-label=move || text(lang.get(), "setup_close") aria-invalid=wrong("close")
                    prop:value=get(|o| hhmm(o.close)) on:change=put(|o, v| o.close = clock_time(v))/></td>
                <td><input id=at("online_capacity") type="number" min="0" aria-label=move || text(lang.get(), "setup_capacity")
                    aria-invalid=wrong("online_capacity")
                    prop:value=get(|o| o.online_capacity.to_string()) on:input=put(|o, v| o.online_capacity = v.parse().unwrap_or(0))/></td>
                <td><input id=at("staff_capacity") type="number" min="0" aria-label=move || text(lang.get(), "setup_staff_capacity")
                    aria-invalid=wrong("staff_capacity")
                    prop:value=get(|o| o.staff_capacity.to_string()) on:input=put(|o, v| o.staff_capacity = v.parse().unwrap_or(0))/></td>
                <td><input id=at("valid_from") type="date" aria-label=move || text(lang.get(), "setup_valid_from")
                    aria-invalid=wrong("valid_from")
                    prop:value=get(|o| day_value(o.valid_from)) on:change=put(|o, v| o.valid_from = day_of(v))/></td>
                <td><input id=at("valid_until") type="date" aria-label=move || text(lang.get(), "setup_valid_until")
                    aria-invalid=wrong("valid_until")
                    prop:value=get(|o| day_value(o.valid_until)) on:change=put(|o, v| o.valid_until = day_of(v))/></td>
                <td><button type="button" class="button" on:click=move |_| { hours.update(|h| { h.opening.remove(i); }); state.edited(); }>
                    {t("setup_remove_period")}</button></td>
            </tr>
        }
    };
    view! {
        <form class="setup-form wide" on:submit=submit novalidate aria-labelledby="hours-h">
            <h3 id="hours-h">{t("setup_hours")}</h3>
            <div class="field">
                <label for="hours-location">{t("stats_location")}</label>
                <select id="hours-location" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    hours.set(hours_of(&v));
                    location.set(v);
                    state.reset();
                }>
                    {move || loaded.locations().into_iter().map(|l| {
                        let id = l.id.clone();
                        view! { <option value=l.id.clone() selected=move || location.with(|at| at == &id)>{local(l.name.clone())}</option> }
                    }).collect_view()}
                </select>
            </div>
            <p class="hint">{move || {
                let n = loaded.catalogue().counters.values().filter(|k| k.location == location.get()).count();
                text(lang.get(), "setup_hours_hint").replace("{n}", &n.to_string())
            }}</p>
            <div class="setup-scroll" tabindex="0" role="region" aria-label=t("setup_hours")>
                <table class="hours-table">
                    <thead><tr>
                        <th scope="col">{t("stats_weekday")}</th>
                        <th scope="col">{t("setup_open")}</th>
                        <th scope="col">{t("setup_close")}</th>
                        <th scope="col">{t("setup_capacity")}</th>
                        <th scope="col">{t("setup_staff_capacity")}</th>
                        <th scope="col">{t("setup_valid_from")}</th>
                        <th scope="col">{t("setup_valid_until")}</th>
                        <th scope="col"><span class="visually-hidden">{t("setup_remove_period")}</span></th>
                    </tr></thead>
                    <tbody>{move || (0..hours.with(|h| h.opening.len())).map(period).collect_view()}</tbody>
                </table>
            </div>
            <p class="field-error" id="hours-opening-error" role="status">
                {move || shown.with(|p| p.as_ref().filter(|p| p.field.starts_with("opening[")).map(|p| {
                    let row: usize = p.field[8..].split(']').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    format!("{} {}: {}", text(lang.get(), "setup_period"), row + 1, problem_text(lang.get(), p))
                }))}
            </p>
            <button type="button" class="button" id="hours-add" on:click=move |_| {
                hours.update(|h| {
                    let after = h.opening.last().map_or(1, |o| o.weekday);
                    h.opening.push(OpeningHours {
                        weekday: after,
                        open: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                        close: chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
                        online_capacity: 1,
                        staff_capacity: 0,
                        valid_from: None,
                        valid_until: None,
                    });
                });
                state.edited();
            }>{t("setup_add_period")}</button>
            <div class="field">
                <label for="hours-region">{t("setup_region")}</label>
                <select id="hours-region" on:change=move |ev| {
                    let region = match event_target_value(&ev).as_str() {
                        "hesse" => Region::Hesse,
                        _ => Region::RhinelandPalatinate,
                    };
                    hours.update(|h| h.region = region);
                    state.edited();
                }>
                    <option value="rhineland-palatinate" selected=move || hours.with(|h| h.region == Region::RhinelandPalatinate)>
                        {t("setup_region_rp")}</option>
                    <option value="hesse" selected=move || hours.with(|h| h.region == Region::Hesse)>{t("setup_region_he")}</option>
                </select>
            </div>
            {f("unit_minutes", "setup_unit", "number", |h: &ScheduleRequest| h.unit_minutes.to_string(),
                |h: &mut ScheduleRequest, v| h.unit_minutes = v.parse().unwrap_or(0))}
            {f("booking_window_days", "setup_window", "number", |h: &ScheduleRequest| h.booking_window_days.to_string(),
                |h: &mut ScheduleRequest, v| h.booking_window_days = v.parse().unwrap_or(0))}
            {f("min_lead_minutes", "setup_lead", "number", |h: &ScheduleRequest| h.min_lead_minutes.to_string(),
                |h: &mut ScheduleRequest, v| h.min_lead_minutes = v.parse().unwrap_or(u32::MAX))}
            {f("max_active_per_email", "setup_per_email", "number", |h: &ScheduleRequest| h.max_active_per_email.to_string(),
                |h: &mut ScheduleRequest, v| h.max_active_per_email = v.parse().unwrap_or(0))}
            {f("confirm_within_minutes", "setup_confirm_within", "number",
                |h: &ScheduleRequest| h.confirm_within_minutes.map(|m| m.to_string()).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.confirm_within_minutes = match v.trim() { "" => None, v => Some(v.parse().unwrap_or(0)) })}
            {f("confirm_after_no_shows", "setup_no_show_after", "number",
                |h: &ScheduleRequest| h.confirm_after_no_shows.map(|m| m.to_string()).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.confirm_after_no_shows = match v.trim() { "" => None, v => Some(v.parse().unwrap_or(0)) })}
            {f("no_show_days", "setup_no_show_days", "number",
                |h: &ScheduleRequest| h.no_show_days.map(|m| m.to_string()).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.no_show_days = match v.trim() { "" => None, v => Some(v.parse().unwrap_or(0)) })}
            {f("reconfirm_booked_days_ahead", "setup_reconfirm_ahead", "number",
                |h: &ScheduleRequest| h.reconfirm_booked_days_ahead.map(|m| m.to_string()).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.reconfirm_booked_days_ahead = match v.trim() { "" => None, v => Some(v.parse().unwrap_or(0)) })}
            {f("reconfirm_days_before", "setup_reconfirm_before", "number",
                |h: &ScheduleRequest| h.reconfirm_days_before.map(|m| m.to_string()).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.reconfirm_days_before = match v.trim() { "" => None, v => Some(v.parse().unwrap_or(0)) })}
            {f("release_hold_minutes", "setup_release_hold", "number", |h: &ScheduleRequest| h.release_hold_minutes.to_string(),
                |h: &mut ScheduleRequest, v| h.release_hold_minutes = v.parse().unwrap_or(u32::MAX))}
            {f("release_time", "setup_release_time", "time",
                |h: &ScheduleRequest| h.release_time.map(hhmm).unwrap_or_default(),
                |h: &mut ScheduleRequest, v| h.release_time = (!v.trim().is_empty()).then(|| clock_time(v.trim())))}
            {f("staff_only_days", "setup_staff_only_days", "number", |h: &ScheduleRequest| h.staff_only_days.to_string(),
                |h: &mut ScheduleRequest, v| h.staff_only_days = v.parse().unwrap_or(0))}
            {ask.view("hours", "change_met")}
            {form_footer(state, shown, "hours-saved")}
        </form>
    }
}

fn blank_location() -> Location {
    Location {
        id: String::new(),
        name: Text::default(),
        address: String::new(),
        time_zone: "Europe/Berlin".into(),
        accessibility: Text::default(),
        directions: Text::default(),
    }
}

#[component]
fn LocationEditor(loaded: Loaded) -> impl IntoView {
    const F: &str = "location";
    let location = RwSignal::new(blank_location());
    let editing = RwSignal::new(false);
    let state = FormState::new();
    let rules = Memo::new(move |_| administration::define_location(location.get()).err());
    let shown = state.shown(rules);
    let entries = move || {
        loaded.setup.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.locations
                        .iter()
                        .map(|l| (l.location.id.clone(), l.location.name.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    };
    let pick = move |id: String| {
        let found = loaded.catalogue().locations.get(&id).cloned();
        editing.set(found.is_some());
        location.set(found.unwrap_or_else(blank_location));
        state.reset();
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = location.get_untracked();
        state.submit(rules, F, loaded, move || async move {
            api::post::<api::Ignored>("/api/admin/locations", &body)
                .await
                .map(|_| editing.set(true))
        });
    };
    let bound = Bound {
        form: F,
        value: location,
        state,
        shown,
    };
    let f = move |path, label, kind, get, set| field(bound, path, label, kind, get, set);
    view! {
        <form class="setup-form" on:submit=submit novalidate aria-labelledby="location-h">
            <h3 id="location-h">{t("setup_location_title")}</h3>
            {chooser("location-pick", "setup_pick_location", "setup_new_location", entries,
                move || editing.get().then(|| location.with(|l| l.id.clone())), pick)}
            <div class="field">
                <label for="location-id">{t("setup_id")}</label>
                <input id="location-id" type="text" readonly=move || editing.get() aria-describedby="location-id-hint"
                    aria-invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "id")).to_string()
                    prop:value=move || location.with(|l| l.id.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); location.update(|l| l.id = v); state.edited(); }/>
                <p class="hint" id="location-id-hint">{t("setup_id_hint")}</p>
            </div>
            {f("name.de", "setup_name_de", "text", |l: &Location| l.name.de.clone(), |l: &mut Location, v| l.name.de = v)}
            {f("name.en", "setup_name_en", "text", |l: &Location| l.name.en.clone(), |l: &mut Location, v| l.name.en = v)}
            {f("address", "setup_address", "text", |l: &Location| l.address.clone(), |l: &mut Location, v| l.address = v)}
            {f("time_zone", "setup_time_zone", "text", |l: &Location| l.time_zone.clone(), |l: &mut Location, v| l.time_zone = v.trim().to_owned())}
            {f("accessibility.de", "setup_accessibility_de", "text", |l: &Location| l.accessibility.de.clone(), |l: &mut Location, v| l.accessibility.de = v)}
            {f("accessibility.en", "setup_accessibility_en", "text", |l: &Location| l.accessibility.en.clone(), |l: &mut Location, v| l.accessibility.en = v)}
            {f("directions.de", "setup_directions_de", "text", |l: &Location| l.directions.de.clone(), |l: &mut Location, v| l.directions.de = v)}
            {f("directions.en", "setup_directions_en", "text", |l: &Location| l.directions.en.clone(), |l: &mut Location, v| l.directions.en = v)}
            {form_footer(state, shown, "location-saved")}
        </form>
    }
}

fn blank_case_kind() -> CaseKind {
    CaseKind {
        id: String::new(),
        name: Text::default(),
        remind_weeks: 8,
    }
}

/// The kinds of application the desk opens cases for: the built-in ones may be renamed or get
/// other reminder weeks, and the office adds its own.
#[component]
fn CaseKindEditor(loaded: Loaded) -> impl IntoView {
    const F: &str = "kind";
    let kind = RwSignal::new(blank_case_kind());
    let editing = RwSignal::new(false);
    let state = FormState::new();
    let rules = Memo::new(move |_| administration::define_case_kind(kind.get()).err());
    let shown = state.shown(rules);
    let known = move |id: &str| {
        loaded.setup.with(|s| {
            s.as_ref()
                .and_then(|s| s.case_kinds.iter().find(|k| k.id == id).cloned())
        })
    };
    let entries = move || {
        loaded.setup.with(|s| {
            s.as_ref()
                .map(|s| s.case_kinds.iter().map(|k| (k.id.clone(), k.name.clone())).collect())
                .unwrap_or_default()
        })
    };
    let pick = move |id: String| {
        let found = known(&id);
        editing.set(found.is_some());
        kind.set(found.unwrap_or_else(blank_case_kind));
        state.reset();
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = kind.get_untracked();
        state.submit(rules, F, loaded, move || async move {
            api::post::<api::Ignored>("/api/admin/case-kinds", &body)
                .await
                .map(|_| editing.set(true))
        });
    };
    let bound = Bound {
        form: F,
        value: kind,
        state,
        shown,
    };
    let f = move |path, label, kind, get, set| field(bound, path, label, kind, get, set);
    view! {
        <form class="setup-form" on:submit=submit novalidate aria-labelledby="kind-h">
            <h3 id="kind-h">{t("setup_kinds_title")}</h3>
            <p class="hint">{t("setup_kinds_hint")}</p>
            {chooser("kind-pick", "setup_pick_kind", "setup_new_kind", entries,
                move || editing.get().then(|| kind.with(|k| k.id.clone())), pick)}
            <div class="field">
                <label for="kind-id">{t("setup_id")}</label>
                <input id="kind-id" type="text" readonly=move || editing.get() aria-describedby="kind-id-hint"
                    aria-invalid=move || shown.with(|p| p.as_ref().is_some_and(|p| p.field == "id")).to_string()
                    prop:value=move || kind.with(|k| k.id.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); kind.update(|k| k.id = v); state.edited(); }/>
                <p class="hint" id="kind-id-hint">{t("setup_id_hint")}</p>
            </div>
            {f("name.de", "setup_name_de", "text", |k: &CaseKind| k.name.de.clone(), |k: &mut CaseKind, v| k.name.de = v)}
            {f("name.en", "setup_name_en", "text", |k: &CaseKind| k.name.en.clone(), |k: &mut CaseKind, v| k.name.en = v)}
            {f("remind_weeks", "setup_remind_weeks", "number", |k: &CaseKind| k.remind_weeks.to_string(),
                |k: &mut CaseKind, v| k.remind_weeks = v.trim().parse().unwrap_or(0))}
            {form_footer(state, shown, "kind-saved")}
        </form>
    }
}

//! The start page: every service, grouped by office, with what to bring and what it costs.

use leptos::prelude::*;
use schalter_events::catalogue::{Location, Service};

use crate::nav::use_query_map;

use super::book::BookingFlow;
use crate::api;
use crate::i18n::{t, use_lang};

/// `/`: the catalogue, or the booking flow once a service is chosen.
#[component]
pub fn Home() -> impl IntoView {
    let query = use_query_map();
    let booking = move || query.read().get("service").is_some();
    view! {
        <Show when=booking fallback=|| view! { <Catalogue/> }>
            <BookingFlow/>
        </Show>
    }
}

#[component]
pub fn Catalogue() -> impl IntoView {
    let offices = load_offices();
    view! {
        <section class="page">
            <h1>{t("catalogue_title")}</h1>
            <p class="lead">{t("catalogue_intro")}</p>
            {api::loaded(offices, |(locations, services)| view! { <Offices locations services/> })}
        </section>
    }
}

/// Every location and every service, which the start page and the booking steps both show.
pub(super) fn load_offices() -> api::Answer<(Vec<Location>, Vec<Service>)> {
    api::load(|| async {
        let locations = api::get::<Vec<Location>>("/api/locations").await?;
        let services = api::get::<Vec<Service>>("/api/services").await?;
        Ok((locations, services))
    })
}

#[component]
fn Offices(locations: Vec<Location>, services: Vec<Service>) -> impl IntoView {
    let lang = use_lang();
    locations
        .into_iter()
        .map(|location| {
            let offered: Vec<Service> = services
                .iter()
                .filter(|s| s.locations.contains(&location.id))
                .cloned()
                .collect();
            let heading_id = format!("office-{}", location.id);
            let labelled_by = heading_id.clone();
            let name = location.name.clone();
            let accessibility = location.accessibility.clone();
            view! {
                <section class="office" aria-labelledby=labelled_by>
                    <h2 id=heading_id>{move || name.get(lang.get().code()).to_owned()}</h2>
                    <p class="office-meta">
                        <span>{location.address.clone()}</span>
                        <span class="accessibility">{move || accessibility.get(lang.get().code()).to_owned()}</span>
                    </p>
                    <ul class="services" data-testid="services">
                        {offered.into_iter().map(|s| view! { <ServiceCard service=s/> }).collect_view()}
                    </ul>
                </section>
            }
        })
        .collect_view()
}

#[component]
fn ServiceCard(service: Service) -> impl IntoView {
    let lang = use_lang();
    let s = StoredValue::new(service);
    let text = move |f: fn(&Service) -> &schalter_events::catalogue::Text| {
        s.with_value(|s| f(s).get(lang.get().code()).to_owned())
    };
    let documents = move || {
        s.with_value(|s| s.documents.clone())
            .into_iter()
            .map(|d| view! { <li>{move || d.get(lang.get().code()).to_owned()}</li> })
            .collect_view()
    };
    let (bookable, walk_in, elsewhere, minutes, has_documents) = s.with_value(|s| {
        (
            s.bookable_online,
            s.walk_in,
            s.online_elsewhere.clone(),
            s.duration_minutes,
            !s.documents.is_empty(),
        )
    });
    view! {
        <li class="service" data-service=s.with_value(|s| s.id.clone())>
            <h3>{move || text(|s| &s.name)}</h3>
            <p>{move || text(|s| &s.description)}</p>
            <p class="badges">
                {bookable.then(|| view! { <span class="badge online">{t("bookable_online")}</span> })}
                {walk_in.then(|| view! { <span class="badge walkin">{t("walk_in")}</span> })}
            </p>
            <dl class="facts">
                <div><dt>{t("duration")}</dt><dd>{minutes}" "{t("minutes")}</dd></div>
                <div><dt>{t("fee")}</dt><dd>{move || text(|s| &s.fee)}</dd></div>
            </dl>
            {has_documents.then(|| view! {
                <details>
                    <summary>{t("documents")}</summary>
                    <ul class="documents">{documents}</ul>
                </details>
            })}
            {bookable.then(|| view! {
                <p class="book"><a href=format!("/?service={}", s.with_value(|s| s.id.clone())) class="button primary">{t("book_button")}</a></p>
            })}
            {elsewhere.map(|url| view! {
                <p><a class="external" href=url rel="noopener">{t("online_elsewhere")}</a></p>
            })}
        </li>
    }
}

//! The start page: every service, grouped by office, with what to bring and what it costs.

use leptos::prelude::*;
use schalter_events::catalogue::{Location, Service};

use crate::nav::use_query_map;

use super::book::BookingFlow;
use crate::api;
use crate::i18n::{local, t};

/// `/`: the catalogue, or the booking flow once a service is chosen.
#[component]
pub fn Home() -> impl IntoView {
    let query = use_query_map();
    // Memoised: the steps of the booking change the query, which must not start it over.
    let booking = Memo::new(move |_| query.read().get("service").is_some());
    move || {
        if booking.get() {
            view! { <BookingFlow/> }.into_any()
        } else {
            view! { <Catalogue/> }.into_any()
        }
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
            let directions = location.directions.clone();
            view! {
                <section class="office" aria-labelledby=labelled_by>
                    <h2 id=heading_id>{local(name)}</h2>
                    <p class="office-meta">
                        <span>{location.address.clone()}</span>
                        <span class="accessibility">{local(accessibility)}</span>
                        <span class="directions">{local(directions)}</span>
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
    let Service {
        id,
        name,
        description,
        duration_minutes,
        documents,
        fee,
        bookable_online,
        walk_in,
        online_elsewhere,
        ..
    } = service;
    let book_href = format!("/?service={id}");
    let documents = (!documents.is_empty()).then(|| {
        let items = documents
            .into_iter()
            .map(|d| view! { <li>{local(d)}</li> })
            .collect_view();
        view! {
            <details>
                <summary>{t("documents")}</summary>
                <ul class="documents">{items}</ul>
            </details>
        }
    });
    view! {
        <li class="service" data-service=id>
            <h3>{local(name)}</h3>
            <p>{local(description)}</p>
            <p class="badges">
                {bookable_online.then(|| view! { <span class="badge online">{t("bookable_online")}</span> })}
                {walk_in.then(|| view! { <span class="badge walkin">{t("walk_in")}</span> })}
            </p>
            <dl class="facts">
                <div><dt>{t("duration")}</dt><dd>{duration_minutes}" "{t("minutes")}</dd></div>
                {(!fee.is_empty()).then(|| view! { <div><dt>{t("fee")}</dt><dd>{local(fee)}</dd></div> })}
            </dl>
            {documents}
            {bookable_online.then(|| view! {
                <p class="book"><a href=book_href class="button primary">{t("book_button")}</a></p>
            })}
            {online_elsewhere.map(|url| view! {
                <p><a class="external" href=url rel="noopener">{t("online_elsewhere")}</a></p>
            })}
        </li>
    }
}

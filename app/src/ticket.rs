//! The ticket bundle: `/ticket/:token`, the page a walk-in opens from the QR code on their
//! ticket. Its own entry point because nobody reaches it from the booking pages, so the phones
//! that book never download it and the ones in the hall download only this.

use leptos::prelude::*;
use schalter_app::nav::Routes;
use schalter_app::{pages, Shell};

fn main() {
    schalter_app::report_panics();
    leptos::mount::mount_to_body(|| {
        view! {
            <Shell>
                <Routes
                    pages=vec![("/ticket/:token", || view! { <pages::TicketStatus/> }.into_any())]
                    fallback=|| view! { <pages::NotFound/> }.into_any()
                />
            </Shell>
        }
    });
}

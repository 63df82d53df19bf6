//! The info bundle: pages opened from a link on their own, never as a step of booking: the
//! ticket status (`/ticket/:token`, from the QR code on a kiosk ticket), an application's
//! status (`/case/:code`, from the receipt and the "ready" message) and the privacy notice
//! (`/datenschutz`, from the footer and the booking form). The phones that book never download
//! them, and the ones in the hall download only this.

use leptos::prelude::*;
use schalter_app::nav::Routes;
use schalter_app::{pages, Shell};

fn main() {
    schalter_app::report_panics();
    leptos::mount::mount_to_body(|| {
        view! {
            <Shell>
                <Routes
                    pages=vec![
                        ("/ticket/:token", || view! { <pages::TicketStatus/> }.into_any()),
                        ("/case/:code", || view! { <pages::CaseStatus/> }.into_any()),
                        ("/datenschutz", || view! { <pages::Privacy/> }.into_any()),
                    ]
                    fallback=|| view! { <pages::NotFound/> }.into_any()
                />
            </Shell>
        }
    });
}

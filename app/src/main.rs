//! The citizens' bundle: booking and managing a booking (the ticket status and the privacy
//! notice are `info.rs`).

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
                        ("/", || view! { <pages::Home/> }.into_any()),
                        ("/booking/:code", || view! { <pages::ManageBooking/> }.into_any()),
                    ]
                    fallback=|| view! { <pages::NotFound/> }.into_any()
                />
            </Shell>
        }
    });
}

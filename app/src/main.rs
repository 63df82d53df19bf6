//! The citizens' bundle: booking, managing a booking, following a ticket.

use leptos::prelude::*;
use leptos_router::components::{Route, Routes};
use leptos_router::path;
use schalter_app::{pages, Shell};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| {
        view! {
            <Shell>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Home/>
                    <Route path=path!("/booking/:code") view=pages::ManageBooking/>
                    <Route path=path!("/ticket/:token") view=pages::TicketStatus/>
                    <Route path=path!("/datenschutz") view=pages::Privacy/>
                </Routes>
            </Shell>
        }
    });
}

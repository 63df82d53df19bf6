//! The staff's bundle: the kiosk and hall screen devices, the desk, statistics and admin.

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
                    <Route path=path!("/kiosk/:location") view=pages::Kiosk/>
                    <Route path=path!("/desk") view=pages::Desk/>
                    <Route path=path!("/display/:location") view=pages::Display/>
                    <Route path=path!("/stats") view=pages::Stats/>
                    <Route path=path!("/admin") view=pages::Admin/>
                </Routes>
            </Shell>
        }
    });
}

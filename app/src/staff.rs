//! The staff's bundle: the kiosk and hall screen devices, the desk, statistics and admin.

use leptos::prelude::*;
use schalter_app::nav::Routes;
use schalter_app::{pages, Shell};

fn main() {
    schalter_app::report_panics();
    leptos::mount::mount_to_body(|| {
        view! {
            <Shell staff=true>
                <Routes
                    pages=vec![
                        ("/kiosk/:location", || view! { <pages::Kiosk/> }.into_any()),
                        ("/desk", || view! { <pages::Desk/> }.into_any()),
                        ("/display/:location", || view! { <pages::Display/> }.into_any()),
                        ("/stats", || view! { <pages::Stats/> }.into_any()),
                        ("/admin", || view! { <pages::Admin/> }.into_any()),
                    ]
                    fallback=|| view! { <pages::NotFound/> }.into_any()
                />
            </Shell>
        }
    });
}

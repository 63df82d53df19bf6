//! The demo's first run (`serve --demo --welcome`, what `scripts/run` starts): one account per
//! staff role and a kiosk and a hall screen for each office, printed once with their addresses,
//! so that whoever evaluates Schalter sees every role's door in the first minutes instead of
//! reading how to mint device tokens.

use schalter_events::staff::access::DeviceRole;
use schalter_events::staff::Role;

use crate::engine::secrets::new_token;
use crate::engine::state::AppState;
use crate::features::admin::{create_device, create_user, AccountError};

/// The accounts the demo opens: name, role, the page its role works on, the role in words.
const ACCOUNTS: [(&str, Role, &str, &str); 3] = [
    ("schalter", Role::Desk, "/desk", "Schalterdienst / desk"),
    ("leitung", Role::Manager, "/stats", "Leitung / manager"),
    ("verwaltung", Role::Admin, "/admin", "Verwaltung / admin"),
];

const ACTOR: &str = "system:welcome";

/// Opens the doors once (nothing when the admin account exists already) and returns what to
/// print: the citizens' address, each account with its one-time password, and each office's
/// kiosk and hall-screen links with fresh device tokens.
pub async fn open_doors(state: &AppState, base: &str) -> Result<Option<String>, AccountError> {
    if state.directory().accounts.contains_key(ACCOUNTS[2].0) {
        return Ok(None);
    }
    let mut out = format!(
        "\nSchalter demo: every role's door (shown once; passwords and device links are not stored in the clear)\n\n\
         Bürgerinnen und Bürger / citizens:  {base}/\n\nMitarbeitende / staff (sign in on the page):\n"
    );
    for (username, role, page, words) in ACCOUNTS {
        // Long enough for the password rule, readable enough to type from the terminal.
        let password = format!("demo-{}", &new_token()[..12]);
        match create_user(&state.executor, username, role, &password, ACTOR).await {
            Ok(()) => out.push_str(&format!(
                "  {words:<24} {base}{page}\n  {:<24} user {username}, password {password}\n",
                ""
            )),
            // An account from an earlier demo start keeps its password.
            Err(AccountError::UserExists(_)) => out.push_str(&format!(
                "  {words:<24} {base}{page}\n  {:<24} user {username} (password from the first start)\n",
                ""
            )),
            Err(e) => return Err(e),
        }
    }
    out.push_str("\nGeräte / devices (open once on the device; it remembers the token):\n");
    let mut locations: Vec<(String, String)> = state
        .catalogue()
        .locations
        .values()
        .map(|l| (l.id.clone(), l.name.de.clone()))
        .collect();
    locations.sort();
    for (id, name) in locations {
        let (_, kiosk) = create_device(&state.executor, &id, DeviceRole::Kiosk, ACTOR).await?;
        let (_, display) = create_device(&state.executor, &id, DeviceRole::Display, ACTOR).await?;
        out.push_str(&format!(
            "  {name}\n    Kiosk / ticket kiosk:           {base}/kiosk/{id}?token={kiosk}\n    \
             Aufrufanzeige / hall screen:    {base}/display/{id}?token={display}\n"
        ));
    }
    out.push_str(&format!(
        "\nMails and text messages go to the demo outbox: {base}/admin (as verwaltung)\n"
    ));
    Ok(Some(out))
}

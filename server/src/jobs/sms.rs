//! Text messages through an SMS gateway. Municipalities use different providers, so Schalter
//! speaks one plain HTTP contract and a small adapter (or the provider's own JSON endpoint)
//! does the rest: `POST <url>` with `{"id","to","from","text"}`, `Authorization: Bearer <token>`
//! when a token is set, and the message id again as `Idempotency-Key`, so a gateway can drop the
//! duplicate that at-least-once delivery may produce. Any 2xx answer counts as accepted.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// The gateway's endpoint, e.g. `https://sms.example.de/api/messages`.
    pub url: String,
    pub token: Option<String>,
    /// Sender name or number as the gateway expects it.
    pub sender: String,
    /// "Your turn is near" goes out when this many people or fewer are ahead of a ticket.
    pub near_ahead: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sms {
    pub id: String,
    pub to: String,
    pub from: String,
    pub text: String,
}

/// Where text messages go; one implementation per kind of gateway.
#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync {
    /// Ok once the gateway accepted the message; Err with a reason fit for admins (no number).
    async fn send(&self, sms: &Sms) -> Result<(), String>;
}

/// The generic HTTP gateway described above.
pub struct HttpGateway {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpGateway {
    pub fn new(settings: &SmsSettings) -> Result<HttpGateway, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        reqwest::Url::parse(&settings.url).map_err(|e| format!("bad SMS gateway address: {e}"))?;
        Ok(HttpGateway {
            client,
            url: settings.url.clone(),
            token: settings.token.clone().filter(|t| !t.is_empty()),
        })
    }
}

#[async_trait::async_trait]
impl SmsGateway for HttpGateway {
    async fn send(&self, sms: &Sms) -> Result<(), String> {
        let mut request = self.client.post(&self.url).header("Idempotency-Key", &sms.id).json(sms);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // reqwest's errors carry the URL, not the recipient: safe to show admins.
        let response = request
            .send()
            .await
            .map_err(|e| format!("SMS gateway unreachable: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", response.status()))
        }
    }
}

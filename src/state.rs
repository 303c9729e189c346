//! The application's state: what every handler is given (the pool, the settings, the
//! signature writer). It imports no feature, so every feature can import it.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use crate::{
    config::Config, jobs::ReminderPolicy, secret_key::SecretKey, store::agreements::Writer,
};

/// How long a request may take, body included, before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A provider's keys are fetched again for a token signed with an unknown key at most once
/// a minute, so a forged `kid` cannot make the portal hammer the provider.
pub const KEYS_REFETCH_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct Settings {
    pub base_url: String,
    pub idle_timeout: time::Duration,
    pub session_lifetime: time::Duration,
    /// False while SMTP_URL is unset: mail waits in the outbox, and admin pages say so.
    pub mail_configured: bool,
    pub reminders: ReminderPolicy,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub attempts_per_minute: u32,
    /// Seals the secrets the portal keeps and keys the hashes it must not keep in clear.
    pub secret: Arc<SecretKey>,
    /// Days a sent email's text is kept before only its envelope remains.
    pub outbox_keep_days: u32,
    /// Who gets the daily head of the chain of events outside any school.
    pub operator_email: Option<String>,
    /// The time the session rules go by.
    pub clock: crate::clock::Clock,
    /// REQUEST_TIMEOUT, but in tests.
    pub request_timeout: Duration,
    /// Where single sign-on finds Microsoft and Google: their real addresses, but in tests.
    pub entra_authority: String,
    pub google_issuer: String,
    /// A provider's keys are fetched again for an unknown key at most this often.
    pub keys_refetch_after: Duration,
    /// Whether single sign-on may reach providers on private network addresses.
    pub sso_private_addresses: bool,
}

impl Settings {
    pub fn new(config: &Config, base_url: String, secret: SecretKey) -> Self {
        Settings {
            secret: Arc::new(secret),
            outbox_keep_days: config.outbox_keep_days,
            operator_email: config.operator_email.clone(),
            clock: crate::clock::Clock::system(),
            request_timeout: REQUEST_TIMEOUT,
            entra_authority: config.entra_authority.clone(),
            google_issuer: config.google_issuer.clone(),
            keys_refetch_after: KEYS_REFETCH_AFTER,
            sso_private_addresses: config.sso_private_addresses,
            base_url,
            idle_timeout: time::Duration::minutes(config.idle_timeout_minutes.into()),
            session_lifetime: time::Duration::hours(config.session_lifetime_hours.into()),
            mail_configured: config.smtp_url.is_some(),
            reminders: config.reminder_policy(),
            trusted_proxies: config.trusted_proxies.clone(),
            attempts_per_minute: config.attempts_per_minute,
        }
    }

    /// Settings for tests and tools: the given base URL, default timeouts, no mail.
    pub fn for_base_url(base_url: String) -> Self {
        Settings {
            base_url,
            idle_timeout: time::Duration::minutes(30),
            session_lifetime: time::Duration::hours(12),
            mail_configured: false,
            reminders: ReminderPolicy::default(),
            trusted_proxies: vec![],
            attempts_per_minute: 30,
            secret: Arc::new(SecretKey::generate(1)),
            outbox_keep_days: 30,
            operator_email: None,
            clock: crate::clock::Clock::system(),
            request_timeout: REQUEST_TIMEOUT,
            entra_authority: crate::oidc::rules::ENTRA_AUTHORITY.to_owned(),
            google_issuer: crate::oidc::rules::GOOGLE_ISSUER.to_owned(),
            keys_refetch_after: KEYS_REFETCH_AFTER,
            // The tests' providers run on this machine.
            sso_private_addresses: true,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    /// Where the sign form hands in agreements, to be stored in groups.
    pub signatures: Writer,
    /// The schools' OpenID providers, as far as the portal has talked to them.
    pub providers: crate::oidc::Providers,
}

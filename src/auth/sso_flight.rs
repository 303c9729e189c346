//! A trip to a school's provider and back: what the browser keeps meanwhile (a cookie of
//! its own, sealed with the portal's key, for the return address only), the client settings
//! with the secret unsealed, and the page a person sees when it goes wrong.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::oidc::{self, ClientSettings, rules};
use crate::paths;
use crate::store::sso::{self, SchoolSso};
use crate::{
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

/// The cookie that carries the trip: sealed, so it can be neither read nor made outside the
/// portal, and sent only to the return address.
const FLIGHT_COOKIE: &str = "aup_sso";
const FLIGHT_CONTEXT: &str = "sso flight";
/// Minutes a person may spend at their provider before the trip must start again.
pub(super) const FLIGHT_MINUTES: i64 = 10;

/// What the trip to the provider is for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Purpose {
    SignIn,
    /// Linking the provider account to this signed-in person's account.
    Link {
        user_id: Uuid,
    },
    /// An admin's test: show what the provider sent, sign no one in.
    Test {
        user_id: Uuid,
    },
}

/// A trip to a provider, kept in the browser until the person comes back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Flight {
    pub school_id: Uuid,
    pub slug: String,
    pub purpose: Purpose,
    pub started: oidc::Started,
    pub at: i64,
}

pub(super) struct SchoolRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub passwords_off: bool,
}

pub(super) async fn school_by_slug(state: &AppState, slug: &str) -> Result<SchoolRow> {
    sqlx::query_as!(
        SchoolRow,
        "select id, slug, name, passwords_off from schools where slug = $1",
        slug
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)
}

impl Flight {
    /// The Set-Cookie header that keeps this trip in the browser.
    pub fn cookie(&self, state: &AppState) -> Result<HeaderValue> {
        let json = serde_json::to_vec(self).map_err(|err| AppError::Other(err.into()))?;
        let sealed = state.settings.secret.seal(FLIGHT_CONTEXT, &json);
        cookie_header(state, &sealed, FLIGHT_MINUTES * 60)
    }

    /// The trip the request's cookie carries, if it is one the portal sealed.
    pub fn from_headers(state: &AppState, headers: &HeaderMap) -> Option<Flight> {
        let sealed = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == FLIGHT_COOKIE)
            .map(|(_, value)| value.to_owned())?;
        let json = state.settings.secret.open(FLIGHT_CONTEXT, &sealed)?;
        serde_json::from_slice(&json).ok()
    }

    /// The Set-Cookie header that ends any trip: a return is used once.
    pub fn cleared(state: &AppState) -> Result<HeaderValue> {
        cookie_header(state, "", 0)
    }
}

fn cookie_header(state: &AppState, value: &str, max_age: i64) -> Result<HeaderValue> {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{FLIGHT_COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        paths::SsoCallback::PATH
    ))
    .map_err(|err| AppError::Other(err.into()))
}

/// The client settings for a school's provider: its secret unsealed.
pub(super) fn client_settings(
    state: &AppState,
    school_id: Uuid,
    sso: &SchoolSso,
) -> Result<ClientSettings> {
    let secret = state
        .settings
        .secret
        .open(&sso::secret_context(school_id), &sso.client_secret_sealed)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            AppError::Other(anyhow::anyhow!(
                "the school's client secret does not open with the portal's key"
            ))
        })?;
    Ok(ClientSettings {
        issuer: sso.issuer.clone(),
        client_id: sso.client_id.clone(),
        client_secret: secret,
        redirect_url: format!(
            "{}{}",
            state.settings.base_url.trim_end_matches('/'),
            paths::SsoCallback::PATH
        ),
    })
}

pub(super) enum Problem {
    /// No trip in this session matches: expired, replayed or forged.
    NoFlight,
    /// The provider said no, in its own words.
    ProviderSaid(String),
    Provider(oidc::OidcError),
    Refused(rules::Refusal),
    NotAdded,
    Left,
    /// In more than one school, and the provider account is not linked yet.
    SeveralSchools,
    /// The address the provider gave is outside the school's domains, or not vouched for.
    AddressNotTheSchools(String),
    LinkedToSomeoneElse,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sso_problem.html")]
pub(super) struct ProblemPage {
    nav: Nav,
    title: &'static str,
    message: String,
    advice: &'static str,
    slug: Option<String>,
}

pub(super) fn problem(slug: &str, problem: Problem) -> (StatusCode, ProblemPage) {
    const ASK_SBM: &str = "If you think this is wrong, ask your school business manager.";
    const TRY_AGAIN: &str = "Go back to your school's sign-in page and try again.";
    let (status, title, message, advice) = match problem {
        Problem::NoFlight => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The sign-in took too long, was already used, or was started in another browser."
                .to_owned(),
            TRY_AGAIN,
        ),
        Problem::ProviderSaid(said) => (
            StatusCode::BAD_REQUEST,
            "Your school's sign-in service did not sign you in",
            format!("It said: {said}"),
            TRY_AGAIN,
        ),
        Problem::Provider(err) => (
            StatusCode::BAD_GATEWAY,
            "We could not sign you in",
            {
                let mut text = err.to_string();
                if let Some(first) = text.get(..1) {
                    text = first.to_uppercase() + &text[1..];
                }
                format!("{text}.")
            },
            "Try again in a few minutes. If it keeps happening, tell your school's IT technician.",
        ),
        Problem::Refused(refusal) => (
            StatusCode::FORBIDDEN,
            "We could not sign you in",
            refusal.message().to_owned(),
            TRY_AGAIN,
        ),
        Problem::NotAdded => (
            StatusCode::FORBIDDEN,
            "Your school has not added you to the portal yet",
            "Your school account works, but the school has not added you to the portal yet."
                .to_owned(),
            "Ask your school business manager to add you.",
        ),
        Problem::Left => (
            StatusCode::FORBIDDEN,
            "You are no longer a member of this school",
            "The school has recorded that you have left, so the portal cannot sign you in to it."
                .to_owned(),
            ASK_SBM,
        ),
        Problem::SeveralSchools => (
            StatusCode::FORBIDDEN,
            "Link your school account first",
            "You belong to more than one school in the portal, so your school account cannot find you by its email address alone."
                .to_owned(),
            "Sign in with your email address and password, then choose \u{201c}Link my school account\u{201d} on your account page. After that this button signs you in.",
        ),
        Problem::AddressNotTheSchools(email) => (
            StatusCode::FORBIDDEN,
            "Your school has not added you to the portal yet",
            format!(
                "Your school's sign-in service gave the address {email}, which is not one of the school's own, or which it has not verified. The portal does not find people by such an address."
            ),
            ASK_SBM,
        ),
        Problem::LinkedToSomeoneElse => (
            StatusCode::CONFLICT,
            "That school account is someone else's",
            "That school account is already linked to another person's account in the portal."
                .to_owned(),
            "Sign out of your school account, sign in to it as yourself, and try again.",
        ),
    };
    (
        status,
        ProblemPage {
            nav: Nav::default(),
            title,
            message,
            advice,
            slug: (!slug.is_empty()).then(|| slug.to_owned()),
        },
    )
}

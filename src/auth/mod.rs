//! Signing in and out, and the page that sends a signed-in person to their school.
//! Passwords are checked in `password`, sessions and memberships in `session`.

pub mod account;
pub mod email_change;
pub mod factor_secrets;
pub mod memberships;
pub mod password;
pub mod reauth;
pub mod session;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod two_factor;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    audit,
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
};
use session::CurrentUser;

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    // The forms that check a password or a code, or send an email, are limited per address.
    let limited = Router::new()
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .merge(tokens::router())
        .merge(two_factor::router())
        .merge(account::checked_router())
        .merge(email_change::router())
        .route_layer(limit);
    Router::new()
        .route("/", get(schools))
        .route("/sign-out", post(sign_out))
        .merge(limited)
        .merge(account::router())
        .merge(memberships::router())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in.html")]
struct SignInPage {
    nav: Nav,
    notice: Option<&'static str>,
    email: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SignInQuery {
    expired: Option<String>,
    signed_out: Option<String>,
    password_set: Option<String>,
    email_changed: Option<String>,
}

async fn sign_in_form(Query(query): Query<SignInQuery>) -> SignInPage {
    let notice = if query.expired.is_some() {
        Some("You were signed out because your session timed out. Sign in again to carry on.")
    } else if query.signed_out.is_some() {
        Some("You have signed out.")
    } else if query.password_set.is_some() {
        Some("Your password has been saved. Sign in with it now.")
    } else if query.email_changed.is_some() {
        Some("Your email address has been changed. Sign in with the new address and your password.")
    } else {
        None
    };
    SignInPage {
        nav: Nav::default(),
        notice,
        email: String::new(),
        errors: FieldErrors::default(),
    }
}

const WRONG_SIGN_IN: &str =
    "Enter the email address and password of your account. Check both and try again";

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Result<Response> {
    let email = crate::input::normalise(&form.email);
    let mut errors = FieldErrors::default();
    if email.is_empty() {
        errors.add("email", "Enter your email address");
    } else if let Some(message) = crate::input::check("Your email address", &email, false) {
        errors.add("email", message);
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    // A form sent back to be put right answers 422; a locked account, 429.
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        // With the account: whether it needs a second factor, which it does when any of its
        // roles reaches personal data in a school that requires one.
        let user = sqlx::query!(
            r#"select id, password_hash, auth_epoch, totp_enabled_at is not null as "second_factor!",
                      greatest(0, ceil(extract(epoch from locked_until - now()) / 60))::bigint as "locked_minutes!",
                      exists (select 1 from memberships m join schools s on s.id = m.school_id
                              where m.user_id = users.id and m.status = 'active' and s.require_two_factor
                                and m.roles && array['sbm', 'dpo', 'head', 'admin']::text[])
                        as "second_factor_required!"
               from users where lower(email) = lower($1)"#,
            email
        )
        .fetch_optional(&state.pool)
        .await?;
        // An address without an account is counted under a keyed hash of itself.
        let miss = user
            .is_none()
            .then(|| throttle::miss_key(&state.settings.secret, &email));
        let (stored, locked_minutes) = match (&user, &miss) {
            (Some(u), _) => (u.password_hash.clone(), u.locked_minutes),
            (None, Some(key)) => (None, throttle::miss_locked_minutes(&state.pool, key).await?),
            (None, None) => (None, 0),
        };
        // Unknown people are checked against a dummy hash: same answer, same time.
        let ok = password::verify(stored, form.password).await?;
        match user {
            Some(u) if locked_minutes > 0 => {
                // Locked: even the right password waits.
                audit::record(
                    &state.pool,
                    None,
                    Some(u.id),
                    "sign_in_refused_locked",
                    "",
                    None,
                )
                .await?;
                errors.add("email", throttle::locked_message(locked_minutes));
                status = StatusCode::TOO_MANY_REQUESTS;
            }
            Some(u) if ok => {
                return two_factor::after_password(
                    &state,
                    &session,
                    u.id,
                    u.auth_epoch,
                    u.second_factor,
                    u.second_factor_required,
                )
                .await;
            }
            Some(u) => {
                audit::record(&state.pool, None, Some(u.id), "sign_in_failed", "", None).await?;
                match throttle::record_failure(&state.pool, u.id).await? {
                    Some(minutes) => {
                        audit::record(&state.pool, None, Some(u.id), "account_locked", "", None)
                            .await?;
                        errors.add("email", throttle::locked_message(minutes));
                        status = StatusCode::TOO_MANY_REQUESTS;
                    }
                    None => errors.add("email", WRONG_SIGN_IN),
                }
            }
            None if locked_minutes > 0 => {
                audit::record(&state.pool, None, None, "sign_in_refused_locked", "", None).await?;
                errors.add("email", throttle::locked_message(locked_minutes));
                status = StatusCode::TOO_MANY_REQUESTS;
            }
            None => {
                audit::record(&state.pool, None, None, "sign_in_failed", "", None).await?;
                let key = miss.unwrap_or_default();
                match throttle::record_miss(&state.pool, &key).await? {
                    Some(minutes) => {
                        audit::record(&state.pool, None, None, "account_locked", "", None).await?;
                        errors.add("email", throttle::locked_message(minutes));
                        status = StatusCode::TOO_MANY_REQUESTS;
                    }
                    None => errors.add("email", WRONG_SIGN_IN),
                }
            }
        }
    }
    Ok((
        status,
        SignInPage {
            nav: Nav::default(),
            notice: None,
            email,
            errors,
        },
    )
        .into_response())
}

async fn sign_out(session: Session) -> Result<Redirect> {
    session.flush().await?;
    Ok(Redirect::to("/sign-in?signed_out=1"))
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/schools.html")]
struct SchoolsPage {
    nav: Nav,
    schools: Vec<SchoolLink>,
    offers: Vec<memberships::Offer>,
    notice: Option<&'static str>,
}

impl SchoolsPage {
    fn group<'a>(&self, key: &'a str) -> &'a str {
        crate::domain::groups::group_name(key)
    }
}

#[derive(Deserialize)]
struct SchoolsQuery {
    accepted: Option<String>,
    declined: Option<String>,
}

struct SchoolLink {
    slug: String,
    name: String,
}

/// One school: straight to it. Several (a DPO serving many schools), or an offer waiting for
/// an answer: choose.
async fn schools(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SchoolsQuery>,
) -> Result<Response> {
    let schools = sqlx::query_as!(
        SchoolLink,
        r#"select s.slug, s.name from memberships m join schools s on s.id = m.school_id
           where m.user_id = $1 and m.status = 'active' order by s.name"#,
        user.id
    )
    .fetch_all(&state.pool)
    .await?;
    let offers = memberships::waiting(&state.pool, user.id).await?;
    let notice = if query.accepted.is_some() {
        Some("You have joined the school. Its policies are waiting for you below.")
    } else if query.declined.is_some() {
        Some("You have declined the school's offer. It has been removed.")
    } else {
        None
    };
    if let ([only], true, None) = (schools.as_slice(), offers.is_empty(), notice) {
        return Ok(Redirect::to(&format!("/s/{}/", only.slug)).into_response());
    }
    Ok(SchoolsPage {
        nav: user.nav(),
        schools,
        offers,
        notice,
    }
    .into_response())
}

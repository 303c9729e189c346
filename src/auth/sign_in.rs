//! Signing in and out. Passwords are checked in `password`, the limits in `throttle`, a
//! second step in `two_factor`.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{password, throttle, two_factor};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
};

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in.html")]
pub(super) struct SignInPage {
    nav: Nav,
    notice: Option<&'static str>,
    email: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub(super) struct SignInQuery {
    expired: Option<String>,
    signed_out: Option<String>,
    password_set: Option<String>,
    email_changed: Option<String>,
}

pub(super) async fn sign_in_form(Query(query): Query<SignInQuery>) -> SignInPage {
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
pub(super) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn sign_in(
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
                audit::record(&state.pool, None, Some(u.id), &Event::SignInRefusedLocked).await?;
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
                audit::record(
                    &state.pool,
                    None,
                    Some(u.id),
                    &Event::SignInFailed { at: None },
                )
                .await?;
                match throttle::record_failure(&state.pool, u.id).await? {
                    Some(minutes) => {
                        audit::record(&state.pool, None, Some(u.id), &Event::AccountLocked).await?;
                        errors.add("email", throttle::locked_message(minutes));
                        status = StatusCode::TOO_MANY_REQUESTS;
                    }
                    None => errors.add("email", WRONG_SIGN_IN),
                }
            }
            None if locked_minutes > 0 => {
                audit::record(&state.pool, None, None, &Event::SignInRefusedLocked).await?;
                errors.add("email", throttle::locked_message(locked_minutes));
                status = StatusCode::TOO_MANY_REQUESTS;
            }
            None => {
                audit::record(&state.pool, None, None, &Event::SignInFailed { at: None }).await?;
                let key = miss.unwrap_or_default();
                match throttle::record_miss(&state.pool, &key).await? {
                    Some(minutes) => {
                        audit::record(&state.pool, None, None, &Event::AccountLocked).await?;
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

pub(super) async fn sign_out(session: Session) -> Result<Redirect> {
    session.flush().await?;
    Ok(Redirect::to(&format!(
        "{}?signed_out=1",
        paths::SignIn::PATH
    )))
}

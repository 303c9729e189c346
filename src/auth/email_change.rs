//! Changing an account's email address, the key to the account. Once an account has been
//! activated only the person (confirmed from the new address) or an admin (after re-entering
//! their own password) may change it; an SBM may correct the address of a signer who never
//! activated. Each change is kept in `email_changes`, where retention can erase it; the audit
//! event only points there. The person's sessions end and their open links die.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{reauth, session::CurrentUser, tokens};
use crate::audit::{Doing, Event};
use crate::domain::statuses::EmailChangeHow;
use crate::paths;
use crate::store::email_changes::{
    CONFIRM_LIFETIME, Switched, TAKEN, switch, taken, tell_old_address,
};
use crate::store::tokens::{digest, issue};
use crate::{
    audit, clock,
    domain::statuses::TokenPurpose,
    error::Result,
    mail::{self, EmailConfirm, first_name},
    page::{FieldErrors, Nav},
    state::AppState,
};

// ---- The person's own change, from their account page ----

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::AccountEmail::PATH,
            get(change_form).post(request_change),
        )
        .route(
            paths::ConfirmEmail::PATH,
            get(confirm_form).post(confirm_change),
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/change_email.html")]
struct ChangeEmailPage {
    nav: Nav,
    current: String,
    email: String,
    errors: FieldErrors,
}

async fn change_form(user: CurrentUser) -> ChangeEmailPage {
    ChangeEmailPage {
        nav: user.nav(),
        current: user.email.clone(),
        email: String::new(),
        errors: FieldErrors::default(),
    }
}

#[derive(Deserialize)]
struct ChangeEmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn request_change(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ChangeEmailForm>,
) -> Result<Response> {
    let email = form.email.trim().to_owned();
    let mut errors = FieldErrors::default();
    if let Err(message) = crate::mail::address::check(&email) {
        errors.add("email", message);
    } else if email.eq_ignore_ascii_case(&user.email) {
        errors.add("email", "This is already your email address");
    }
    if errors.is_empty() && super::session::password_session_locked_out(&state.pool, &user).await? {
        errors.add(
            "email",
            "Your school signs in without passwords: sign in with your school account to change your email address",
        );
    }
    let mut tx = state.pool.begin().await?;
    if errors.is_empty() && taken(&mut tx, user.id, &email).await? {
        errors.add("email", TAKEN);
    }
    if errors.is_empty()
        && let Some(message) = reauth::check(&state.pool, user.id, &form.password, Doing::Email)
            .await?
            .refusal("Enter your password", "Your password is not right")
    {
        errors.add("password", message);
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ChangeEmailPage {
                nav: user.nav(),
                current: user.email.clone(),
                email,
                errors,
            },
        )
            .into_response());
    }
    let (token_id, secret) = issue(
        &mut tx,
        user.id,
        TokenPurpose::EmailChange,
        CONFIRM_LIFETIME,
    )
    .await?;
    let change_id = sqlx::query_scalar!(
        "insert into email_changes (user_id, old_email, new_email, how, changed_by, token_id)
         values ($1, $2, $3, 'self', $1, $4) returning id",
        user.id,
        user.email,
        email,
        token_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let link = format!(
        "{}{}",
        state.settings.base_url,
        paths::ConfirmEmail::new(&secret)
    );
    let expires = clock::date_time(OffsetDateTime::now_utc() + CONFIRM_LIFETIME);
    let message = EmailConfirm {
        first_name: first_name(&user.full_name),
        link: &link,
        expires: &expires,
    }
    .render(
        &email,
        "Confirm your new email address for AUP Portal".to_owned(),
    )?;
    mail::queue(
        &mut tx,
        None,
        &format!("email-confirm:{token_id}"),
        &message,
    )
    .await?;
    audit::record(
        &mut *tx,
        None,
        Some(user.id),
        &Event::EmailChangeRequested {
            email_change: change_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}?email_sent=1", paths::Account::PATH)).into_response())
}

struct Pending {
    change_id: Uuid,
    token_id: Uuid,
    user_id: Uuid,
    full_name: String,
    new_email: String,
}

async fn pending(db: &mut PgConnection, secret: &str) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as!(
        Pending,
        "select ec.id as change_id, t.id as token_id, u.id as user_id, u.full_name, ec.new_email
         from account_tokens t
         join email_changes ec on ec.token_id = t.id and ec.confirmed_at is null
         join users u on u.id = t.user_id
         where t.token_sha256 = $1 and t.purpose = 'email_change'
           and t.used_at is null and t.expires_at > now()",
        digest(secret)
    )
    .fetch_optional(db)
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/confirm_email.html")]
struct ConfirmEmailPage {
    nav: Nav,
    token: String,
    new_email: String,
    error: Option<&'static str>,
}

/// The link shows a button rather than changing anything itself: mail scanners open links.
async fn confirm_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    Ok(match pending(&mut conn, &token).await? {
        Some(change) => ConfirmEmailPage {
            nav: Nav::default(),
            token,
            new_email: change.new_email,
            error: None,
        }
        .into_response(),
        None => tokens::link_invalid(),
    })
}

async fn confirm_change(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let Some(change) = pending(&mut tx, &token).await? else {
        return Ok(tokens::link_invalid());
    };
    let claimed = sqlx::query!(
        "update account_tokens set used_at = now() where id = $1 and used_at is null",
        change.token_id
    )
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(tokens::link_invalid());
    }
    let old = match switch(&mut tx, change.user_id, &change.new_email).await? {
        Switched::Made(old) => old,
        Switched::Taken => {
            return Ok((
                StatusCode::CONFLICT,
                ConfirmEmailPage {
                    nav: Nav::default(),
                    token,
                    new_email: change.new_email,
                    error: Some(
                        "Another account now uses this email address, so yours cannot move to it. Ask for the change again with another address.",
                    ),
                },
            )
                .into_response());
        }
    };
    sqlx::query!(
        "update email_changes set confirmed_at = now() where id = $1",
        change.change_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        None,
        Some(change.user_id),
        &Event::EmailChanged {
            membership_id: None,
            email_change: change.change_id,
            how: EmailChangeHow::Own,
        },
    )
    .await?;
    tell_old_address(
        &mut tx,
        change.change_id,
        &old,
        &change.new_email,
        &change.full_name,
        "by you, from your account page",
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}?email_changed=1", paths::SignIn::PATH)).into_response())
}

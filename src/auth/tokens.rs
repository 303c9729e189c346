//! Single-use links to set a password: an invitation for a new person (7 days) and a
//! password reset (1 hour). Only the SHA-256 of a link's token is stored.

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
use time::Duration;
use uuid::Uuid;

use super::password;
use crate::audit::Event;
use crate::paths;
use crate::store::tokens::{digest, issue, void_all};
use crate::{
    audit,
    domain::statuses::TokenPurpose,
    error::Result,
    mail::{self, PasswordReset},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub const RESET_LIFETIME: Duration = Duration::hours(1);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::PasswordReset::PATH,
            get(reset_form).post(request_reset),
        )
        .route(
            paths::SetPassword::PATH,
            get(set_password_form).post(set_password),
        )
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    nav: Nav,
    sent: bool,
    email: String,
    errors: FieldErrors,
}

async fn reset_form() -> ResetPage {
    ResetPage {
        nav: Nav::default(),
        sent: false,
        email: String::new(),
        errors: FieldErrors::default(),
    }
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    email: String,
}

/// An address typed into a form that emails a link: normalised, and the field's error if it
/// cannot be one.
pub(super) fn typed_address(raw: &str) -> (String, Option<FieldErrors>) {
    let email = crate::input::normalise(raw);
    if email.is_empty() || !email.contains('@') || crate::input::unusable(&email, false).is_some() {
        let mut errors = FieldErrors::default();
        errors.add(
            "email",
            "Enter your email address, like name@school.example",
        );
        return (email, Some(errors));
    }
    (email, None)
}

/// The same answer whether or not the address has an account.
async fn request_reset(
    State(state): State<AppState>,
    Form(form): Form<ResetForm>,
) -> Result<Response> {
    let (email, problem) = typed_address(&form.email);
    if let Some(errors) = problem {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetPage {
                nav: Nav::default(),
                sent: false,
                email,
                errors,
            },
        )
            .into_response());
    }
    let mut tx = state.pool.begin().await?;
    let user = sqlx::query!(
        r#"select u.id, u.email, u.full_name,
                  (select s.name from memberships m join schools s on s.id = m.school_id
                    where m.user_id = u.id and m.status = 'active' order by s.name limit 1) as school_name
           from users u where lower(u.email) = lower($1)"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = user {
        // One reset email every five minutes at most, however often the form is sent.
        let recent = sqlx::query_scalar!(
            r#"select exists (select 1 from account_tokens where user_id = $1 and purpose = 'reset'
                 and created_at > now() - interval '5 minutes') as "recent!""#,
            user.id
        )
        .fetch_one(&mut *tx)
        .await?;
        if !recent {
            let (token_id, secret) =
                issue(&mut tx, user.id, TokenPurpose::Reset, RESET_LIFETIME).await?;
            let link = format!(
                "{}{}",
                state.settings.base_url,
                paths::SetPassword::new(&secret)
            );
            let school_name = user.school_name.unwrap_or_else(|| "AUP Portal".to_owned());
            let message = PasswordReset {
                first_name: mail::first_name(&user.full_name),
                school_name: &school_name,
                link: &link,
            }
            .render(
                &user.email,
                format!("{school_name}: reset your AUP Portal password"),
            )?;
            mail::queue(&mut tx, None, &format!("reset:{token_id}"), &message).await?;
            audit::record(
                &mut *tx,
                None,
                Some(user.id),
                &Event::PasswordResetRequested,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(ResetPage {
        nav: Nav::default(),
        sent: true,
        email,
        errors: FieldErrors::default(),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    nav: Nav,
    token: String,
    invitation: bool,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/link_invalid.html")]
struct LinkInvalidPage {
    nav: Nav,
}

struct ValidToken {
    id: Uuid,
    user_id: Uuid,
    purpose: TokenPurpose,
}

async fn valid_token(db: &mut PgConnection, secret: &str) -> sqlx::Result<Option<ValidToken>> {
    sqlx::query_as!(
        ValidToken,
        r#"select id, user_id, purpose as "purpose: TokenPurpose" from account_tokens
         where token_sha256 = $1 and purpose in ('invite', 'reset', 'handover')
           and used_at is null and expires_at > now()"#,
        digest(secret)
    )
    .fetch_optional(db)
    .await
}

pub(crate) fn link_invalid() -> Response {
    (
        StatusCode::NOT_FOUND,
        LinkInvalidPage {
            nav: Nav::default(),
        },
    )
        .into_response()
}

async fn set_password_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response> {
    let mut conn = state.pool.acquire().await?;
    Ok(match valid_token(&mut conn, &token).await? {
        Some(valid) => SetPasswordPage {
            nav: Nav::default(),
            invitation: matches!(valid.purpose, TokenPurpose::Invite | TokenPurpose::Handover),
            token,
            errors: FieldErrors::default(),
        }
        .into_response(),
        None => link_invalid(),
    })
}

#[derive(Deserialize)]
struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let Some(valid) = valid_token(&mut tx, &token).await? else {
        return Ok(link_invalid());
    };
    let mut errors = FieldErrors::default();
    if let Err(message) = password::check_new(&form.password) {
        errors.add("password", message);
    } else if form.confirm != form.password {
        errors.add(
            "confirm",
            "The passwords do not match. Type the same password twice",
        );
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            SetPasswordPage {
                nav: Nav::default(),
                invitation: matches!(valid.purpose, TokenPurpose::Invite | TokenPurpose::Handover),
                token,
                errors,
            },
        )
            .into_response());
    }
    let hash = password::hash(form.password).await?;
    // Claim the link: of two uses at once, only one gets here.
    let claimed = sqlx::query!(
        "update account_tokens set used_at = now() where id = $1 and used_at is null and expires_at > now()",
        valid.id
    )
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(link_invalid());
    }
    // A new password ends every session the person had, and every other link they were sent.
    sqlx::query!(
        "update users set password_hash = $2, auth_epoch = auth_epoch + 1,
             failed_sign_ins = 0, failures_since = null, locked_until = null, lockouts = 0
         where id = $1",
        valid.user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    void_all(&mut tx, valid.user_id).await?;
    audit::record(
        &mut *tx,
        None,
        Some(valid.user_id),
        &Event::PasswordSet {
            token_id: valid.id,
            by: valid.purpose,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}?password_set=1", paths::SignIn::PATH)).into_response())
}

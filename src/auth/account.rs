//! A person's own account: changing their password (which ends their other sessions),
//! their authenticator app, and signing out on every device.

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

use super::{
    password, reauth,
    session::{self, CurrentUser, SignedIn},
};
use crate::audit::{Doing, Event};
use crate::domain::statuses::SsoProvider;
use crate::paths;
use crate::{
    audit,
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::Account::PATH, get(account))
        .route(paths::SignOutEverywhere::PATH, post(sign_out_everywhere))
}

/// The forms that check the current password: under the per-address limit.
pub fn checked_router() -> Router<AppState> {
    Router::new().route(
        paths::AccountPassword::PATH,
        get(password_form).post(change_password),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/account.html")]
struct AccountPage {
    nav: Nav,
    name: String,
    email: String,
    two_factor: bool,
    recovery_left: usize,
    notice: Option<&'static str>,
    school_accounts: Vec<SchoolAccount>,
    errors: FieldErrors,
}

/// A school of the person's that signs in with its own provider, and whether their
/// provider account is linked.
struct SchoolAccount {
    slug: String,
    school_name: String,
    provider: SsoProvider,
    linked: bool,
    /// The password field's id in this school's link form.
    field: String,
}

#[derive(Deserialize)]
struct AccountQuery {
    changed: Option<String>,
    email_sent: Option<String>,
}

async fn account(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AccountQuery>,
) -> Result<AccountPage> {
    let notice = if query.changed.is_some() {
        Some("Your password has been changed. You are signed out on your other devices.")
    } else if query.email_sent.is_some() {
        Some(
            "We have sent a link to your new email address. Your address changes when you follow it, within 24 hours.",
        )
    } else {
        None
    };
    account_page(&state, user, notice, FieldErrors::default()).await
}

async fn account_page(
    state: &AppState,
    user: CurrentUser,
    notice: Option<&'static str>,
    errors: FieldErrors,
) -> Result<AccountPage> {
    let row = sqlx::query!(
        r#"select totp_enabled_at is not null as "two_factor!", cardinality(recovery_codes) as "left!"
           from users where id = $1"#,
        user.id
    )
    .fetch_one(&state.pool)
    .await?;
    let school_accounts = sqlx::query!(
        r#"select s.slug, s.name, o.provider as "provider: SsoProvider",
                  exists (select 1 from sso_identities i
                          where i.user_id = m.user_id and i.issuer = o.issuer) as "linked!"
           from memberships m join schools s on s.id = m.school_id
           join school_sso o on o.school_id = m.school_id
           where m.user_id = $1 and m.status = 'active' and ($2::uuid is null or s.id = $2)
           order by s.name"#,
        user.id,
        user.only_school
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| SchoolAccount {
        field: link_field(&row.slug),
        slug: row.slug,
        school_name: row.name,
        provider: row.provider,
        linked: row.linked,
    })
    .collect();
    Ok(AccountPage {
        nav: user.nav(),
        name: user.full_name,
        email: user.email,
        two_factor: row.two_factor,
        recovery_left: usize::try_from(row.left).unwrap_or(0),
        notice,
        school_accounts,
        errors,
    })
}

/// The id of the password field in the link form for `slug`.
fn link_field(slug: &str) -> String {
    format!("link-password-{slug}")
}

/// The account page again, its link form for `slug` refused with `message`.
pub(super) async fn with_link_error(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
    message: String,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    errors.add(link_field(slug), message);
    let page = account_page(state, user.clone(), None, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/change_password.html")]
struct ChangePasswordPage {
    nav: Nav,
    errors: FieldErrors,
}

async fn password_form(user: CurrentUser) -> ChangePasswordPage {
    ChangePasswordPage {
        nav: user.nav(),
        errors: FieldErrors::default(),
    }
}

#[derive(Deserialize)]
struct ChangePasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    Form(form): Form<ChangePasswordForm>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    if session::password_session_locked_out(&state.pool, &user).await? {
        errors.add(
            "current",
            "Your school signs in without passwords: sign in with your school account to change your password",
        );
    } else if let Some(message) =
        reauth::check(&state.pool, user.id, &form.current, Doing::Password)
            .await?
            .refusal(
                "Enter your current password",
                "Your current password is not right",
            )
    {
        errors.add("current", message);
    }
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
            ChangePasswordPage {
                nav: user.nav(),
                errors,
            },
        )
            .into_response());
    }
    let hash = password::hash(form.password).await?;
    // A new epoch ends every other session; this one carries on with the new epoch.
    let epoch = sqlx::query_scalar!(
        "update users set password_hash = $2, auth_epoch = auth_epoch + 1 where id = $1 returning auth_epoch",
        user.id,
        hash
    )
    .fetch_one(&state.pool)
    .await?;
    session::sign_in(
        &session,
        // Still the session it was: the same school only, made the same way.
        SignedIn {
            school: user.only_school,
            with: user.signed_in_with,
            ..SignedIn::new(user.id, epoch, state.settings.clock.unix_now())
        },
    )
    .await?;
    audit::record(&state.pool, None, Some(user.id), &Event::PasswordChanged).await?;
    Ok(Redirect::to(&format!("{}?changed=1", paths::Account::PATH)).into_response())
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<Redirect> {
    sqlx::query!(
        "update users set auth_epoch = auth_epoch + 1 where id = $1",
        user.id
    )
    .execute(&state.pool)
    .await?;
    // A provider account linked by someone who had the session is not a way back in.
    sqlx::query!("delete from sso_identities where user_id = $1", user.id)
        .execute(&state.pool)
        .await?;
    session.flush().await?;
    audit::record(
        &state.pool,
        None,
        Some(user.id),
        &Event::SignedOutEverywhere,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "{}?signed_out=1",
        paths::SignIn::PATH
    )))
}

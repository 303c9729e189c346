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
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{reauth, session::CurrentUser, tokens};
use crate::{
    audit, clock,
    error::{Result, unique_violation},
    mail::{self, EmailChanged, EmailConfirm, first_name},
    page::{FieldErrors, Nav},
    state::AppState,
};

/// How long the link to confirm a new address works.
pub const CONFIRM_LIFETIME: Duration = Duration::hours(24);

/// Who changed an address, as `email_changes.how` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// An SBM or admin fixed the address of a signer who had never activated.
    Correction,
    /// An admin, after re-entering their own password.
    Admin,
    /// The person, confirmed from the new address.
    Own,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            How::Correction => "correction",
            How::Admin => "admin",
            How::Own => "self",
        }
    }
}

/// What decides who may change an account's address.
pub struct Account {
    pub email: String,
    pub full_name: String,
    /// A password was ever set, or the person ever signed in.
    pub activated: bool,
    /// Every membership of theirs, in any school, holds the signer role at most.
    pub only_signer: bool,
    /// How many schools they belong to.
    pub schools: i64,
}

impl Account {
    /// Whether an SBM may correct the address without asking anyone: the person has never
    /// activated, so nobody's account is taken by it, and holds no role beyond signer.
    pub fn correctable(&self) -> bool {
        !self.activated && self.only_signer && self.schools <= 1
    }
}

pub async fn account(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Account> {
    sqlx::query_as!(
        Account,
        r#"select u.email, u.full_name,
                  (u.activated_at is not null or u.password_hash is not null) as "activated!",
                  not exists (select 1 from memberships m
                              where m.user_id = u.id and not (m.roles <@ array['signer']::text[]))
                    as "only_signer!",
                  (select count(*) from memberships m where m.user_id = u.id) as "schools!"
           from users u where u.id = $1"#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// The address is already another account's.
#[derive(Debug)]
pub struct Taken;

pub const TAKEN: &str = "Another account already uses this email address";

async fn taken(db: &mut PgConnection, user_id: Uuid, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from users where lower(email) = lower($1) and id <> $2) as "taken!""#,
        email,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Moves the account to `new_email`, in the caller's transaction: the person's sessions end
/// and every link they were sent dies. Returns the old address; the caller records the change.
async fn switch(
    db: &mut PgConnection,
    user_id: Uuid,
    new_email: &str,
) -> anyhow::Result<std::result::Result<String, Taken>> {
    if taken(db, user_id, new_email).await? {
        return Ok(Err(Taken));
    }
    let old = sqlx::query_scalar!("select email from users where id = $1 for update", user_id)
        .fetch_one(&mut *db)
        .await?;
    let updated = sqlx::query!(
        "update users set email = $2, auth_epoch = auth_epoch + 1 where id = $1",
        user_id,
        new_email
    )
    .execute(&mut *db)
    .await;
    match updated {
        Err(err) if unique_violation(&err).as_deref() == Some("users_email_key") => {
            return Ok(Err(Taken));
        }
        other => other?,
    };
    tokens::void_all(db, user_id).await?;
    Ok(Ok(old))
}

/// Tells the old address what happened, so a change nobody expected is noticed.
async fn tell_old_address(
    db: &mut PgConnection,
    change_id: Uuid,
    old_email: &str,
    new_email: &str,
    full_name: &str,
    by: &str,
) -> anyhow::Result<()> {
    let when = clock::date_time(OffsetDateTime::now_utc());
    let message = EmailChanged {
        first_name: first_name(full_name),
        by,
        when: &when,
        new_email,
    }
    .render(
        old_email,
        "The email address of your AUP Portal account was changed".to_owned(),
    )?;
    mail::queue(db, None, &format!("email-changed:{change_id}"), &message).await?;
    Ok(())
}

/// What a manager asks for: the account, its new address, and who asks, in which school.
pub struct ManagerChange<'a> {
    pub user_id: Uuid,
    pub new_email: &'a str,
    pub how: How,
    pub actor: Uuid,
    pub actor_name: &'a str,
    pub school_id: Uuid,
    pub school_name: &'a str,
    /// The audit event's subject: the membership whose page it was done from.
    pub subject: &'a str,
}

/// An SBM's correction, or an admin's change, applied at once in the caller's transaction.
/// A correction sends the invitation again, to the right address; an admin's change tells
/// the old address. The caller has checked that the actor may make it.
pub async fn change_by_manager(
    db: &mut PgConnection,
    change: &ManagerChange<'_>,
    base_url: &str,
) -> anyhow::Result<std::result::Result<Uuid, Taken>> {
    let before = account(db, change.user_id).await?;
    let old = match switch(db, change.user_id, change.new_email).await? {
        Ok(old) => old,
        Err(taken) => return Ok(Err(taken)),
    };
    let change_id = sqlx::query_scalar!(
        "insert into email_changes (user_id, old_email, new_email, how, changed_by, school_id, confirmed_at)
         values ($1, $2, $3, $4, $5, $6, now()) returning id",
        change.user_id,
        old,
        change.new_email,
        change.how.as_str(),
        change.actor,
        change.school_id
    )
    .fetch_one(&mut *db)
    .await?;
    audit::record(
        &mut *db,
        Some(change.school_id),
        Some(change.actor),
        "email_changed",
        change.subject,
        Some(serde_json::json!({ "email_change": change_id, "how": change.how.as_str() })),
    )
    .await?;
    match change.how {
        How::Correction => tokens::invite(db, change.user_id, change.school_id, base_url).await?,
        How::Admin | How::Own => {
            let by = format!(
                "by {}, an administrator of {}",
                change.actor_name, change.school_name
            );
            tell_old_address(
                db,
                change_id,
                &old,
                change.new_email,
                &before.full_name,
                &by,
            )
            .await?;
        }
    }
    Ok(Ok(change_id))
}

/// "Activated after an email change by Priya Shah on 1 December 2026 at 9:05am": for a person
/// who first set a password after a manager corrected their address, since whoever chose the
/// address could have read the invitation.
pub async fn activation_note(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Option<String>> {
    let row = sqlx::query!(
        r#"select cb.full_name as by_name, ec.confirmed_at as "at!"
           from email_changes ec
           join users u on u.id = ec.user_id
           join users cb on cb.id = ec.changed_by
           where ec.user_id = $1 and ec.how = 'correction'
             and u.activated_at is not null and ec.confirmed_at <= u.activated_at
           order by ec.confirmed_at desc limit 1"#,
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        format!(
            "Activated after an email change by {} on {}",
            r.by_name,
            clock::date_time(r.at)
        )
    }))
}

// ---- The person's own change, from their account page ----

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/email", get(change_form).post(request_change))
        .route(
            "/account/email/{token}",
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
    let mut tx = state.pool.begin().await?;
    if errors.is_empty() && taken(&mut tx, user.id, &email).await? {
        errors.add("email", TAKEN);
    }
    if errors.is_empty()
        && let Some(message) = reauth::check(&state.pool, user.id, &form.password, "email")
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
    let (token_id, secret) =
        tokens::issue(&mut tx, user.id, "email_change", CONFIRM_LIFETIME).await?;
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
    let link = format!("{}/account/email/{secret}", state.settings.base_url);
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
        "email_change_requested",
        "",
        Some(serde_json::json!({ "email_change": change_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/account?email_sent=1").into_response())
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
        tokens::digest(secret)
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
        Ok(old) => old,
        Err(Taken) => {
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
        "email_changed",
        "",
        Some(serde_json::json!({ "email_change": change.change_id, "how": How::Own.as_str() })),
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
    Ok(Redirect::to("/sign-in?email_changed=1").into_response())
}

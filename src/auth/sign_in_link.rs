//! Signing in with a link sent by email, for governors, volunteers and anyone without a
//! school account or a password. The link works once, for 15 minutes; only its hash is
//! stored, and the kept copy of the email loses it once sent. Opening it shows a button:
//! only that POST uses it up, so a mail scanner that opens every link burns nothing.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use time::Duration;
use tower_sessions::Session;

use super::{
    tokens::{link_invalid, typed_address},
    two_factor::{self, First, FirstStep},
};
use crate::audit::Event;
use crate::paths;
use crate::store::tokens::{digest, issue};
use crate::{
    audit,
    domain::statuses::TokenPurpose,
    error::Result,
    mail::{self, SignInLink},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub const LINK_LIFETIME: Duration = Duration::minutes(15);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::EmailSignIn::PATH,
            get(request_form).post(request_link),
        )
        .route(paths::SignInLink::PATH, get(link_page).post(use_link))
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/email_sign_in.html")]
struct RequestPage {
    nav: Nav,
    sent: bool,
    email: String,
    errors: FieldErrors,
}

async fn request_form() -> RequestPage {
    RequestPage {
        nav: Nav::default(),
        sent: false,
        email: String::new(),
        errors: FieldErrors::default(),
    }
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    email: String,
}

/// The same answer whether or not the address has an account.
async fn request_link(
    State(state): State<AppState>,
    Form(form): Form<RequestForm>,
) -> Result<Response> {
    let (email, problem) = typed_address(&form.email);
    if let Some(errors) = problem {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            RequestPage {
                nav: Nav::default(),
                sent: false,
                email,
                errors,
            },
        )
            .into_response());
    }
    let mut tx = state.pool.begin().await?;
    // Only people who belong to a school: a leaver's old address signs in to nothing.
    // With whether a link went out in the last minute: one a minute at most, however often
    // the form is sent.
    let user = sqlx::query!(
        r#"select u.id, u.email, u.full_name,
                  (select s.name from memberships m join schools s on s.id = m.school_id
                    where m.user_id = u.id and m.status = 'active' order by s.name limit 1)
                    as "school_name!",
                  exists (select 1 from account_tokens t where t.user_id = u.id and t.purpose = 'sign_in'
                            and t.created_at > now() - interval '1 minute') as "recent!"
           from users u where lower(u.email) = lower($1)
             and exists (select 1 from memberships m where m.user_id = u.id and m.status = 'active')
           for update of u"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user) = user
        && !user.recent
    {
        let (token_id, secret) =
            issue(&mut tx, user.id, TokenPurpose::SignIn, LINK_LIFETIME).await?;
        let link = format!(
            "{}{}",
            state.settings.base_url,
            paths::SignInLink::new(&secret)
        );
        let message = SignInLink {
            first_name: mail::first_name(&user.full_name),
            school_name: &user.school_name,
            link: &link,
        }
        .render(
            &user.email,
            format!("{}: your AUP Portal sign-in link", user.school_name),
        )?;
        mail::queue(&mut tx, None, &format!("sign-in:{token_id}"), &message).await?;
        audit::record(&mut *tx, None, Some(user.id), &Event::SignInLinkRequested).await?;
    }
    tx.commit().await?;
    Ok(RequestPage {
        nav: Nav::default(),
        sent: true,
        email,
        errors: FieldErrors::default(),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in_link.html")]
struct LinkPage {
    nav: Nav,
    token: String,
}

async fn open(state: &AppState, token: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from account_tokens where token_sha256 = $1
             and purpose = 'sign_in' and used_at is null and expires_at > now()) as "open!""#,
        digest(token)
    )
    .fetch_one(&state.pool)
    .await
}

/// Opening the link uses nothing up.
async fn link_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response> {
    if !open(&state, &token).await? {
        return Ok(link_invalid());
    }
    Ok(LinkPage {
        nav: Nav::default(),
        token,
    }
    .into_response())
}

async fn use_link(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response> {
    // Claimed in one statement, with the account: of two presses, one signs in.
    let account = sqlx::query!(
        r#"with claimed as (
             update account_tokens set used_at = now()
             where token_sha256 = $1 and purpose = 'sign_in' and used_at is null and expires_at > now()
             returning user_id
           )
           select u.id as user_id, u.auth_epoch, u.totp_enabled_at is not null as "has_factor!",
                  exists (select 1 from memberships m where m.user_id = u.id and m.status = 'active'
                            and m.roles && array['sbm', 'dpo', 'head', 'admin']::text[])
                    as "needs_code!"
           from claimed join users u on u.id = claimed.user_id"#,
        digest(&token)
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(account) = account else {
        return Ok(link_invalid());
    };
    // A link proves the mailbox only: those who reach personal data still give a code.
    two_factor::after_first_step(
        &state,
        &session,
        FirstStep {
            user_id: account.user_id,
            auth_epoch: account.auth_epoch,
            has_second_factor: account.has_factor,
            second_factor_required: account.needs_code,
            first: First::EmailLink,
            school: None,
            with: None,
        },
    )
    .await
}

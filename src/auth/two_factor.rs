//! Two-factor sign-in with TOTP (authenticator apps) and single-use recovery codes. After the
//! password, a person with a second factor enters a code; a person whose roles reach personal
//! data (SBM, DPO, head, admin) in a school that requires it sets one up first.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use totp_rs::{Builder, Secret, Totp};
use tower_sessions::Session;
use uuid::Uuid;

use super::steps::Second;
pub use super::steps::{First, FirstStep};
use super::{
    factor_secrets::{open_secret, recovery_matches, secret_context},
    reauth,
    session::{self, CurrentUser, SignedIn},
    throttle,
};
use crate::audit::{Doing, Event, SignInStep, SignInWith};
use crate::paths;
use crate::{
    audit,
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

const PENDING_KEY: &str = "pending_sign_in";
const SETUP_KEY: &str = "totp_setup";
/// Minutes between the password and the code before starting again.
const PENDING_MINUTES: i64 = 5;
pub const RECOVERY_CODES: usize = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SignInCode::PATH, get(code_form).post(check_code))
        .route(
            paths::SignInTwoFactor::PATH,
            get(sign_in_setup_form).post(sign_in_finish_setup),
        )
        .route(
            paths::TwoFactor::PATH,
            get(account_setup_form).post(account_finish_setup),
        )
}

/// Between a right first step and a right code.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Pending {
    pub user_id: Uuid,
    pub auth_epoch: i32,
    pub at: i64,
    /// True when the person has no second factor yet and must set one up.
    pub must_set_up: bool,
    #[serde(default)]
    pub first: First,
    /// The one school the session will open, after a sign-in through its provider.
    #[serde(default)]
    pub school: Option<Uuid>,
}

/// After the password: straight in, or on to the code (or to setting one up).
pub async fn after_password(
    state: &AppState,
    session: &Session,
    user_id: Uuid,
    auth_epoch: i32,
    has_second_factor: bool,
    second_factor_required: bool,
) -> Result<Response> {
    after_first_step(
        state,
        session,
        FirstStep {
            user_id,
            auth_epoch,
            has_second_factor,
            second_factor_required,
            first: First::Password,
            school: None,
            with: None,
        },
    )
    .await
}

/// After the first step: straight in, or on to the code (or to setting one up).
pub async fn after_first_step(
    state: &AppState,
    session: &Session,
    step: FirstStep,
) -> Result<Response> {
    let FirstStep {
        user_id,
        auth_epoch,
        has_second_factor,
        second_factor_required,
        first,
        school,
        with,
    } = step;
    let must_set_up = !has_second_factor && second_factor_required;
    if !has_second_factor && !must_set_up {
        let with = with.unwrap_or(first.with(None));
        return complete(state, session, user_id, auth_epoch, with, school).await;
    }
    // Nothing of an earlier visitor's session carries over into this sign-in.
    session.clear().await;
    session.cycle_id().await?;
    session
        .insert(
            PENDING_KEY,
            Pending {
                user_id,
                auth_epoch,
                at: OffsetDateTime::now_utc().unix_timestamp(),
                must_set_up,
                first,
                school,
            },
        )
        .await?;
    Ok(Redirect::to(if must_set_up {
        paths::SignInTwoFactor::PATH
    } else {
        paths::SignInCode::PATH
    })
    .into_response())
}

async fn complete(
    state: &AppState,
    session: &Session,
    user_id: Uuid,
    auth_epoch: i32,
    how: SignInWith,
    school: Option<Uuid>,
) -> Result<Response> {
    // Checked again at the last step: guesses sent at once must not slip past a lock. In the
    // same statement, a good sign-in clears the failure count and the growing delay, and is
    // audited.
    let event = Event::SignIn { with: how }.row()?;
    let signed_in = sqlx::query_scalar!(
        r#"with open as (
             select id from users where id = $1 and not coalesce(locked_until > now(), false)
           ), cleared as (
             update users set failed_sign_ins = 0, failures_since = null, lockouts = 0, locked_until = null
             where id in (select id from open)
               and (failed_sign_ins <> 0 or lockouts <> 0 or locked_until is not null)
           ), event as (
             insert into audit_events (school_id, actor_user_id, action, subject, details)
             select $5, id, $2, $3, $4 from open
           )
           select exists (select 1 from open) as "open!""#,
        user_id,
        event.action,
        event.subject,
        event.details,
        school
    )
    .fetch_one(&state.pool)
    .await?;
    if !signed_in {
        session.clear().await;
        return Err(AppError::SignInRequired);
    }
    session.remove_value(PENDING_KEY).await?;
    session::sign_in(
        session,
        SignedIn {
            school,
            with: Some(how),
            ..SignedIn::new(user_id, auth_epoch, state.settings.clock.unix_now())
        },
    )
    .await?;
    Ok(Redirect::to("/").into_response())
}

async fn pending(session: &Session) -> Result<Pending> {
    let pending: Option<Pending> = session.get(PENDING_KEY).await.ok().flatten();
    match pending {
        Some(p) if OffsetDateTime::now_utc().unix_timestamp() - p.at <= PENDING_MINUTES * 60 => {
            Ok(p)
        }
        _ => Err(AppError::SignInRequired),
    }
}

/// A recovery code as stored: lower case, without the hyphen or spaces people type.
fn recovery_form(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn totp(secret_base32: &str, account: &str) -> Option<Totp> {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret_base32).ok()?)
        .with_account_name(account.to_owned())
        .with_issuer(Some("AUP Portal"))
        .build()
        .ok()
}

/// "4f7k-2mxq": easy to read out and type, 40 bits each.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut code: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    code.insert(4, '-');
    code
}

// ---- Entering a code ----

#[derive(Template, WebTemplate)]
#[template(path = "auth/code.html")]
struct CodePage {
    nav: Nav,
    errors: FieldErrors,
}

async fn code_form(session: Session) -> Result<CodePage> {
    let pending = pending(&session).await?;
    if pending.must_set_up {
        return Err(AppError::SignInRequired);
    }
    Ok(CodePage {
        nav: Nav::default(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    /// On the account page: replacing a second factor needs the password too.
    #[serde(default)]
    current: String,
}

async fn check_code(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    let pending = pending(&session).await?;
    let user = sqlx::query!(
        r#"select email, totp_secret, recovery_codes,
                  greatest(0, ceil(extract(epoch from locked_until - now()) / 60))::bigint as "locked_minutes!"
           from users where id = $1"#,
        pending.user_id
    )
    .fetch_one(&state.pool)
    .await?;
    let mut errors = FieldErrors::default();
    let code: String = form
        .code
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if user.locked_minutes > 0 {
        errors.add("code", throttle::locked_message(user.locked_minutes));
    } else if code.is_empty() {
        errors.add("code", "Enter the 6-digit code from your authenticator app");
    } else {
        let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
        let step = user
            .totp_secret
            .as_deref()
            .and_then(|sealed| open_secret(&state.settings.secret, pending.user_id, sealed))
            .and_then(|secret| totp(&secret, &user.email))
            .and_then(|t| t.check(&code, now))
            .and_then(|step| i64::try_from(step).ok());
        let mut reused = false;
        if let Some(step) = step {
            // A code works once, not again within its 30 seconds: claimed in one statement,
            // so of two requests with the same code, one wins.
            let claimed = sqlx::query!(
                "update users set totp_last_step = $2
                 where id = $1 and (totp_last_step is null or totp_last_step < $2)",
                pending.user_id,
                step
            )
            .execute(&state.pool)
            .await?;
            reused = claimed.rows_affected() == 0;
            if !reused {
                return complete(
                    &state,
                    &session,
                    pending.user_id,
                    pending.auth_epoch,
                    pending.first.with(Some(Second::Code)),
                    pending.school,
                )
                .await;
            }
        }
        // The stored code it matches, claimed in one statement: a recovery code works once.
        let matched = user
            .recovery_codes
            .iter()
            .find(|stored| recovery_matches(&state.settings.secret, &recovery_form(&code), stored));
        let used = match matched {
            Some(stored) => sqlx::query!(
                "update users set recovery_codes = array_remove(recovery_codes, $2)
                     where id = $1 and $2 = any(recovery_codes)",
                pending.user_id,
                stored
            )
            .execute(&state.pool)
            .await?
            .rows_affected(),
            None => 0,
        };
        if used == 1 {
            return complete(
                &state,
                &session,
                pending.user_id,
                pending.auth_epoch,
                pending.first.with(Some(Second::RecoveryCode)),
                pending.school,
            )
            .await;
        }
        audit::record(
            &state.pool,
            None,
            Some(pending.user_id),
            &Event::SignInFailed {
                at: Some(SignInStep::Code),
            },
        )
        .await?;
        match throttle::record_failure(&state.pool, pending.user_id).await? {
            Some(minutes) => {
                audit::record(
                    &state.pool,
                    None,
                    Some(pending.user_id),
                    &Event::AccountLocked,
                )
                .await?;
                errors.add("code", throttle::locked_message(minutes));
            }
            None if reused => errors.add(
                "code",
                "That code has just been used: wait for the next one",
            ),
            None => errors.add(
                "code",
                "The code is not right. Enter the code your app shows now, or a recovery code",
            ),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        CodePage {
            nav: Nav::default(),
            errors,
        },
    )
        .into_response())
}

// ---- Setting up a second factor ----

#[derive(Template, WebTemplate)]
#[template(path = "auth/two_factor_setup.html")]
struct SetupPage {
    nav: Nav,
    action: &'static str,
    /// True while signing in: the person cannot go further without it.
    required: bool,
    qr_svg: String,
    secret: String,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
struct RecoveryCodesPage {
    nav: Nav,
    codes: Vec<String>,
}

fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // Inline in the page: drop the XML declaration, label it for screen readers.
            let svg = svg
                .split_once("?>")
                .map_or(svg.as_str(), |(_, rest)| rest)
                .trim()
                .to_owned();
            svg.replacen(
                "<svg ",
                r#"<svg role="img" aria-label="QR code to scan with an authenticator app" "#,
                1,
            )
        }
        Err(_) => String::new(),
    }
}

/// A set-up in progress, kept in the session until the person proves their app has it.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Setup {
    user_id: Uuid,
    secret: String,
    /// When the factor the account had as the set-up began was enrolled (microseconds since
    /// the epoch), so that finishing cannot replace one enrolled in the meantime.
    replacing: Option<i64>,
}

/// The account's address (for the app's label) and when its current factor was enrolled.
struct Enrolment {
    email: String,
    enrolled: Option<i64>,
}

async fn enrolment(state: &AppState, user_id: Uuid) -> Result<Enrolment> {
    Ok(sqlx::query_as!(
        Enrolment,
        r#"select email, (extract(epoch from totp_enabled_at) * 1000000)::bigint as enrolled
           from users where id = $1"#,
        user_id
    )
    .fetch_one(&state.pool)
    .await?)
}

async fn setup_page(
    session: &Session,
    user_id: Uuid,
    enrolment: &Enrolment,
    required: bool,
    action: &'static str,
    errors: FieldErrors,
) -> Result<SetupPage> {
    // One secret per set-up, and only ever the set-up of the person now signing in.
    let kept: Option<Setup> = session.get(SETUP_KEY).await.ok().flatten();
    let secret = match kept {
        Some(setup) if setup.user_id == user_id => setup.secret,
        _ => {
            let setup = Setup {
                user_id,
                secret: Secret::generate().to_base32(),
                replacing: enrolment.enrolled,
            };
            session.insert(SETUP_KEY, &setup).await?;
            setup.secret
        }
    };
    let uri = totp(&secret, &enrolment.email)
        .and_then(|t| t.to_url().ok())
        .unwrap_or_default();
    Ok(SetupPage {
        nav: Nav::default(),
        action,
        required,
        qr_svg: qr_svg(&uri),
        secret,
        errors,
    })
}

/// Mid-sign-in: a person who must set up a second factor before going further.
/// Mid-sign-in setup is only for a person with no second factor yet: anyone else would be
/// replacing a factor with nothing but the password.
async fn pending_setup(session: &Session) -> Result<Pending> {
    let pending = pending(session).await?;
    if !pending.must_set_up {
        return Err(AppError::SignInRequired);
    }
    Ok(pending)
}

async fn sign_in_setup_form(State(state): State<AppState>, session: Session) -> Result<SetupPage> {
    let pending = pending_setup(&session).await?;
    let enrolment = enrolment(&state, pending.user_id).await?;
    setup_page(
        &session,
        pending.user_id,
        &enrolment,
        true,
        paths::SignInTwoFactor::PATH,
        FieldErrors::default(),
    )
    .await
}

async fn sign_in_finish_setup(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    let pending = pending_setup(&session).await?;
    let enrolment = enrolment(&state, pending.user_id).await?;
    let codes = match save_factor(&state, &session, pending.user_id, &enrolment, &form.code).await?
    {
        Saved::Codes(codes) => codes,
        Saved::WrongCode => {
            return retry_setup(
                &session,
                pending.user_id,
                &enrolment,
                true,
                paths::SignInTwoFactor::PATH,
                WRONG_SETUP_CODE,
            )
            .await;
        }
        // Someone else finished first: this half-done sign-in starts again, with their code.
        Saved::Raced => {
            session.clear().await;
            return Err(AppError::SignInRequired);
        }
    };
    // Signed in now, and shown the recovery codes once.
    complete(
        &state,
        &session,
        pending.user_id,
        pending.auth_epoch,
        pending.first.with(Some(Second::NewCode)),
        pending.school,
    )
    .await?;
    Ok(RecoveryCodesPage {
        nav: Nav::default(),
        codes,
    }
    .into_response())
}

/// From the account page: a signed-in person setting up (or replacing) their second factor.
async fn account_setup_form(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
) -> Result<SetupPage> {
    let enrolment = enrolment(&state, user.id).await?;
    let mut page = setup_page(
        &session,
        user.id,
        &enrolment,
        false,
        paths::TwoFactor::PATH,
        FieldErrors::default(),
    )
    .await?;
    page.nav = user.nav();
    Ok(page)
}

async fn account_finish_setup(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    let enrolment = enrolment(&state, user.id).await?;
    let action = paths::TwoFactor::PATH;
    if let Some(message) = reauth::check(&state.pool, user.id, &form.current, Doing::TwoFactor)
        .await?
        .refusal("Enter your password", "Your password is not right")
    {
        let mut errors = FieldErrors::default();
        errors.add("current", message);
        let mut page = setup_page(&session, user.id, &enrolment, false, action, errors).await?;
        page.nav = user.nav();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let codes = match save_factor(&state, &session, user.id, &enrolment, &form.code).await? {
        Saved::Codes(codes) => codes,
        Saved::WrongCode => {
            return retry_setup(
                &session,
                user.id,
                &enrolment,
                false,
                action,
                WRONG_SETUP_CODE,
            )
            .await;
        }
        Saved::Raced => {
            let enrolment = self::enrolment(&state, user.id).await?;
            return retry_setup(
                &session,
                user.id,
                &enrolment,
                false,
                action,
                "An authenticator app was set up for your account while you were doing this, so this one was not saved. If that was not you, change your password now",
            )
            .await;
        }
    };
    Ok(RecoveryCodesPage {
        nav: user.nav(),
        codes,
    }
    .into_response())
}

const WRONG_SETUP_CODE: &str = "The code is not right. Enter the 6-digit code your app shows now";

async fn retry_setup(
    session: &Session,
    user_id: Uuid,
    enrolment: &Enrolment,
    required: bool,
    action: &'static str,
    message: &str,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    errors.add("code", message);
    let page = setup_page(session, user_id, enrolment, required, action, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

enum Saved {
    /// The new recovery codes, to show once.
    Codes(Vec<String>),
    WrongCode,
    /// Another factor was enrolled since this set-up began; nothing was saved.
    Raced,
}

/// Keeps the session's new secret if `code` proves the person's app has it, unless the
/// account's factor changed since the set-up began.
async fn save_factor(
    state: &AppState,
    session: &Session,
    user_id: Uuid,
    enrolment: &Enrolment,
    code: &str,
) -> Result<Saved> {
    let setup: Option<Setup> = session.get(SETUP_KEY).await.ok().flatten();
    let Some(setup) = setup.filter(|setup| setup.user_id == user_id) else {
        return Ok(Saved::WrongCode);
    };
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = totp(&setup.secret, &enrolment.email)
        .and_then(|t| t.check(&code, now))
        .and_then(|s| i64::try_from(s).ok())
    else {
        return Ok(Saved::WrongCode);
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let key = &state.settings.secret;
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| key.mac_versioned("recovery code", recovery_form(c).as_bytes()))
        .collect();
    let saved = sqlx::query!(
        "update users set totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3, recovery_codes = $4
         where id = $1
           and (extract(epoch from totp_enabled_at) * 1000000)::bigint is not distinct from $5",
        user_id,
        key.seal(&secret_context(user_id), setup.secret.as_bytes()),
        step,
        &hashes,
        setup.replacing
    )
    .execute(&state.pool)
    .await?;
    session.remove_value(SETUP_KEY).await?;
    if saved.rows_affected() != 1 {
        return Ok(Saved::Raced);
    }
    audit::record(&state.pool, None, Some(user_id), &Event::TwoFactorEnabled).await?;
    Ok(Saved::Codes(codes))
}

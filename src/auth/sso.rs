//! Single sign-on: the school's own sign-in page, the trip to its provider and back, and
//! linking a provider account from a signed-in session. A provider account finds a person
//! by its stable key once linked, by a verified address in the school's domains the first
//! time, and never creates one. A session made this way opens its school only.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    reauth,
    session::{Admins, Member, RequireRole},
    sso_flight::{Flight, Problem, Purpose, client_settings, problem, school_by_slug},
    sso_return,
};
use crate::audit::Doing;
use crate::domain::statuses::SsoProvider;
use crate::paths;
use crate::store::sso;
use crate::{
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SchoolSignIn::PATH, get(school_sign_in))
        .route(paths::SsoStart::PATH, get(start_sign_in))
        .route(paths::SsoCallback::PATH, get(sso_return::callback))
        .route(paths::SsoLink::PATH, post(confirm_link))
        .route(paths::SsoLinkContinue::PATH, get(start_link))
        .route(paths::SsoTest::PATH, get(start_test))
        .route(paths::FindSchool::PATH, post(find_school))
}

// ---- The school's sign-in page ----

#[derive(Template, WebTemplate)]
#[template(path = "auth/school_sign_in.html")]
struct SchoolSignInPage {
    nav: Nav,
    slug: String,
    school_name: String,
    button: &'static str,
    passwords_off: bool,
    notice: Option<&'static str>,
    email: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SchoolSignInQuery {
    passwords_off: Option<String>,
}

async fn school_sign_in(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<SchoolSignInQuery>,
) -> Result<SchoolSignInPage> {
    let school = school_by_slug(&state, &slug).await?;
    // Only a school that signs in its own way has a page of its own: others are not confirmed
    // to exist.
    let sso = sso::for_school(&state.pool, school.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(SchoolSignInPage {
        nav: Nav::default(),
        notice: query.passwords_off.is_some().then_some(
            "This school no longer signs in with passwords. Use your school account, or ask for a sign-in link by email.",
        ),
        passwords_off: school.passwords_off,
        slug: school.slug,
        school_name: school.name,
        button: sso.provider.button(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

// ---- Finding one's school by the address's domain ----

#[derive(Template, WebTemplate)]
#[template(path = "auth/find_school.html")]
struct FindSchoolPage {
    nav: Nav,
    work_email: String,
    schools: Vec<sso::SchoolChoice>,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct FindSchoolForm {
    #[serde(default)]
    work_email: String,
}

async fn find_school(
    State(state): State<AppState>,
    Form(form): Form<FindSchoolForm>,
) -> Result<Response> {
    let work_email = crate::input::normalise(&form.work_email);
    let mut errors = FieldErrors::default();
    let domain = work_email
        .rsplit_once('@')
        .map(|(local, domain)| (local, domain.trim().to_lowercase()))
        .filter(|(local, domain)| !local.is_empty() && domain.contains('.'))
        .map(|(_, domain)| domain);
    let schools = match &domain {
        None if work_email.is_empty() => {
            errors.add("work_email", "Enter your work email address");
            vec![]
        }
        None => {
            errors.add(
                "work_email",
                "Enter your work email address in the right format, like name@school.sch.uk",
            );
            vec![]
        }
        Some(domain) => sso::schools_for_domain(&state.pool, domain).await?,
    };
    if let (Some(domain), true) = (&domain, schools.is_empty() && errors.is_empty()) {
        errors.add(
            "work_email",
            format!(
                "No school signs in with addresses ending @{domain} yet. Sign in with your email address and password instead"
            ),
        );
    }
    if let [only] = schools.as_slice() {
        return Ok(Redirect::to(&paths::SchoolSignIn::new(&only.slug).to_string()).into_response());
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        FindSchoolPage {
            nav: Nav::default(),
            work_email,
            schools,
            errors,
        },
    )
        .into_response())
}

// ---- Going to the provider ----

/// Sends the person to the school's provider, remembering why.
async fn fly(
    state: &AppState,
    school_id: Uuid,
    slug: &str,
    purpose: Purpose,
    sso: Option<sso::SchoolSso>,
) -> Result<Response> {
    let sso = match sso {
        Some(sso) => sso,
        None => sso::for_school(&state.pool, school_id)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    let settings = client_settings(state, school_id, &sso)?;
    let started = match state.providers.start(&settings, &[]).await {
        Ok(started) => started,
        Err(err) => return Ok(problem(slug, Problem::Provider(err)).into_response()),
    };
    let (url, started) = started;
    let flight = Flight {
        school_id,
        slug: slug.to_owned(),
        purpose,
        started,
        at: state.settings.clock.unix_now(),
    };
    let mut response = Redirect::to(url.as_str()).into_response();
    response
        .headers_mut()
        .append(axum::http::header::SET_COOKIE, flight.cookie(state)?);
    Ok(response)
}

async fn start_sign_in(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> Result<Response> {
    let (school_id, sso) = sso::by_slug(&state.pool, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let sso = sso.ok_or(AppError::NotFound)?;
    fly(&state, school_id, &slug, Purpose::SignIn, Some(sso)).await
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    password: String,
}

/// Linking, past the password: kept in the session for a few minutes, for the next step.
#[derive(Serialize, Deserialize)]
struct LinkReady {
    school_id: Uuid,
    user_id: Uuid,
    at: i64,
}

const LINK_READY_KEY: &str = "sso_link_ready";

#[derive(Template, WebTemplate)]
#[template(path = "auth/sso_link_continue.html")]
struct LinkContinuePage {
    nav: Nav,
    slug: String,
    provider: SsoProvider,
}

/// The password first. The trip to the provider then starts from a link on the page this
/// answers with: a form may not lead to another site (the pages' `form-action 'self'`).
async fn confirm_link(
    State(state): State<AppState>,
    session: Session,
    member: Member,
    Form(form): Form<LinkForm>,
) -> Result<Response> {
    // Someone at an unlocked screen must not tie their own provider account to this one.
    let refusal = reauth::check(
        &state.pool,
        member.user.id,
        &form.password,
        Doing::LinkAccount,
    )
    .await?
    .refusal(
        "Enter your password to link your school account",
        "Your password is not right",
    );
    if let Some(message) = refusal {
        return super::account::with_link_error(&state, &member.user, &member.school.slug, message)
            .await;
    }
    let Some(sso) = sso::for_school(&state.pool, member.school.id).await? else {
        return Err(AppError::NotFound);
    };
    session
        .insert(
            LINK_READY_KEY,
            LinkReady {
                school_id: member.school.id,
                user_id: member.user.id,
                at: state.settings.clock.unix_now(),
            },
        )
        .await?;
    Ok(LinkContinuePage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        provider: sso.provider,
    }
    .into_response())
}

/// On to the provider, if the password was given in this session in the last few minutes.
async fn start_link(
    State(state): State<AppState>,
    session: Session,
    member: Member,
) -> Result<Response> {
    let ready: Option<LinkReady> = session.remove(LINK_READY_KEY).await.ok().flatten();
    let now = state.settings.clock.unix_now();
    if !ready.is_some_and(|r| {
        r.school_id == member.school.id && r.user_id == member.user.id && now - r.at <= 5 * 60
    }) {
        return Ok(Redirect::to(paths::Account::PATH).into_response());
    }
    let purpose = Purpose::Link {
        user_id: member.user.id,
    };
    fly(&state, member.school.id, &member.school.slug, purpose, None).await
}

async fn start_test(State(state): State<AppState>, admin: RequireRole<Admins>) -> Result<Response> {
    let purpose = Purpose::Test {
        user_id: admin.user.id,
    };
    fly(&state, admin.school.id, &admin.school.slug, purpose, None).await
}

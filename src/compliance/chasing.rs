//! Chasing: reminding the people who have not signed a version, at most once a day each,
//! however often the button is pressed.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::dashboard::{self, DashboardQuery, Published, published};
use super::outstanding::{Filter, PLACE};
use super::signers::{Signer, signers};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{Member, PeopleManagers, RequireRole},
    clock,
    error::{AppError, Result},
    mail::OutgoingEmail,
    page::{FieldErrors, Nav},
    pagination::{Requested, kept},
    state::AppState,
    store::reminders::{self, Owed, SentBy},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::CheckReminders::PATH, post(check))
        .route(paths::RemindSelected::PATH, post(remind_selected))
        .route(paths::RemindAll::PATH, post(remind_all))
        .route(paths::RemindOne::PATH, post(remind_one))
}

/// What a reminder is about, as the store queues it.
fn owed(version: &Published) -> Owed<'_> {
    Owed {
        version_id: version.id,
        policy_name: &version.policy_name,
        label: &version.label,
        published_on: clock::uk(version.published_at).date(),
        sign_by: version.sign_by,
        overdue: version.sign_by.is_some_and(|date| date < clock::today_uk()),
    }
}

/// Reminds each outstanding person among `who` who has not been reminded today.
/// Returns (reminded, skipped).
pub async fn chase(
    state: &AppState,
    member: &Member,
    version: &Published,
    who: &[Signer],
) -> Result<(usize, usize)> {
    let today = clock::today_uk();
    let mut tx = state.pool.begin().await?;
    let mut reminded = 0;
    let mut skipped = 0;
    for person in who.iter().filter(|s| s.signed_at.is_none()) {
        let already = sqlx::query_scalar!(
            r#"select exists (select 1 from reminders where membership_id = $1 and version_id = $2
                 and (reminded_at at time zone 'Europe/London')::date = $3) as "already!""#,
            person.membership_id,
            version.id,
            today
        )
        .fetch_one(&mut *tx)
        .await?;
        if already {
            skipped += 1;
            continue;
        }
        let queued = reminders::queue(
            &mut tx,
            &state.settings.base_url,
            member.school.id,
            person.membership_id,
            &owed(version),
            &format!("chase:{}:{}:{today}", version.id, person.membership_id),
            SentBy::Chase(member.user.id),
        )
        .await?;
        if queued {
            reminded += 1;
        } else {
            skipped += 1;
        }
    }
    audit::record(
        &mut *tx,
        Some(member.school.id),
        Some(member.user.id),
        &Event::SignersChased {
            version_id: version.id,
            reminded,
            skipped,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((reminded, skipped))
}

/// Back to the dashboard where the SBM was (its filters and page), saying what was done.
fn back(slug: &str, version_id: Uuid, raw: Option<&str>, done: (usize, usize)) -> Redirect {
    let mut place = kept(raw, &PLACE);
    if !place.is_empty() {
        place.push('&');
    }
    Redirect::to(&format!(
        "{}?{place}reminded={}&skipped={}",
        paths::Dashboard::new(slug, version_id),
        done.0,
        done.1
    ))
}

/// Everyone outstanding, or, while the dashboard's filters are on, everyone outstanding who
/// matches them.
async fn remind_all(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    RawQuery(raw): RawQuery,
) -> Result<Redirect> {
    let version = published(&state.pool, manager.school.id, version_id).await?;
    let filter = Filter::from_query(raw.as_deref());
    let people: Vec<Signer> = signers(&state.pool, manager.school.id, version.id)
        .await?
        .into_iter()
        .filter(|s| filter.matches(s))
        .collect();
    let done = chase(&state, &manager, &version, &people).await?;
    Ok(back(&manager.school.slug, version_id, raw.as_deref(), done))
}

async fn remind_one(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, version_id, membership_id)): Path<(String, Uuid, Uuid)>,
    RawQuery(raw): RawQuery,
) -> Result<Redirect> {
    let version = published(&state.pool, manager.school.id, version_id).await?;
    let people = signers(&state.pool, manager.school.id, version.id).await?;
    let person: Vec<Signer> = people
        .into_iter()
        .filter(|s| s.membership_id == membership_id)
        .collect();
    if person.is_empty() {
        return Err(AppError::NotFound);
    }
    let done = chase(&state, &manager, &version, &person).await?;
    Ok(back(&manager.school.slug, version_id, raw.as_deref(), done))
}

/// The people ticked on the dashboard, or everyone outstanding (`scope` "all").
#[derive(Deserialize, Default)]
struct Choice {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    who: Vec<Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/remind_check.html")]
struct CheckPage {
    nav: Nav,
    slug: String,
    version: Published,
    everyone: bool,
    /// Those who get a reminder now, in surname order.
    to_remind: Vec<Signer>,
    /// Those chosen who have had one today, so get none.
    again: usize,
    /// The first person's email, as they will read it.
    email: Option<OutgoingEmail>,
    mail_waits: bool,
    /// The dashboard's filters, which "everyone" means everyone matching.
    filter: Filter,
    /// The filters and page, carried to the reminders and back to the dashboard.
    place: String,
}

/// The check page before reminders go: how many, to whom, and the email's words. It
/// changes nothing; its button does.
async fn check(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    RawQuery(raw): RawQuery,
    Form(choice): Form<Choice>,
) -> Result<Response> {
    let version = published(&state.pool, manager.school.id, version_id).await?;
    let everyone = choice.scope == "all";
    let filter = Filter::from_query(raw.as_deref());
    let chosen: Vec<Signer> = signers(&state.pool, manager.school.id, version.id)
        .await?
        .into_iter()
        .filter(|s| {
            s.signed_at.is_none()
                && if everyone {
                    filter.matches(s)
                } else {
                    choice.who.contains(&s.membership_id)
                }
        })
        .collect();
    if !everyone && chosen.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("who", "Select the people to remind");
        let page = dashboard::page(
            &state,
            &manager,
            version_id,
            Requested::from_query(raw.as_deref()),
            &filter,
            DashboardQuery::default(),
            errors,
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let today = clock::today_uk();
    let (again, to_remind): (Vec<Signer>, Vec<Signer>) = chosen.into_iter().partition(|s| {
        s.last_reminded
            .is_some_and(|at| clock::uk(at).date() == today)
    });
    let email = match to_remind.first() {
        Some(first) => {
            let mut db = state.pool.acquire().await?;
            reminders::preview(
                &mut db,
                &state.settings.base_url,
                manager.school.id,
                first.membership_id,
                &owed(&version),
            )
            .await?
        }
        None => None,
    };
    Ok(CheckPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        everyone,
        again: again.len(),
        to_remind,
        email,
        mail_waits: manager.mail_waits,
        version,
        filter,
        place: match kept(raw.as_deref(), &PLACE) {
            place if place.is_empty() => place,
            place => format!("?{place}"),
        },
    }
    .into_response())
}

/// Reminds the people confirmed on the check page.
async fn remind_selected(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    RawQuery(raw): RawQuery,
    Form(choice): Form<Choice>,
) -> Result<Redirect> {
    let version = published(&state.pool, manager.school.id, version_id).await?;
    let chosen: Vec<Signer> = signers(&state.pool, manager.school.id, version.id)
        .await?
        .into_iter()
        .filter(|s| choice.who.contains(&s.membership_id))
        .collect();
    let done = chase(&state, &manager, &version, &chosen).await?;
    Ok(back(&manager.school.slug, version_id, raw.as_deref(), done))
}

//! Marking a person as left: a page of its own that asks for the leaving date (required, and
//! kept: retention runs from it), then the change, audited with the date. People ticked on
//! the people list leave together, from a check page that names them and asks the same.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, Query, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::{
    people::{self, ListQuery},
    person_records::{Person, load_person},
    roles::outranks,
};
use crate::audit::{self, Event};
use crate::paths;
use crate::{
    auth::session::{PeopleManagers, RequireRole},
    clock,
    domain::{dates::DateParts, roles::Role, statuses::MembershipStatus},
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::Leave::PATH, get(leave_form).post(leave))
        .route(paths::LeaveSelected::PATH, post(check_selected))
        .route(paths::ConfirmLeaveSelected::PATH, post(leave_selected))
}

#[derive(Deserialize, Default)]
pub(super) struct LeaveForm {
    /// The people ticked on the people list, when several leave at once.
    #[serde(default)]
    who: Vec<Uuid>,
    #[serde(default)]
    left_on_day: String,
    #[serde(default)]
    left_on_month: String,
    #[serde(default)]
    left_on_year: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/leave.html")]
pub(super) struct LeavePage {
    nav: Nav,
    slug: String,
    membership_id: Uuid,
    full_name: String,
    form: LeaveForm,
    errors: FieldErrors,
}

impl LeavePage {
    fn new(
        manager: &RequireRole<PeopleManagers>,
        person: Person,
        form: LeaveForm,
        errors: FieldErrors,
    ) -> Self {
        LeavePage {
            nav: manager.nav(),
            slug: manager.school.slug.clone(),
            membership_id: person.membership_id,
            full_name: person.full_name,
            form,
            errors,
        }
    }
}

/// The person, if this manager may mark them as left.
async fn leaver(
    state: &AppState,
    manager: &RequireRole<PeopleManagers>,
    membership_id: Uuid,
) -> Result<Person> {
    let person = load_person(&state.pool, manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if outranks(manager, &person.roles) {
        return Err(AppError::Forbidden);
    }
    Ok(person)
}

/// The check page: who, what leaving means, and the date.
async fn leave_form(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Response> {
    let person = leaver(&state, &manager, membership_id).await?;
    if person.status != MembershipStatus::Active {
        return Ok(Redirect::to(
            &paths::Person::new(&manager.school.slug, membership_id).to_string(),
        )
        .into_response());
    }
    Ok(LeavePage::new(
        &manager,
        person,
        LeaveForm::default(),
        FieldErrors::default(),
    )
    .into_response())
}

/// The leaving date as typed, or why it cannot be one: it is required, and it is today or
/// in the past (a leaver is marked when they have gone).
fn leaving_date(form: &LeaveForm, today: Date) -> std::result::Result<Date, String> {
    let parts = DateParts {
        day: &form.left_on_day,
        month: &form.left_on_month,
        year: &form.left_on_year,
    };
    let date = parts.date("the leaving date")?;
    if date > today {
        return Err("The leaving date must be today or in the past".to_owned());
    }
    Ok(date)
}

async fn leave(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Form(form): Form<LeaveForm>,
) -> Result<Response> {
    let person = leaver(&state, &manager, membership_id).await?;
    // Only an active member leaves: an offer not yet accepted, or someone gone already, is
    // not found here, whatever the date.
    if person.status != MembershipStatus::Active {
        return Err(AppError::NotFound);
    }
    let left_on = match leaving_date(&form, clock::today_uk()) {
        Ok(date) => date,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("left_on", message);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                LeavePage::new(&manager, person, form, errors),
            )
                .into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    if !crate::store::memberships::mark_left(
        &mut tx,
        manager.school.id,
        person.membership_id,
        left_on,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::PersonLeft {
            membership_id,
            left_on: Some(left_on.to_string()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?left=1",
        paths::Person::new(&manager.school.slug, membership_id)
    ))
    .into_response())
}

/// One of the people ticked, if the manager may mark them as left.
struct Leaver {
    membership_id: Uuid,
    full_name: String,
    email: String,
}

/// Of the memberships ticked, those the manager may mark as left: active, not the manager,
/// and with no role the manager cannot give. In surname order.
async fn leavers(
    state: &AppState,
    manager: &RequireRole<PeopleManagers>,
    ticked: &[Uuid],
) -> Result<Vec<Leaver>> {
    let rows = sqlx::query!(
        r#"select m.id, u.full_name, u.email, m.roles as "roles: Vec<Role>"
           from memberships m join users u on u.id = m.user_id
           where m.school_id = $1 and m.id = any($2) and m.status = 'active' and m.id <> $3
           order by lower(u.surname), lower(u.full_name), u.email"#,
        manager.school.id,
        ticked,
        manager.membership_id
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| !outranks(manager, &row.roles))
        .map(|row| Leaver {
            membership_id: row.id,
            full_name: row.full_name,
            email: row.email,
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/leave_selected.html")]
pub(super) struct LeaveSelectedPage {
    nav: Nav,
    slug: String,
    leavers: Vec<Leaver>,
    /// Those ticked who cannot be marked as left here.
    refused: usize,
    form: LeaveForm,
    errors: FieldErrors,
}

/// The check page for the people ticked on the list: who, what leaving means, and the date.
/// It changes nothing; its button does.
async fn check_selected(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    RawQuery(raw): RawQuery,
    Query(query): Query<ListQuery>,
    Form(form): Form<LeaveForm>,
) -> Result<Response> {
    let leavers = leavers(&state, &manager, &form.who).await?;
    if leavers.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("who", "Select the people who have left");
        let page = people::list_page(&state, &manager, raw, query, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    Ok(LeaveSelectedPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        refused: form.who.len().saturating_sub(leavers.len()),
        leavers,
        form: LeaveForm {
            who: form.who,
            ..LeaveForm::default()
        },
        errors: FieldErrors::default(),
    }
    .into_response())
}

/// Marks the people confirmed on the check page as left, each audited with the date.
async fn leave_selected(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Form(form): Form<LeaveForm>,
) -> Result<Response> {
    let leavers = leavers(&state, &manager, &form.who).await?;
    if leavers.is_empty() {
        return Err(AppError::NotFound);
    }
    let left_on = match leaving_date(&form, clock::today_uk()) {
        Ok(date) => date,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("left_on", message);
            let page = LeaveSelectedPage {
                nav: manager.nav(),
                slug: manager.school.slug.clone(),
                refused: form.who.len().saturating_sub(leavers.len()),
                leavers,
                form,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    let mut marked = 0;
    for leaver in &leavers {
        if !crate::store::memberships::mark_left(
            &mut tx,
            manager.school.id,
            leaver.membership_id,
            left_on,
        )
        .await?
        {
            continue;
        }
        audit::record(
            &mut *tx,
            Some(manager.school.id),
            Some(manager.user.id),
            &Event::PersonLeft {
                membership_id: leaver.membership_id,
                left_on: Some(left_on.to_string()),
            },
        )
        .await?;
        marked += 1;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?marked_left={marked}",
        paths::People::new(&manager.school.slug)
    ))
    .into_response())
}

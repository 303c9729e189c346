//! Marking a person as left: a page of its own that asks for the leaving date (required, and
//! kept: retention runs from it), then the change, audited with the date.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::{
    person_records::{Person, load_person},
    roles::outranks,
};
use crate::audit::{self, Event};
use crate::paths;
use crate::{
    auth::session::{PeopleManagers, RequireRole},
    clock,
    domain::{dates::DateParts, statuses::MembershipStatus},
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

#[derive(Deserialize, Default)]
pub(super) struct LeaveForm {
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
pub(super) async fn leave_form(
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

pub(super) async fn leave(
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

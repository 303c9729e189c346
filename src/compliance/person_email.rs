//! An admin changes a person's email address: the only way, besides the person themselves,
//! to move an activated account to a new address. The admin re-enters their own password,
//! the old address is told, and the person's sessions and links end.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::person_records::{Person, load_person};
use crate::paths;
use crate::{
    auth::{
        reauth,
        session::{Admins, RequireRole},
    },
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
    web::AttemptLimit,
};
use crate::{
    domain::statuses::EmailChangeHow,
    store::email_changes::{self, ManagerChange, TAKEN},
};

pub fn router(limit: AttemptLimit) -> Router<AppState> {
    Router::new()
        .route(paths::PersonEmail::PATH, get(form_page).post(change))
        .route_layer(limit)
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/person_email.html")]
struct PersonEmailPage {
    nav: Nav,
    slug: String,
    person: Person,
    email: String,
    errors: FieldErrors,
}

fn page(
    admin: &RequireRole<Admins>,
    person: Person,
    email: String,
    errors: FieldErrors,
) -> PersonEmailPage {
    PersonEmailPage {
        nav: admin.nav(),
        slug: admin.school.slug.clone(),
        person,
        email,
        errors,
    }
}

async fn form_page(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<PersonEmailPage> {
    let person = load_person(&state.pool, &admin, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(page(&admin, person, String::new(), FieldErrors::default()))
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn change(
    State(state): State<AppState>,
    admin: RequireRole<Admins>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Form(form): Form<EmailForm>,
) -> Result<Response> {
    let person = load_person(&state.pool, &admin, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let email = form.email.trim().to_owned();
    let mut tx = state.pool.begin().await?;
    let account = email_changes::account(&mut tx, person.user_id).await?;
    let mut errors = FieldErrors::default();
    if person.membership_id == admin.membership_id {
        errors.add(
            "email",
            "Change your own email address from your account page",
        );
    } else if account.schools > 1 {
        errors.add(
            "email",
            "This person also belongs to another school, so only they can change their email address",
        );
    } else if let Err(message) = crate::mail::address::check(&email) {
        errors.add("email", message);
    } else if email == person.email {
        errors.add("email", "This is already their email address");
    }
    if errors.is_empty()
        && let Some(message) = reauth::check(
            &state.pool,
            admin.user.id,
            &form.password,
            crate::audit::Doing::Email,
        )
        .await?
        .refusal("Enter your password", "Your password is not right")
    {
        errors.add("password", message);
    }
    if errors.is_empty() {
        let changed = email_changes::change_by_manager(
            &mut tx,
            &ManagerChange {
                user_id: person.user_id,
                new_email: &email,
                // A person who never activated is sent their invitation again, at the new address.
                how: if account.correctable() {
                    EmailChangeHow::Correction
                } else {
                    EmailChangeHow::Admin
                },
                actor: admin.user.id,
                actor_name: &admin.user.full_name,
                school_id: admin.school.id,
                school_name: &admin.school.name,
                membership_id,
            },
            &state.settings.base_url,
        )
        .await?;
        match changed {
            email_changes::Switched::Made(_) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "{}?email_changed=1",
                    paths::Person::new(&admin.school.slug, membership_id)
                ))
                .into_response());
            }
            email_changes::Switched::Taken => errors.add("email", TAKEN),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        page(&admin, person, email, errors),
    )
        .into_response())
}

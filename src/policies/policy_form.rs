//! Creating a policy and choosing who must sign it.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::shared::{Editor, load_policy};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    db::unique_violation,
    domain::groups::Group,
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
};

#[derive(Template, WebTemplate)]
#[template(path = "policies/policy_form.html")]
pub(super) struct PolicyFormPage {
    nav: Nav,
    slug: String,
    /// None when creating a policy.
    policy_id: Option<Uuid>,
    name: String,
    audience: Vec<String>,
    errors: FieldErrors,
}

impl PolicyFormPage {
    fn groups(&self) -> Vec<(&'static str, String, bool)> {
        Group::ALL
            .into_iter()
            .map(|group| {
                let key = group.as_str();
                (
                    key,
                    group.to_string(),
                    self.audience.iter().any(|g| g == key),
                )
            })
            .collect()
    }
}

#[derive(Deserialize)]
pub(super) struct PolicyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    audience: Vec<String>,
}

fn check_audience(audience: &[String], errors: &mut FieldErrors) -> Vec<Group> {
    let chosen: Vec<Group> = Group::ALL
        .into_iter()
        .filter(|group| audience.iter().any(|g| g == group.as_str()))
        .collect();
    if chosen.is_empty() {
        errors.add("audience-staff", "Select who must sign this policy");
    }
    chosen
}

pub(super) async fn new_policy_form(editor: Editor) -> PolicyFormPage {
    PolicyFormPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: None,
        name: String::new(),
        audience: vec![Group::Staff.as_str().to_owned()],
        errors: FieldErrors::default(),
    }
}

pub(super) async fn create_policy(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<PolicyForm>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let name = crate::input::normalise(&form.name);
    if name.is_empty() {
        errors.add("name", "Enter the policy's name");
    } else if let Some(message) = crate::input::check("The policy's name", &name, false) {
        errors.add("name", message);
    } else if name.chars().count() > 200 {
        errors.add("name", "The policy's name must be 200 characters or fewer");
    }
    let audience = check_audience(&form.audience, &mut errors);
    if errors.is_empty() {
        let mut tx = state.pool.begin().await?;
        let created = sqlx::query_scalar!(
            "insert into policies (school_id, name, audience) values ($1, $2, $3) returning id",
            editor.school.id,
            name,
            &audience as &[Group]
        )
        .fetch_one(&mut *tx)
        .await;
        match created {
            Ok(policy_id) => {
                audit::record(
                    &mut *tx,
                    Some(editor.school.id),
                    Some(editor.user.id),
                    &Event::PolicyCreated {
                        policy_name: name.clone(),
                        policy_id,
                    },
                )
                .await?;
                tx.commit().await?;
                return Ok(Redirect::to(
                    &paths::Policy::new(&editor.school.slug, policy_id).to_string(),
                )
                .into_response());
            }
            Err(err) if unique_violation(&err).as_deref() == Some("policies_school_name_key") => {
                errors.add("name", "There is already a policy with this name");
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        PolicyFormPage {
            nav: editor.nav(),
            slug: editor.school.slug.clone(),
            policy_id: None,
            name,
            audience: form.audience,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn audience_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
) -> Result<PolicyFormPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    Ok(PolicyFormPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: Some(policy.id),
        name: policy.name,
        audience: policy
            .audience
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        errors: FieldErrors::default(),
    })
}

pub(super) async fn change_audience(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Form(form): Form<PolicyForm>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let policy = load_policy(&mut tx, editor.school.id, policy_id).await?;
    let mut errors = FieldErrors::default();
    let audience = check_audience(&form.audience, &mut errors);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            PolicyFormPage {
                nav: editor.nav(),
                slug: editor.school.slug.clone(),
                policy_id: Some(policy.id),
                name: policy.name,
                audience: form.audience,
                errors,
            },
        )
            .into_response());
    }
    sqlx::query!(
        "update policies set audience = $3 where id = $1 and school_id = $2",
        policy.id,
        editor.school.id,
        &audience as &[Group]
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        &Event::AudienceChanged {
            policy_name: policy.name.clone(),
            policy_id: policy.id,
            audience,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(
        Redirect::to(&paths::Policy::new(&editor.school.slug, policy.id).to_string())
            .into_response(),
    )
}

//! The date a published version should be signed by, set after publishing or moved. It lives
//! beside the version, which never changes, and is not part of its content hash.

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

use super::{publish::SIGN_BY, publish_page::sign_by_date, shared::Editor};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit, clock,
    domain::{dates::DateBoxes, render},
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

/// The published version whose date is set here.
struct Version {
    id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
    sign_by: Option<Date>,
}

async fn published(state: &AppState, editor: &Editor, version_id: Uuid) -> Result<Version> {
    sqlx::query_as!(
        Version,
        r#"select v.id, v.policy_id, p.name as policy_name, v.label, d.sign_by as "sign_by?"
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           left join sign_by_dates d on d.version_id = v.id
           where v.id = $1 and v.school_id = $2 and v.status = 'published'"#,
        version_id,
        editor.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/sign_by.html")]
pub(super) struct SignByPage {
    nav: Nav,
    slug: String,
    version: Version,
    sign_by: DateBoxes,
    errors: FieldErrors,
}

impl SignByPage {
    fn current(&self) -> Option<String> {
        self.version.sign_by.map(render::long_date)
    }
}

pub(super) async fn sign_by_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<SignByPage> {
    let version = published(&state, &editor, version_id).await?;
    Ok(SignByPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        sign_by: DateBoxes::of(version.sign_by),
        version,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub(super) struct SignByForm {
    #[serde(default)]
    sign_by_day: String,
    #[serde(default)]
    sign_by_month: String,
    #[serde(default)]
    sign_by_year: String,
}

pub(super) async fn save(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    Form(form): Form<SignByForm>,
) -> Result<Response> {
    let version = published(&state, &editor, version_id).await?;
    let boxes = DateBoxes::typed(&form.sign_by_day, &form.sign_by_month, &form.sign_by_year);
    let typed = sign_by_date(&boxes, clock::today_uk())
        .and_then(|date| date.ok_or_else(|| "Enter the date to sign by".to_owned()));
    let date = match typed {
        Ok(date) => date,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add(SIGN_BY, message);
            let page = SignByPage {
                nav: editor.nav(),
                slug: editor.school.slug.clone(),
                version,
                sign_by: boxes,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    let previous = sqlx::query_scalar!(
        "select sign_by from sign_by_dates where version_id = $1 and school_id = $2 for update",
        version.id,
        editor.school.id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if previous != Some(date) {
        sqlx::query!(
            "insert into sign_by_dates (version_id, school_id, sign_by, set_by) values ($1, $2, $3, $4)
             on conflict (version_id) do update
             set sign_by = excluded.sign_by, set_by = excluded.set_by, set_at = now()",
            version.id,
            editor.school.id,
            date,
            editor.user.id
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            Some(editor.school.id),
            Some(editor.user.id),
            &Event::SignByDateSet {
                policy_name: version.policy_name.clone(),
                policy_id: version.policy_id,
                version_id: version.id,
                label: version.label.clone(),
                sign_by: date.to_string(),
                previous: previous.map(|d| d.to_string()),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?sign_by={date}",
        paths::Policy::new(&editor.school.slug, version.policy_id)
    ))
    .into_response())
}

//! Publishing a draft, after a page that checks it first.

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
    publish::{self, Problem, PublishError, SIGN_BY, SIGN_BY_IN_FUTURE},
    shared::{Editor, load_draft, urlencode},
};
use crate::paths;
use crate::{
    clock,
    domain::dates::DateBoxes,
    domain::groups::audience_text,
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
    store::versions::load,
};

#[derive(Template, WebTemplate)]
#[template(path = "policies/publish.html")]
pub(super) struct PublishPage {
    nav: Nav,
    slug: String,
    version_id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
    /// The content confirmed on this page: publishing refuses anything else.
    content_sha256: String,
    current_label: Option<String>,
    audience: String,
    total: i64,
    by_group: Vec<(String, i64)>,
    /// What stops the draft being published, each fixed in the draft.
    problems: Vec<Problem>,
    /// The date to sign by, as typed, and what is wrong with it.
    sign_by: DateBoxes,
    errors: FieldErrors,
    /// False when no statement to tick asks people to agree: the page prompts for one.
    asks_agreement: bool,
}

pub(super) async fn publish_page(
    state: &AppState,
    editor: &Editor,
    version_id: Uuid,
    problems: Option<Vec<Problem>>,
    sign_by: DateBoxes,
    errors: FieldErrors,
) -> Result<PublishPage> {
    let mut conn = state.pool.acquire().await?;
    let version = load_draft(&mut conn, editor, version_id).await?;
    let counts = publish::audience_counts(&mut conn, editor.school.id, version.id).await?;
    let current_label = sqlx::query_scalar!(
        "select label from policy_versions where policy_id = $1 and status = 'published'",
        version.policy_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(PublishPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        version_id: version.id,
        policy_id: version.policy_id,
        problems: problems.unwrap_or_else(|| publish::problems(&version, clock::today_uk())),
        content_sha256: version.content.sha256(),
        policy_name: version.policy_name.clone(),
        label: version.content.label.clone(),
        current_label,
        audience: audience_text(&version.audience),
        total: counts.iter().map(|(_, n)| n).sum(),
        by_group: counts
            .into_iter()
            .map(|(g, n)| (g.to_string(), n))
            .collect(),
        sign_by,
        errors,
        asks_agreement: version.content.asks_agreement(),
    })
}

pub(super) async fn publish_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<PublishPage> {
    publish_page(
        &state,
        &editor,
        version_id,
        None,
        DateBoxes::default(),
        FieldErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct PublishForm {
    #[serde(default)]
    content_sha256: String,
    #[serde(default)]
    sign_by_day: String,
    #[serde(default)]
    sign_by_month: String,
    #[serde(default)]
    sign_by_year: String,
}

/// The date to sign by as typed: none, a date after `today`, or the message for the field.
pub(super) fn sign_by_date(
    boxes: &DateBoxes,
    today: Date,
) -> std::result::Result<Option<Date>, String> {
    match boxes.optional("the date to sign by")? {
        Some(date) if date <= today => Err(SIGN_BY_IN_FUTURE.to_owned()),
        date => Ok(date),
    }
}

pub(super) async fn publish(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    Form(form): Form<PublishForm>,
) -> Result<Response> {
    let today = clock::today_uk();
    let boxes = DateBoxes::typed(&form.sign_by_day, &form.sign_by_month, &form.sign_by_year);
    let sign_by = match sign_by_date(&boxes, today) {
        Ok(date) => date,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add(SIGN_BY, message);
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                publish_page(&state, &editor, version_id, None, boxes, errors).await?,
            )
                .into_response());
        }
    };
    let outcome = publish::publish(
        &state.pool,
        editor.school.id,
        version_id,
        publish::Request {
            confirmed_sha256: Some(&form.content_sha256),
            sign_by,
            publisher: Some(editor.user.id),
        },
        &state.settings.base_url,
        today,
    )
    .await;
    let mut conn = state.pool.acquire().await?;
    let version = load(&mut conn, editor.school.id, version_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let policy_page = paths::Policy::new(&editor.school.slug, version.policy_id).to_string();
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!(
            "{policy_page}?published={}&notified={}",
            urlencode(&done.label),
            done.notified
        ))
        .into_response()),
        // Published a moment ago, by this person's other click or a colleague.
        Err(PublishError::NotReady(_)) if !version.is_draft() => {
            Ok(Redirect::to(&policy_page).into_response())
        }
        Err(PublishError::NotReady(problems)) => {
            // The date to sign by is this page's own field; the rest are fixed in the draft.
            let mut errors = FieldErrors::default();
            let (own, draft): (Vec<Problem>, Vec<Problem>) =
                problems.into_iter().partition(|p| p.field == SIGN_BY);
            for problem in own {
                errors.add(problem.field, problem.message);
            }
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                publish_page(&state, &editor, version_id, Some(draft), boxes, errors).await?,
            )
                .into_response())
        }
        Err(PublishError::NotFound) => Err(AppError::NotFound),
        Err(PublishError::Sqlx(err)) => Err(err.into()),
        Err(PublishError::Render(err)) => Err(err.into()),
    }
}

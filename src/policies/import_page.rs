//! Importing the pasted text of a Word AUP as a draft.

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

use super::{
    import,
    shared::{Editor, MAX_BODY, load_policy, lock_policy},
};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit, clock,
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
    store::versions::{NewDraft, insert_draft},
};

#[derive(Template, WebTemplate)]
#[template(path = "policies/import.html")]
pub(super) struct ImportPage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    text: String,
    errors: FieldErrors,
}

pub(super) async fn import_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
) -> Result<ImportPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    Ok(ImportPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: policy.id,
        policy_name: policy.name,
        text: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub(super) struct ImportForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn import(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Form(form): Form<ImportForm>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let policy = lock_policy(&mut tx, editor.school.id, policy_id).await?;
    let mut errors = FieldErrors::default();
    if form.text.trim().is_empty() {
        errors.add("text", "Paste the text of the policy");
    } else if form.text.chars().count() > MAX_BODY {
        errors.add("text", "The text must be 200,000 characters or fewer");
    }
    if errors.is_empty() {
        let imported = import::import_text(&form.text, &import::academic_year(clock::today_uk()));
        match insert_draft(&mut tx, editor.school.id, policy.id, &imported.content, &[]).await? {
            NewDraft::Inserted(draft_id) => {
                audit::record(
                    &mut *tx,
                    Some(editor.school.id),
                    Some(editor.user.id),
                    &Event::VersionImported {
                        policy_name: policy.name.clone(),
                        policy_id: policy.id,
                        version_id: draft_id,
                        label: imported.content.label.clone(),
                    },
                )
                .await?;
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "{}?imported=1",
                    paths::Draft::new(&editor.school.slug, draft_id)
                ))
                .into_response());
            }
            NewDraft::Exists(_) => errors.add(
                "text",
                "This policy already has a draft. Delete it or publish it before importing another",
            ),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        ImportPage {
            nav: editor.nav(),
            slug: editor.school.slug.clone(),
            policy_id: policy.id,
            policy_name: policy.name,
            text: form.text,
            errors,
        },
    )
        .into_response())
}

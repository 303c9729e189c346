//! Deleting a draft.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::Redirect,
};
use uuid::Uuid;

use super::shared::{Editor, load_draft, urlencode};
use crate::audit::Event;
use crate::paths;
use crate::{audit, error::Result, page::Nav, state::AppState};

#[derive(Template, WebTemplate)]
#[template(path = "policies/delete.html")]
pub(super) struct DeletePage {
    nav: Nav,
    slug: String,
    version_id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
}

pub(super) async fn delete_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<DeletePage> {
    let mut conn = state.pool.acquire().await?;
    let version = load_draft(&mut conn, &editor, version_id).await?;
    Ok(DeletePage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        version_id: version.id,
        policy_id: version.policy_id,
        policy_name: version.policy_name,
        label: version.content.label,
    })
}

pub(super) async fn delete(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    let mut tx = state.pool.begin().await?;
    let version = load_draft(&mut tx, &editor, version_id).await?;
    sqlx::query!(
        "delete from policy_versions where id = $1 and school_id = $2 and status = 'draft'",
        version.id,
        editor.school.id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        &Event::VersionDeleted {
            policy_name: version.policy_name.clone(),
            policy_id: version.policy_id,
            version_id: version.id,
            label: version.content.label.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?deleted={}",
        paths::Policy::new(&editor.school.slug, version.policy_id),
        urlencode(&version.content.label)
    )))
}

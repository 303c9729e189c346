//! A draft previewed exactly as signers will see it.

use axum::extract::{Path, State};
use uuid::Uuid;

use super::shared::{Editor, load_draft};
use crate::{
    domain::{
        diff::{self},
        render,
    },
    error::Result,
    sign_page::{ChangesSince, SignPage},
    state::AppState,
    store::versions::load,
};

/// Exactly the signer's page, with nothing to submit.
pub(super) async fn preview(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<SignPage> {
    let mut conn = state.pool.acquire().await?;
    let version = load_draft(&mut conn, &editor, version_id).await?;
    // People who signed the version in force will see what changed: so does the preview.
    let published = sqlx::query_scalar!(
        "select id from policy_versions where policy_id = $1 and status = 'published'",
        version.policy_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let changes_since = match published {
        Some(id) => match load(&mut conn, editor.school.id, id).await? {
            Some(old) => {
                let label = old.content.label.clone();
                let new = version.content.clone();
                // Comparing two long texts takes a while: not on a request thread.
                let changes =
                    render::off_request_threads(move || diff::compare(&old.content, &new))
                        .await
                        .unwrap_or_default();
                Some(ChangesSince { label, changes })
            }
            None => None,
        },
        None => None,
    };
    Ok(SignPage::preview(
        editor.nav(),
        editor.school.slug.clone(),
        editor.job_title.clone(),
        version.view().await,
        changes_since,
    ))
}

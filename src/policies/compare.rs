//! The differences between two versions of a policy.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use uuid::Uuid;

use super::shared::{Editor, load_policy};
use crate::{
    domain::{
        diff::{self, Change, WordChange},
        render,
    },
    error::{AppError, Result},
    page::Nav,
    state::AppState,
    store::versions::load,
};

#[derive(Template, WebTemplate)]
#[template(path = "policies/compare.html")]
pub(super) struct ComparePage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    from_label: String,
    to_label: String,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
pub(super) struct CompareQuery {
    from: Uuid,
    to: Uuid,
}

pub(super) async fn compare(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Query(query): Query<CompareQuery>,
) -> Result<ComparePage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    let mut versions = vec![];
    for id in [query.from, query.to] {
        versions.push(
            load(&mut conn, editor.school.id, id)
                .await?
                .filter(|v| v.policy_id == policy.id)
                .ok_or(AppError::NotFound)?,
        );
    }
    // Comparing two long texts takes a while: not on a request thread.
    let to = versions[1].content.clone();
    let from = versions[0].content.clone();
    let changes = render::off_request_threads(move || diff::compare(&from, &to))
        .await
        .ok_or_else(|| anyhow::anyhow!("comparing two versions failed"))?;
    Ok(ComparePage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: policy.id,
        policy_name: policy.name,
        from_label: versions[0].content.label.clone(),
        to_label: versions[1].content.label.clone(),
        changes,
    })
}

//! The DPO's pages: the school's policies, drafts written or imported, previews, differences
//! between versions, publishing (which stamps the content hash that agreements refer to) and
//! each policy's history. Only a DPO or admin of the school reaches them
//! (`RequireRole<PolicyEditors>`). `import` reads a Word AUP's text; `publish` publishes.

mod compare;
mod delete;
mod edit;
mod history;
pub mod import;
mod import_page;
mod list;
mod policy_form;
mod preview;
pub mod publish;
mod publish_page;
mod shared;
mod show;

use axum::{
    Router,
    routing::{get, post},
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}/policies", get(list::list))
        .route(
            "/s/{slug}/policies/new",
            get(policy_form::new_policy_form).post(policy_form::create_policy),
        )
        .route("/s/{slug}/policies/{policy_id}", get(show::show))
        .route(
            "/s/{slug}/policies/{policy_id}/audience",
            get(policy_form::audience_form).post(policy_form::change_audience),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/versions",
            post(show::start_version),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/import",
            get(import_page::import_form).post(import_page::import),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/compare",
            get(compare::compare),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/history",
            get(history::history),
        )
        .route(
            "/s/{slug}/drafts/{version_id}",
            get(edit::edit_form).post(edit::save),
        )
        .route(
            "/s/{slug}/drafts/{version_id}/preview",
            get(preview::preview),
        )
        .route(
            "/s/{slug}/drafts/{version_id}/delete",
            get(delete::delete_form).post(delete::delete),
        )
        .route(
            "/s/{slug}/drafts/{version_id}/publish",
            get(publish_page::publish_form).post(publish_page::publish),
        )
}

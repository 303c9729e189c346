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
mod outline_form;
mod policy_form;
mod preview;
mod privacy_notice;
pub mod publish;
mod publish_page;
mod shared;
mod show;
mod sign_by;

use axum::{
    Router,
    routing::{get, post},
};

use crate::paths;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::Policies::PATH, get(list::list))
        .route(paths::Privacy::PATH, get(privacy_notice::show))
        .route(
            paths::EditPrivacy::PATH,
            get(privacy_notice::edit_form).post(privacy_notice::save),
        )
        .route(
            paths::NewPolicy::PATH,
            get(policy_form::new_policy_form).post(policy_form::create_policy),
        )
        .route(paths::Policy::PATH, get(show::show))
        .route(
            paths::Audience::PATH,
            get(policy_form::audience_form).post(policy_form::change_audience),
        )
        .route(paths::StartVersion::PATH, post(show::start_version))
        .route(
            paths::ImportVersion::PATH,
            get(import_page::import_form).post(import_page::import),
        )
        .route(paths::Compare::PATH, get(compare::compare))
        .route(paths::History::PATH, get(history::history))
        .route(paths::Draft::PATH, get(edit::edit_form).post(edit::save))
        .route(paths::Preview::PATH, get(preview::preview))
        .route(
            paths::DeleteDraft::PATH,
            get(delete::delete_form).post(delete::delete),
        )
        .route(
            paths::SignBy::PATH,
            get(sign_by::sign_by_form).post(sign_by::save),
        )
        .route(
            paths::Publish::PATH,
            get(publish_page::publish_form).post(publish_page::publish),
        )
}

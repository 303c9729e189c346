//! The privacy notice for staff: what the portal records about them (IP address, browser,
//! the typed name, times) and why. Every member reads it; the DPO (or admin) may put it in
//! the school's own words, or go back to the default.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{Member, PolicyEditors, RequireRole, Roles},
    domain::render::{nesting_problem, policy_html},
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
};

/// The longest notice a school may write, as the table's CHECK allows.
const MAX_CHARS: usize = 20_000;

#[derive(Template)]
#[template(path = "policies/privacy_default.md", escape = "none")]
struct DefaultNotice<'a> {
    school_name: &'a str,
}

/// The notice's Markdown, and whether it is the default wording.
async fn notice(state: &AppState, school_id: Uuid, school_name: &str) -> Result<(String, bool)> {
    let own = sqlx::query_scalar!(
        "select privacy_notice from schools where id = $1",
        school_id
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(match own {
        Some(text) => (text, false),
        None => (DefaultNotice { school_name }.render()?, true),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/privacy.html")]
pub(super) struct PrivacyPage {
    nav: Nav,
    slug: String,
    school_name: String,
    html: String,
    is_default: bool,
    can_edit: bool,
    saved: bool,
}

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    saved: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<ShowQuery>,
) -> Result<PrivacyPage> {
    let (text, is_default) = notice(&state, member.school.id, &member.school.name).await?;
    Ok(PrivacyPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        school_name: member.school.name.clone(),
        html: policy_html(&text).await.to_string(),
        is_default,
        can_edit: PolicyEditors::allows(&member),
        saved: query.saved.is_some(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/privacy_edit.html")]
pub(super) struct EditPage {
    nav: Nav,
    slug: String,
    text: String,
    is_default: bool,
    errors: FieldErrors,
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    editor: RequireRole<PolicyEditors>,
) -> Result<EditPage> {
    let (text, is_default) = notice(&state, editor.school.id, &editor.school.name).await?;
    Ok(EditPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        text,
        is_default,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    text: String,
    /// "default" to go back to the portal's wording.
    #[serde(default)]
    action: String,
}

pub(super) async fn save(
    State(state): State<AppState>,
    editor: RequireRole<PolicyEditors>,
    Form(form): Form<EditForm>,
) -> Result<Response> {
    let default = DefaultNotice {
        school_name: &editor.school.name,
    }
    .render()?;
    let text = form.text.trim().replace("\r\n", "\n");
    let mut errors = FieldErrors::default();
    let own = if form.action == "default" || text == default.trim() {
        None
    } else {
        if text.is_empty() {
            errors.add(
                "text",
                "Enter the privacy notice, or use the default wording",
            );
        } else if text.chars().count() > MAX_CHARS {
            errors.add(
                "text",
                "The privacy notice must be 20,000 characters or fewer",
            );
        } else if let Some(problem) = nesting_problem(&text) {
            errors.add("text", problem);
        }
        Some(text.clone())
    };
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            EditPage {
                nav: editor.nav(),
                slug: editor.school.slug.clone(),
                text: form.text,
                is_default: false,
                errors,
            },
        )
            .into_response());
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "update schools set privacy_notice = $2 where id = $1",
        editor.school.id,
        own
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        &Event::PrivacyNoticeChanged {
            default: own.is_none(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?saved=1",
        paths::Privacy::new(&editor.school.slug)
    ))
    .into_response())
}

//! One policy: its versions, and starting next year's.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::Redirect,
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    import,
    shared::{Editor, Policy, load_policy, lock_policy},
};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit, clock,
    domain::content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent},
    domain::statuses::VersionStatus,
    error::Result,
    page::Nav,
    state::AppState,
    store::versions::{NewDraft, insert_draft, load},
};

struct VersionRow {
    id: Uuid,
    label: String,
    status: VersionStatus,
    published: Option<String>,
    published_by: Option<String>,
    /// The version before this one, to compare with.
    previous: Option<Uuid>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/show.html")]
pub(super) struct ShowPage {
    nav: Nav,
    slug: String,
    policy: Policy,
    versions: Vec<VersionRow>,
    draft: Option<Uuid>,
    published_label: Option<String>,
    /// The published version, and the date it should be signed by, if set.
    published: Option<(Uuid, Option<String>)>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ShowQuery {
    published: Option<String>,
    notified: Option<usize>,
    deleted: Option<String>,
    /// The date to sign by, just saved.
    sign_by: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Query(query): Query<ShowQuery>,
) -> Result<ShowPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    let rows = sqlx::query!(
        r#"select v.id, v.label, v.status as "status: VersionStatus", v.published_at, u.full_name as "published_by?"
           from policy_versions v left join users u on u.id = v.published_by
           where v.policy_id = $1 and v.school_id = $2
           order by (v.status = 'draft') desc, v.published_at desc nulls last, v.created_at desc"#,
        policy.id,
        editor.school.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut versions: Vec<VersionRow> = rows
        .into_iter()
        .map(|r| VersionRow {
            id: r.id,
            label: r.label,
            status: r.status,
            published: r.published_at.map(clock::date_time),
            published_by: r.published_by,
            previous: None,
        })
        .collect();
    for i in 0..versions.len().saturating_sub(1) {
        versions[i].previous = Some(versions[i + 1].id);
    }
    let notice = match (&query.published, query.notified, &query.deleted) {
        (Some(label), Some(n), _) => Some(format!(
            "Version {label} is published. {n} {} been asked to sign it.",
            if n == 1 { "person has" } else { "people have" }
        )),
        (_, _, Some(label)) => Some(format!("The draft {label} has been deleted.")),
        _ => query
            .sign_by
            .as_deref()
            .and_then(crate::domain::dates::parse_any_date)
            .map(|date| {
                format!(
                    "The date to sign by is now {}.",
                    crate::domain::render::long_date(date)
                )
            }),
    };
    let published_id = versions
        .iter()
        .find(|v| v.status == VersionStatus::Published)
        .map(|v| v.id);
    let published = match published_id {
        Some(id) => Some((
            id,
            sqlx::query_scalar!(
                "select sign_by from sign_by_dates where version_id = $1 and school_id = $2",
                id,
                editor.school.id
            )
            .fetch_optional(&mut *conn)
            .await?
            .map(crate::domain::render::long_date),
        )),
        None => None,
    };
    Ok(ShowPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        draft: versions
            .iter()
            .find(|v| v.status == VersionStatus::Draft)
            .map(|v| v.id),
        published_label: versions
            .iter()
            .find(|v| v.status == VersionStatus::Published)
            .map(|v| v.label.clone()),
        versions,
        policy,
        published,
        notice,
    })
}

/// "2024-25" -> "2025-26"; any other label gets " (next)".
fn next_label(label: &str) -> String {
    if let Some((start, end)) = label.split_once('-')
        && let (Ok(start), Ok(end)) = (start.parse::<i32>(), end.parse::<i32>())
        && start >= 2000
        && (start + 1) % 100 == end
    {
        return format!("{}-{:02}", start + 1, (end + 1) % 100);
    }
    let base: String = label.chars().take(43).collect();
    format!("{base} (next)")
}

/// `wanted`, or if another version of the policy has it already (labels compare without
/// case, as the draft form does), the first of "wanted (2)", "wanted (3)" and so on that none
/// has. At most 50 characters.
fn unused_label(wanted: &str, used: &[String]) -> String {
    let taken = |label: &str| {
        used.iter()
            .any(|u| u.to_lowercase() == label.to_lowercase())
    };
    if !taken(wanted) {
        return wanted.to_owned();
    }
    let base: String = wanted.chars().take(44).collect();
    (2..)
        .map(|n| format!("{base} ({n})"))
        .find(|label| !taken(label))
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    #[serde(default)]
    start: String,
}

/// A new draft: next year's, cloned from the published version, or a blank one.
pub(super) async fn start_version(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Form(form): Form<StartForm>,
) -> Result<Redirect> {
    let mut tx = state.pool.begin().await?;
    let policy = lock_policy(&mut tx, editor.school.id, policy_id).await?;
    let published = sqlx::query_scalar!(
        "select id from policy_versions where policy_id = $1 and school_id = $2 and status = 'published'",
        policy.id,
        editor.school.id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let source = match published {
        Some(id) if form.start == "clone" => load(&mut tx, editor.school.id, id).await?,
        _ => None,
    };
    let used = sqlx::query_scalar!(
        "select label from policy_versions where policy_id = $1 and school_id = $2",
        policy.id,
        editor.school.id
    )
    .fetch_all(&mut *tx)
    .await?;
    let content = match &source {
        Some(source) => VersionContent {
            label: unused_label(&next_label(&source.content.label), &used),
            ..source.content.clone()
        },
        None => VersionContent {
            label: unused_label(&import::academic_year(clock::today_uk()), &used),
            title: policy.name.clone(),
            body_md: String::new(),
            acknowledgements: vec![Acknowledgement {
                id: "agree".to_owned(),
                text: "I agree to abide by all the points above.".to_owned(),
                required: true,
            }],
            signature_fields: SIGNATURE_FIELDS
                .iter()
                .map(|(k, _)| (*k).to_owned())
                .collect(),
            reviewed_on: None,
            next_review_due: None,
            reviewed_by: String::new(),
        },
    };
    let draft_id = match insert_draft(
        &mut tx,
        editor.school.id,
        policy.id,
        &content,
        source.as_ref().map_or(&[][..], |s| &s.block_ids),
    )
    .await?
    {
        NewDraft::Inserted(id) => id,
        NewDraft::Exists(existing) => {
            return Ok(Redirect::to(
                &paths::Draft::new(&editor.school.slug, existing).to_string(),
            ));
        }
    };
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        &Event::VersionCreated {
            policy_name: policy.name.clone(),
            policy_id: policy.id,
            version_id: draft_id,
            label: content.label.clone(),
            from: source.as_ref().map(|s| s.content.label.clone()),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(
        &paths::Draft::new(&editor.school.slug, draft_id).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_years_label_follows_the_school_year() {
        assert_eq!(next_label("2024-25"), "2025-26");
        assert_eq!(next_label("2099-00"), "2100-01");
        assert_eq!(next_label("Autumn"), "Autumn (next)");
    }

    #[test]
    fn a_new_drafts_label_is_one_no_other_version_has() {
        let used = ["2026-27".to_owned(), "2026-27 (2)".to_owned()];
        assert_eq!(unused_label("2027-28", &used), "2027-28");
        assert_eq!(unused_label("2026-27", &used), "2026-27 (3)");
        assert_eq!(unused_label("2026-27 (2)", &used[..1]), "2026-27 (2)");
        let long = "x".repeat(50);
        assert_eq!(
            unused_label(&long, &[long.to_uppercase()]).chars().count(),
            48
        );
    }
}

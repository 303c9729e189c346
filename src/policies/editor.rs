//! The DPO's pages: the school's policies, drafts written or imported, previews,
//! differences between versions, publishing and each policy's history.
//! Only a DPO or admin of the school reaches them (`RequireRole<PolicyEditors>`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::{PgConnection, types::Json};
use time::Date;
use uuid::Uuid;

use super::{
    import,
    publish::{self, Problem, PublishError},
};
use crate::{
    audit,
    auth::session::{Member, PolicyEditors, RequireRole},
    clock,
    domain::{
        content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent},
        dates,
        diff::{self, Change, WordChange},
        groups::{GROUPS, group_name},
        render,
    },
    error::{AppError, Result, unique_violation},
    page::{FieldErrors, Nav},
    sign_page::{ChangesSince, SignPage},
    state::AppState,
    store::versions::{StoredVersion, insert_draft, load},
};

type Editor = RequireRole<PolicyEditors>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}/policies", get(list))
        .route(
            "/s/{slug}/policies/new",
            get(new_policy_form).post(create_policy),
        )
        .route("/s/{slug}/policies/{policy_id}", get(show))
        .route(
            "/s/{slug}/policies/{policy_id}/audience",
            get(audience_form).post(change_audience),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/versions",
            post(start_version),
        )
        .route(
            "/s/{slug}/policies/{policy_id}/import",
            get(import_form).post(import),
        )
        .route("/s/{slug}/policies/{policy_id}/compare", get(compare))
        .route("/s/{slug}/policies/{policy_id}/history", get(history))
        .route("/s/{slug}/drafts/{version_id}", get(edit_form).post(save))
        .route("/s/{slug}/drafts/{version_id}/preview", get(preview))
        .route(
            "/s/{slug}/drafts/{version_id}/delete",
            get(delete_form).post(delete),
        )
        .route(
            "/s/{slug}/drafts/{version_id}/publish",
            get(publish_form).post(publish),
        )
}

const MAX_BODY: usize = 200_000;
const MAX_ACKNOWLEDGEMENTS: usize = 20;
const BLANK_ACKNOWLEDGEMENT_ROWS: usize = 3;

struct Policy {
    id: Uuid,
    name: String,
    audience: Vec<String>,
}

impl Policy {
    fn audience_text(&self) -> String {
        audience_text(&self.audience)
    }
}

fn audience_text(audience: &[String]) -> String {
    audience
        .iter()
        .map(|g| group_name(g))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The policy, locked until the transaction ends: one draft is started at a time.
async fn lock_policy(db: &mut PgConnection, school_id: Uuid, policy_id: Uuid) -> Result<Policy> {
    sqlx::query_as!(
        Policy,
        "select id, name, audience from policies where id = $1 and school_id = $2 for update",
        policy_id,
        school_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

async fn load_policy(db: &mut PgConnection, school_id: Uuid, policy_id: Uuid) -> Result<Policy> {
    sqlx::query_as!(
        Policy,
        "select id, name, audience from policies where id = $1 and school_id = $2",
        policy_id,
        school_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

async fn load_draft(
    db: &mut PgConnection,
    member: &Member,
    version_id: Uuid,
) -> Result<StoredVersion> {
    // Locked for the rest of the transaction, so a save or delete cannot cross a publish.
    sqlx::query!(
        "select id from policy_versions where id = $1 and school_id = $2 for update",
        version_id,
        member.school.id
    )
    .fetch_optional(&mut *db)
    .await?;
    load(db, member.school.id, version_id)
        .await?
        .filter(StoredVersion::is_draft)
        .ok_or(AppError::NotFound)
}

fn policy_details(
    policy_id: Uuid,
    version_id: Option<Uuid>,
    label: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({ "policy_id": policy_id, "version_id": version_id, "label": label })
}

// ---- The list of policies ----

struct PolicyRow {
    id: Uuid,
    name: String,
    audience: String,
    published: Option<String>,
    review: Option<String>,
    review_flag: Option<&'static str>,
    draft: Option<(Uuid, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/list.html")]
struct ListPage {
    nav: Nav,
    slug: String,
    policies: Vec<PolicyRow>,
}

/// Due within 30 days, or overdue: the DPO's eye goes there first.
pub fn review_flag(due: Date, today: Date) -> Option<&'static str> {
    if due < today {
        Some("Overdue")
    } else if due <= today + time::Duration::days(30) {
        Some("Due soon")
    } else {
        None
    }
}

async fn list(State(state): State<AppState>, editor: Editor) -> Result<ListPage> {
    let rows = sqlx::query!(
        r#"select p.id, p.name, p.audience,
                  pub.label as "published_label?", pub.published_at as "published_at?",
                  pub.next_review_due as "next_review_due?",
                  d.id as "draft_id?", d.label as "draft_label?"
           from policies p
           left join policy_versions pub on pub.policy_id = p.id and pub.status = 'published'
           left join policy_versions d on d.policy_id = p.id and d.status = 'draft'
           where p.school_id = $1
           order by p.name"#,
        editor.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let today = clock::today_uk();
    let policies = rows
        .into_iter()
        .map(|r| PolicyRow {
            id: r.id,
            name: r.name,
            audience: audience_text(&r.audience),
            published: r.published_label.map(|label| match r.published_at {
                Some(at) => format!(
                    "{label}, published {}",
                    render::long_date(clock::uk(at).date())
                ),
                None => label,
            }),
            review: r.next_review_due.map(render::long_date),
            review_flag: r.next_review_due.and_then(|due| review_flag(due, today)),
            draft: r.draft_id.zip(r.draft_label),
        })
        .collect();
    Ok(ListPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policies,
    })
}

// ---- Creating a policy and choosing its audience ----

#[derive(Template, WebTemplate)]
#[template(path = "policies/policy_form.html")]
struct PolicyFormPage {
    nav: Nav,
    slug: String,
    /// None when creating a policy.
    policy_id: Option<Uuid>,
    name: String,
    audience: Vec<String>,
    errors: FieldErrors,
}

impl PolicyFormPage {
    fn groups(&self) -> Vec<(&'static str, &'static str, bool)> {
        GROUPS
            .iter()
            .map(|(key, name)| (*key, *name, self.audience.iter().any(|g| g == key)))
            .collect()
    }
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    audience: Vec<String>,
}

fn check_audience(audience: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let chosen: Vec<String> = GROUPS
        .iter()
        .filter(|(key, _)| audience.iter().any(|g| g == key))
        .map(|(key, _)| (*key).to_owned())
        .collect();
    if chosen.is_empty() {
        errors.add("audience-staff", "Select who must sign this policy");
    }
    chosen
}

async fn new_policy_form(editor: Editor) -> PolicyFormPage {
    PolicyFormPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: None,
        name: String::new(),
        audience: vec!["staff".to_owned()],
        errors: FieldErrors::default(),
    }
}

async fn create_policy(
    State(state): State<AppState>,
    editor: Editor,
    Form(form): Form<PolicyForm>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let name = crate::input::normalise(&form.name);
    if name.is_empty() {
        errors.add("name", "Enter the policy's name");
    } else if let Some(message) = crate::input::check("The policy's name", &name, false) {
        errors.add("name", message);
    } else if name.chars().count() > 200 {
        errors.add("name", "The policy's name must be 200 characters or fewer");
    }
    let audience = check_audience(&form.audience, &mut errors);
    if errors.is_empty() {
        let mut tx = state.pool.begin().await?;
        let created = sqlx::query_scalar!(
            "insert into policies (school_id, name, audience) values ($1, $2, $3) returning id",
            editor.school.id,
            name,
            &audience
        )
        .fetch_one(&mut *tx)
        .await;
        match created {
            Ok(policy_id) => {
                audit::record(
                    &mut *tx,
                    Some(editor.school.id),
                    Some(editor.user.id),
                    "policy_created",
                    &name,
                    Some(policy_details(policy_id, None, None)),
                )
                .await?;
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "/s/{}/policies/{policy_id}",
                    editor.school.slug
                ))
                .into_response());
            }
            Err(err) if unique_violation(&err).as_deref() == Some("policies_school_name_key") => {
                errors.add("name", "There is already a policy with this name");
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        PolicyFormPage {
            nav: editor.nav(),
            slug: editor.school.slug.clone(),
            policy_id: None,
            name,
            audience: form.audience,
            errors,
        },
    )
        .into_response())
}

async fn audience_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
) -> Result<PolicyFormPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    Ok(PolicyFormPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: Some(policy.id),
        name: policy.name,
        audience: policy.audience,
        errors: FieldErrors::default(),
    })
}

async fn change_audience(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Form(form): Form<PolicyForm>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let policy = load_policy(&mut tx, editor.school.id, policy_id).await?;
    let mut errors = FieldErrors::default();
    let audience = check_audience(&form.audience, &mut errors);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            PolicyFormPage {
                nav: editor.nav(),
                slug: editor.school.slug.clone(),
                policy_id: Some(policy.id),
                name: policy.name,
                audience: form.audience,
                errors,
            },
        )
            .into_response());
    }
    sqlx::query!(
        "update policies set audience = $3 where id = $1 and school_id = $2",
        policy.id,
        editor.school.id,
        &audience
    )
    .execute(&mut *tx)
    .await?;
    let mut details = policy_details(policy.id, None, None);
    details["audience"] = serde_json::json!(audience);
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        "audience_changed",
        &policy.name,
        Some(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/s/{}/policies/{}", editor.school.slug, policy.id)).into_response())
}

// ---- One policy: its versions ----

struct VersionRow {
    id: Uuid,
    label: String,
    status: String,
    published: Option<String>,
    published_by: Option<String>,
    /// The version before this one, to compare with.
    previous: Option<Uuid>,
}

impl VersionRow {
    fn status_text(&self) -> &'static str {
        match self.status.as_str() {
            "draft" => "Draft",
            "published" => "Published",
            _ => "Replaced",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/show.html")]
struct ShowPage {
    nav: Nav,
    slug: String,
    policy: Policy,
    versions: Vec<VersionRow>,
    draft: Option<Uuid>,
    published_label: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct ShowQuery {
    published: Option<String>,
    notified: Option<usize>,
    deleted: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
    Query(query): Query<ShowQuery>,
) -> Result<ShowPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    let rows = sqlx::query!(
        r#"select v.id, v.label, v.status, v.published_at, u.full_name as "published_by?"
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
        _ => None,
    };
    Ok(ShowPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        draft: versions.iter().find(|v| v.status == "draft").map(|v| v.id),
        published_label: versions
            .iter()
            .find(|v| v.status == "published")
            .map(|v| v.label.clone()),
        versions,
        policy,
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

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    start: String,
}

/// A new draft: next year's, cloned from the published version, or a blank one.
async fn start_version(
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
    let content = match &source {
        Some(source) => VersionContent {
            label: next_label(&source.content.label),
            ..source.content.clone()
        },
        None => VersionContent {
            label: import::academic_year(clock::today_uk()),
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
    let draft_id = match insert_draft(&mut tx, editor.school.id, policy.id, &content).await? {
        Ok(id) => id,
        Err(existing) => {
            return Ok(Redirect::to(&format!(
                "/s/{}/drafts/{existing}",
                editor.school.slug
            )));
        }
    };
    let mut details = policy_details(policy.id, Some(draft_id), Some(&content.label));
    details["from"] = serde_json::json!(source.as_ref().map(|s| s.content.label.clone()));
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        "version_created",
        &policy.name,
        Some(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/s/{}/drafts/{draft_id}",
        editor.school.slug
    )))
}

// ---- Editing a draft ----

struct AckRow {
    index: usize,
    id: String,
    text: String,
    required: bool,
    position: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/edit.html")]
struct EditPage {
    nav: Nav,
    slug: String,
    version_id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
    title: String,
    body_md: String,
    reviewed_on: String,
    next_review_due: String,
    reviewed_by: String,
    fields: Vec<(&'static str, &'static str, bool)>,
    acks: Vec<AckRow>,
    notice: Option<&'static str>,
    errors: FieldErrors,
}

/// A date as the form shows it and reads it back: "1 November 2026".
fn date_text(date: Option<Date>) -> String {
    date.map(render::long_date).unwrap_or_default()
}

fn ack_rows(acks: &[Acknowledgement]) -> Vec<AckRow> {
    let mut rows: Vec<AckRow> = acks
        .iter()
        .enumerate()
        .map(|(i, a)| AckRow {
            index: i,
            id: a.id.clone(),
            text: a.text.clone(),
            required: a.required,
            position: (i + 1).to_string(),
        })
        .collect();
    let n = rows.len();
    rows.extend((n..n + BLANK_ACKNOWLEDGEMENT_ROWS).map(|i| AckRow {
        index: i,
        id: String::new(),
        text: String::new(),
        required: true,
        position: (i + 1).to_string(),
    }));
    rows
}

fn signature_field_boxes(chosen: &[String]) -> Vec<(&'static str, &'static str, bool)> {
    SIGNATURE_FIELDS
        .iter()
        .map(|(key, name)| (*key, *name, chosen.iter().any(|f| f == key)))
        .collect()
}

impl EditPage {
    fn new(member: &Member, version: &StoredVersion, notice: Option<&'static str>) -> Self {
        let c = &version.content;
        EditPage {
            nav: member.nav(),
            slug: member.school.slug.clone(),
            version_id: version.id,
            policy_id: version.policy_id,
            policy_name: version.policy_name.clone(),
            label: c.label.clone(),
            title: c.title.clone(),
            body_md: c.body_md.clone(),
            reviewed_on: date_text(c.reviewed_on),
            next_review_due: date_text(c.next_review_due),
            reviewed_by: c.reviewed_by.clone(),
            fields: signature_field_boxes(&c.signature_fields),
            acks: ack_rows(&c.acknowledgements),
            notice,
            errors: FieldErrors::default(),
        }
    }
}

#[derive(Deserialize)]
struct EditQuery {
    saved: Option<String>,
    imported: Option<String>,
}

async fn edit_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    Query(query): Query<EditQuery>,
) -> Result<EditPage> {
    let mut conn = state.pool.acquire().await?;
    let version = load_draft(&mut conn, &editor, version_id).await?;
    let notice = if query.imported.is_some() {
        Some(
            "The text has been imported into this draft. Check the statements, the acknowledgements and the review dates, then preview it.",
        )
    } else if query.saved.is_some() {
        Some("Your changes have been saved.")
    } else {
        None
    };
    Ok(EditPage::new(&editor, &version, notice))
}

#[derive(Deserialize, Default)]
struct DraftForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body_md: String,
    #[serde(default)]
    reviewed_on: String,
    #[serde(default)]
    next_review_due: String,
    #[serde(default)]
    reviewed_by: String,
    #[serde(default)]
    signature_fields: Vec<String>,
    #[serde(default)]
    ack_id: Vec<String>,
    #[serde(default)]
    ack_text: Vec<String>,
    #[serde(default)]
    ack_position: Vec<String>,
    /// Row numbers of the acknowledgements ticked as required.
    #[serde(default)]
    ack_required: Vec<String>,
    #[serde(default)]
    action: String,
}

fn optional_date(text: &str, field: &str, what: &str, errors: &mut FieldErrors) -> Option<Date> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match dates::parse_any_date(text) {
        None => {
            errors.add(
                field,
                format!("{what} must be a real date, for example 1 November 2026"),
            );
            None
        }
        Some(date) if !crate::input::YEARS.contains(&date.year()) => {
            errors.add(field, format!("{what} must be between 1900 and 2200"));
            None
        }
        date => date,
    }
}

fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The form as a version's content, or the reasons it is not one yet, in the page's order.
fn read_draft_form(form: &DraftForm) -> (VersionContent, Vec<AckRow>, FieldErrors) {
    let mut errors = FieldErrors::default();
    for (field, name, value, multiline) in [
        ("label", "The label", &form.label, false),
        ("title", "The title", &form.title, false),
        ("body_md", "The policy text", &form.body_md, true),
        ("reviewed_by", "Who reviewed it", &form.reviewed_by, false),
    ] {
        if let Some(message) = crate::input::check(name, value, multiline) {
            errors.add(field, message);
        }
    }
    let label = form.label.trim().to_owned();
    if label.is_empty() {
        errors.add(
            "label",
            "Enter a label for this version, for example 2026-27",
        );
    } else if label.chars().count() > 50 {
        errors.add("label", "The label must be 50 characters or fewer");
    }
    let title = form.title.trim().to_owned();
    if title.is_empty() {
        errors.add("title", "Enter the policy's title");
    } else if title.chars().count() > 300 {
        errors.add("title", "The title must be 300 characters or fewer");
    }
    let body_md = form.body_md.replace("\r\n", "\n");
    if body_md.trim().is_empty() {
        errors.add("body_md", "Enter the text of the policy");
    } else if let Some(problem) = render::nesting_problem(&body_md) {
        errors.add("body_md", problem);
    } else if body_md.chars().count() > MAX_BODY {
        errors.add(
            "body_md",
            "The text of the policy must be 200,000 characters or fewer",
        );
    }

    // Acknowledgement rows, as typed, kept for showing the form again.
    let rows: Vec<AckRow> = form
        .ack_text
        .iter()
        .enumerate()
        .map(|(i, text)| AckRow {
            index: i,
            id: form.ack_id.get(i).cloned().unwrap_or_default(),
            text: text.trim().to_owned(),
            required: form.ack_required.iter().any(|r| r == &i.to_string()),
            position: form
                .ack_position
                .get(i)
                .cloned()
                .unwrap_or_else(|| (i + 1).to_string()),
        })
        .collect();
    let mut ordered: Vec<&AckRow> = rows.iter().filter(|r| !r.text.is_empty()).collect();
    for row in &ordered {
        if let Some(message) =
            crate::input::check(&format!("Statement {}", row.index + 1), &row.text, false)
        {
            errors.add(format!("ack-text-{}", row.index), message);
        }
        if row.text.chars().count() > 500 {
            errors.add(
                format!("ack-text-{}", row.index),
                format!(
                    "Statement {} must be 500 characters or fewer",
                    row.index + 1
                ),
            );
        }
        if row.position.trim().parse::<u32>().is_err() {
            errors.add(
                format!("ack-position-{}", row.index),
                format!(
                    "The order of statement {} must be a whole number, like 1 or 2",
                    row.index + 1
                ),
            );
        }
    }
    if ordered.len() > MAX_ACKNOWLEDGEMENTS {
        errors.add(
            "ack-text-0",
            format!("A policy can have at most {MAX_ACKNOWLEDGEMENTS} statements to tick"),
        );
    }
    ordered.sort_by_key(|r| {
        (
            r.position.trim().parse::<u32>().unwrap_or(u32::MAX),
            r.index,
        )
    });
    let mut acknowledgements: Vec<Acknowledgement> = vec![];
    for row in ordered {
        let id = if valid_id(&row.id) && !acknowledgements.iter().any(|a| a.id == row.id) {
            row.id.clone()
        } else {
            let mut n = acknowledgements.len() + 1;
            while acknowledgements
                .iter()
                .any(|a| a.id == format!("statement-{n}"))
            {
                n += 1;
            }
            format!("statement-{n}")
        };
        acknowledgements.push(Acknowledgement {
            id,
            text: row.text.clone(),
            required: row.required,
        });
    }

    let signature_fields: Vec<String> = SIGNATURE_FIELDS
        .iter()
        .filter(|(key, _)| form.signature_fields.iter().any(|f| f == key))
        .map(|(key, _)| (*key).to_owned())
        .collect();
    if !signature_fields.iter().any(|f| f == "signature") {
        errors.add(
            "field-signature",
            "The signature block must include the signature",
        );
    }

    let reviewed_on = optional_date(
        &form.reviewed_on,
        "reviewed_on",
        "The review date",
        &mut errors,
    );
    let next_review_due = optional_date(
        &form.next_review_due,
        "next_review_due",
        "The date of the next review",
        &mut errors,
    );
    if let (Some(on), Some(next)) = (reviewed_on, next_review_due)
        && next <= on
    {
        errors.add(
            "next_review_due",
            "The date of the next review must be after the review date",
        );
    }
    let reviewed_by = form.reviewed_by.trim().to_owned();
    if reviewed_by.chars().count() > 200 {
        errors.add(
            "reviewed_by",
            "Who reviewed it must be 200 characters or fewer",
        );
    }
    let content = VersionContent {
        label,
        title,
        body_md,
        acknowledgements,
        signature_fields,
        reviewed_on,
        next_review_due,
        reviewed_by,
    };
    (content, rows, errors)
}

async fn save(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    Form(form): Form<DraftForm>,
) -> Result<Response> {
    let mut tx = state.pool.begin().await?;
    let version = load_draft(&mut tx, &editor, version_id).await?;
    let (content, mut rows, mut errors) = read_draft_form(&form);
    let label_taken = sqlx::query_scalar!(
        r#"select exists (select 1 from policy_versions
             where policy_id = $1 and id <> $2 and lower(label) = lower($3)) as "taken!""#,
        version.policy_id,
        version.id,
        content.label
    )
    .fetch_one(&mut *tx)
    .await?;
    if label_taken && errors.get("label").is_none() {
        errors.add_first(
            "label",
            "Another version of this policy already has this label",
        );
    }
    if !errors.is_empty() {
        let n = rows.len();
        if rows.iter().all(|r| !r.text.is_empty()) {
            rows.push(AckRow {
                index: n,
                id: String::new(),
                text: String::new(),
                required: true,
                position: (n + 1).to_string(),
            });
        }
        let page = EditPage {
            label: form.label.clone(),
            title: form.title.clone(),
            body_md: form.body_md.clone(),
            reviewed_on: form.reviewed_on.clone(),
            next_review_due: form.next_review_due.clone(),
            reviewed_by: form.reviewed_by.clone(),
            fields: signature_field_boxes(&form.signature_fields),
            acks: rows,
            errors,
            ..EditPage::new(&editor, &version, None)
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query!(
        r#"update policy_versions
           set label = $3, title = $4, body_md = $5, acknowledgements = $6, signature_fields = $7,
               reviewed_on = $8, next_review_due = $9, reviewed_by = $10, updated_at = now()
           where id = $1 and school_id = $2 and status = 'draft'"#,
        version.id,
        editor.school.id,
        content.label,
        content.title,
        content.body_md,
        Json(&content.acknowledgements) as _,
        &content.signature_fields,
        content.reviewed_on,
        content.next_review_due,
        content.reviewed_by,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(editor.school.id),
        Some(editor.user.id),
        "version_edited",
        &version.policy_name,
        Some(policy_details(
            version.policy_id,
            Some(version.id),
            Some(&content.label),
        )),
    )
    .await?;
    tx.commit().await?;
    let slug = &editor.school.slug;
    Ok(if form.action == "preview" {
        Redirect::to(&format!("/s/{slug}/drafts/{version_id}/preview"))
    } else {
        Redirect::to(&format!("/s/{slug}/drafts/{version_id}?saved=1"))
    }
    .into_response())
}

/// Exactly the signer's page, with nothing to submit.
async fn preview(
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

// ---- Deleting a draft ----

#[derive(Template, WebTemplate)]
#[template(path = "policies/delete.html")]
struct DeletePage {
    nav: Nav,
    slug: String,
    version_id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
}

async fn delete_form(
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

async fn delete(
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
        "version_deleted",
        &version.policy_name,
        Some(policy_details(
            version.policy_id,
            Some(version.id),
            Some(&version.content.label),
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/s/{}/policies/{}?deleted={}",
        editor.school.slug,
        version.policy_id,
        urlencode(&version.content.label)
    )))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- Importing pasted text ----

#[derive(Template, WebTemplate)]
#[template(path = "policies/import.html")]
struct ImportPage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    text: String,
    errors: FieldErrors,
}

async fn import_form(
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
struct ImportForm {
    #[serde(default)]
    text: String,
}

async fn import(
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
        match insert_draft(&mut tx, editor.school.id, policy.id, &imported.content).await? {
            Ok(draft_id) => {
                audit::record(
                    &mut *tx,
                    Some(editor.school.id),
                    Some(editor.user.id),
                    "version_imported",
                    &policy.name,
                    Some(policy_details(
                        policy.id,
                        Some(draft_id),
                        Some(&imported.content.label),
                    )),
                )
                .await?;
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "/s/{}/drafts/{draft_id}?imported=1",
                    editor.school.slug
                ))
                .into_response());
            }
            Err(_) => errors.add(
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

// ---- Differences between versions ----

#[derive(Template, WebTemplate)]
#[template(path = "policies/compare.html")]
struct ComparePage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    from_label: String,
    to_label: String,
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct CompareQuery {
    from: Uuid,
    to: Uuid,
}

async fn compare(
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

// ---- Publishing ----

#[derive(Template, WebTemplate)]
#[template(path = "policies/publish.html")]
struct PublishPage {
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
    problems: Vec<Problem>,
}

async fn publish_page(
    state: &AppState,
    editor: &Editor,
    version_id: Uuid,
    problems: Option<Vec<Problem>>,
) -> Result<PublishPage> {
    let mut conn = state.pool.acquire().await?;
    let version = load_draft(&mut conn, editor, version_id).await?;
    let counts = publish::audience_counts(&mut conn, editor.school.id, &version.audience).await?;
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
            .map(|(g, n)| (group_name(&g).to_owned(), n))
            .collect(),
    })
}

async fn publish_form(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
) -> Result<PublishPage> {
    publish_page(&state, &editor, version_id, None).await
}

#[derive(Deserialize)]
struct PublishForm {
    #[serde(default)]
    content_sha256: String,
}

async fn publish(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    Form(form): Form<PublishForm>,
) -> Result<Response> {
    let outcome = publish::publish(
        &state.pool,
        editor.school.id,
        version_id,
        Some(&form.content_sha256),
        Some(editor.user.id),
        &state.settings.base_url,
        clock::today_uk(),
    )
    .await;
    let mut conn = state.pool.acquire().await?;
    let version = load(&mut conn, editor.school.id, version_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let policy_page = format!("/s/{}/policies/{}", editor.school.slug, version.policy_id);
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
        Err(PublishError::NotReady(problems)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            publish_page(&state, &editor, version_id, Some(problems)).await?,
        )
            .into_response()),
        Err(PublishError::NotFound) => Err(AppError::NotFound),
        Err(PublishError::Sqlx(err)) => Err(err.into()),
        Err(PublishError::Render(err)) => Err(err.into()),
    }
}

// ---- History ----

struct HistoryRow {
    at: String,
    who: String,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/history.html")]
struct HistoryPage {
    nav: Nav,
    slug: String,
    policy_id: Uuid,
    policy_name: String,
    events: Vec<HistoryRow>,
}

fn describe(action: &str, details: &serde_json::Value) -> String {
    let label = details["label"].as_str().unwrap_or("");
    match action {
        "policy_created" => "Created the policy".to_owned(),
        "audience_changed" => {
            let groups: Vec<String> = details["audience"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|g| g.as_str())
                        .map(|g| group_name(g).to_owned())
                        .collect()
                })
                .unwrap_or_default();
            format!("Changed who must sign it to: {}", groups.join(", "))
        }
        "version_created" => match details["from"].as_str() {
            Some(from) => format!("Started version {label} from {from}"),
            None => format!("Started a blank version {label}"),
        },
        "version_imported" => format!("Imported version {label} from pasted text"),
        "version_edited" => format!("Edited the draft {label}"),
        "version_deleted" => format!("Deleted the draft {label}"),
        "version_published" => format!(
            "Published version {label} and asked {} people to sign it",
            details["notified"].as_u64().unwrap_or(0)
        ),
        other => other.replace('_', " "),
    }
}

async fn history(
    State(state): State<AppState>,
    editor: Editor,
    Path((_slug, policy_id)): Path<(String, Uuid)>,
) -> Result<HistoryPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = load_policy(&mut conn, editor.school.id, policy_id).await?;
    let rows = sqlx::query!(
        r#"select e.at, e.action, e.details, u.full_name as "who?"
           from audit_events e left join users u on u.id = e.actor_user_id
           where e.school_id = $1 and e.details ? 'policy_id' and e.details ->> 'policy_id' = $2
           order by e.at desc, e.id desc"#,
        editor.school.id,
        policy.id.to_string()
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(HistoryPage {
        nav: editor.nav(),
        slug: editor.school.slug.clone(),
        policy_id: policy.id,
        policy_name: policy.name,
        events: rows
            .into_iter()
            .map(|r| HistoryRow {
                at: clock::date_time(r.at),
                who: r.who.unwrap_or_else(|| "The portal".to_owned()),
                what: describe(&r.action, &r.details),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn next_years_label_follows_the_school_year() {
        assert_eq!(next_label("2024-25"), "2025-26");
        assert_eq!(next_label("2099-00"), "2100-01");
        assert_eq!(next_label("Autumn"), "Autumn (next)");
    }

    #[test]
    fn reviews_due_within_30_days_or_past_are_flagged() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(review_flag(date!(2026 - 11 - 22), today), Some("Overdue"));
        assert_eq!(review_flag(date!(2026 - 12 - 23), today), Some("Due soon"));
        assert_eq!(review_flag(date!(2026 - 12 - 24), today), None);
    }
}

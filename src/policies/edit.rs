//! Editing a draft: its text, statements to tick, signature fields and review facts.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::types::Json;
use time::Date;
use uuid::Uuid;

use super::shared::{
    BLANK_ACKNOWLEDGEMENT_ROWS, Editor, MAX_ACKNOWLEDGEMENTS, MAX_BODY, load_draft,
};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::Member,
    domain::{
        content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent},
        dates::DateBoxes,
        render,
    },
    error::Result,
    page::{FieldErrors, Nav},
    state::AppState,
    store::versions::StoredVersion,
};

struct AckRow {
    index: usize,
    id: String,
    text: String,
    required: bool,
    position: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/edit.html")]
pub(super) struct EditPage {
    nav: Nav,
    slug: String,
    version_id: Uuid,
    policy_id: Uuid,
    policy_name: String,
    label: String,
    title: String,
    body_md: String,
    reviewed_on: DateBoxes,
    next_review_due: DateBoxes,
    reviewed_by: String,
    fields: Vec<(&'static str, &'static str, bool)>,
    acks: Vec<AckRow>,
    notice: Option<&'static str>,
    errors: FieldErrors,
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
            reviewed_on: DateBoxes::of(c.reviewed_on),
            next_review_due: DateBoxes::of(c.next_review_due),
            reviewed_by: c.reviewed_by.clone(),
            fields: signature_field_boxes(&c.signature_fields),
            acks: ack_rows(&c.acknowledgements),
            notice,
            errors: FieldErrors::default(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct EditQuery {
    saved: Option<String>,
    imported: Option<String>,
}

pub(super) async fn edit_form(
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
pub(super) struct DraftForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body_md: String,
    #[serde(default)]
    reviewed_on_day: String,
    #[serde(default)]
    reviewed_on_month: String,
    #[serde(default)]
    reviewed_on_year: String,
    #[serde(default)]
    next_review_due_day: String,
    #[serde(default)]
    next_review_due_month: String,
    #[serde(default)]
    next_review_due_year: String,
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

impl DraftForm {
    /// The review date's and next review's boxes, as typed.
    fn review_dates(&self) -> (DateBoxes, DateBoxes) {
        (
            DateBoxes::typed(
                &self.reviewed_on_day,
                &self.reviewed_on_month,
                &self.reviewed_on_year,
            ),
            DateBoxes::typed(
                &self.next_review_due_day,
                &self.next_review_due_month,
                &self.next_review_due_year,
            ),
        )
    }
}

/// A date that may be left out, from its three boxes; a message next to `field` if it is
/// not a real date.
fn optional_date(
    boxes: &DateBoxes,
    field: &str,
    what: &str,
    errors: &mut FieldErrors,
) -> Option<Date> {
    boxes.optional(what).unwrap_or_else(|message| {
        errors.add(field, message);
        None
    })
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

    let (reviewed_boxes, next_boxes) = form.review_dates();
    let reviewed_on = optional_date(
        &reviewed_boxes,
        "reviewed_on",
        "the review date",
        &mut errors,
    );
    let next_review_due = optional_date(
        &next_boxes,
        "next_review_due",
        "the date of the next review",
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

pub(super) async fn save(
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
            reviewed_on: form.review_dates().0,
            next_review_due: form.review_dates().1,
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
        &Event::VersionEdited {
            policy_name: version.policy_name.clone(),
            policy_id: version.policy_id,
            version_id: version.id,
            label: content.label.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    let slug = &editor.school.slug;
    Ok(if form.action == "preview" {
        Redirect::to(&paths::Preview::new(slug, version_id).to_string())
    } else {
        Redirect::to(&format!("{}?saved=1", paths::Draft::new(slug, version_id)))
    }
    .into_response())
}

//! Editing a draft: its text, statements to tick, signature fields and review facts.

use std::collections::HashSet;

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

use super::outline_form::{self, Action, Place, Row};
use super::shared::{
    BLANK_ACKNOWLEDGEMENT_ROWS, Editor, MAX_ACKNOWLEDGEMENTS, MAX_BODY, load_draft, urlencode,
};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::Member,
    domain::{
        content::{Acknowledgement, SIGNATURE_FIELDS, VersionContent},
        dates::DateBoxes,
        outline::{ItemKind, Outline, align_ids, fresh_id, valid_id},
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
    /// Whether the text is edited as one Markdown box rather than as the list of items.
    markdown: bool,
    body_md: String,
    items: Vec<Row>,
    /// A notice for the whole list, when the item it was about is gone.
    list_notice: Option<&'static str>,
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
            markdown: false,
            body_md: c.body_md.clone(),
            // Shown by the caller, with any notice or new item in place.
            items: vec![],
            list_notice: None,
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
    /// `markdown` to edit the text as one Markdown box.
    text: Option<String>,
    /// After an action on an item: `up`, `down` or `removed`, and the item it is shown at.
    done: Option<String>,
    at: Option<String>,
    /// After "Add": the kind of the new item, the item it goes after, and its id.
    add: Option<String>,
    after: Option<String>,
    id: Option<String>,
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
    let mut page = EditPage::new(&editor, &version, notice);
    if query.text.as_deref() == Some("markdown") {
        page.markdown = true;
        return Ok(page);
    }
    let mut entries = outline_form::saved_entries(
        &Outline::parse(&version.content.body_md),
        &version.block_ids,
    );
    let mut focus = None;
    let done = query
        .done
        .as_deref()
        .filter(|d| outline_form::notice(d).is_some());
    let at = query.at.filter(|at| entries.iter().any(|e| &e.id == at));
    if let Some(kind) = query.add.as_deref().and_then(ItemKind::parse) {
        focus = Some(outline_form::with_blank(
            &mut entries,
            kind,
            query.after.as_deref(),
            query.id.as_deref(),
        ));
    } else if let (Some(done), None) = (done, &at) {
        // The item it was about is gone: said over the list.
        page.list_notice = outline_form::notice(if done.starts_with("removed") {
            "removed"
        } else {
            done
        });
    }
    let done_at = at.as_deref().zip(done);
    page.items = outline_form::rows(&entries, done_at, focus.as_deref());
    Ok(page)
}

#[derive(Deserialize, Default)]
pub(super) struct DraftForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    title: String,
    /// The whole text, when it is edited as Markdown; otherwise it comes as items.
    body_md: Option<String>,
    #[serde(default)]
    item_id: Vec<String>,
    #[serde(default)]
    item_kind: Vec<String>,
    #[serde(default)]
    item_level: Vec<String>,
    #[serde(default)]
    item_from: Vec<String>,
    #[serde(default)]
    item_text: Vec<String>,
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

/// The form as a version's content, with `body_md` as its text, or the reasons it is not one
/// yet, in the page's order. `errors` holds those found in the text's items already.
fn read_draft_form(
    form: &DraftForm,
    body_md: &str,
    mut errors: FieldErrors,
) -> (VersionContent, Vec<AckRow>, FieldErrors) {
    let text_checked = !errors.is_empty();
    for (field, name, value, multiline) in [
        ("label", "The label", form.label.as_str(), false),
        ("title", "The title", form.title.as_str(), false),
        ("body_md", "The policy text", body_md, true),
        (
            "reviewed_by",
            "Who reviewed it",
            form.reviewed_by.as_str(),
            false,
        ),
    ] {
        if field == "body_md" && text_checked {
            continue;
        }
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
    let body_md = body_md.replace("\r\n", "\n");
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
    let saved = Outline::parse(&version.content.body_md);
    let action = Action::parse(&form.action);
    let mut text_errors = FieldErrors::default();
    // The text and its items' ids: from the Markdown box, or from the list with the action
    // of the button pressed done.
    let (body_md, block_ids, entries, place) = match &form.body_md {
        Some(body) => {
            let body = body.replace("\r\n", "\n");
            let old = outline_form::saved_entries(&saved, &version.block_ids);
            let old_items: Vec<_> = old.iter().map(|e| e.item.clone()).collect();
            let old_ids: Vec<_> = old.iter().map(|e| e.id.clone()).collect();
            // A text that is refused anyway is not parsed: deep nesting is an attack on it.
            let ids =
                if body.chars().count() <= MAX_BODY && render::nesting_problem(&body).is_none() {
                    align_ids(&old_items, &old_ids, &Outline::parse(&body).items())
                } else {
                    vec![]
                };
            (body, ids, None, Place::default())
        }
        None => {
            let posted = outline_form::posted_entries(
                &form.item_id,
                &form.item_kind,
                &form.item_level,
                &form.item_from,
                &form.item_text,
            );
            if form.item_text.len() > outline_form::MAX_ITEMS {
                text_errors.add(
                    "body_md",
                    "The text has more than 2,000 parts: edit the whole text as Markdown instead",
                );
            }
            let (entries, place) = outline_form::apply(posted, &action);
            outline_form::check(&saved, &entries, &mut text_errors);
            let (body, ids) = outline_form::written(&saved, &entries);
            (body, ids, Some(entries), place)
        }
    };
    let (content, mut rows, mut errors) = read_draft_form(&form, &body_md, text_errors);
    // A draft with no text yet (a blank one) may still gain its first item or change how it
    // is edited: publishing refuses a version with no text.
    if body_md.trim().is_empty()
        && matches!(
            action,
            Action::Add(..) | Action::AsMarkdown | Action::AsList
        )
    {
        errors.remove("body_md");
    }
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
        let items = entries.map(|mut entries| {
            if let Action::Add(kind, after) = &action {
                outline_form::with_blank(&mut entries, *kind, after.as_deref(), None);
            }
            outline_form::rows(&entries, None, None)
        });
        let page = EditPage {
            label: form.label.clone(),
            title: form.title.clone(),
            markdown: items.is_none(),
            body_md: form.body_md.clone().unwrap_or(body_md),
            items: items.unwrap_or_default(),
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
               reviewed_on = $8, next_review_due = $9, reviewed_by = $10, block_ids = $11,
               updated_at = now()
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
        &block_ids,
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
    let draft = paths::Draft::new(&editor.school.slug, version_id);
    let to = match action {
        Action::Preview => paths::Preview::new(&editor.school.slug, version_id).to_string(),
        Action::AsMarkdown => format!("{draft}?text=markdown"),
        Action::AsList => format!("{draft}#policy-text"),
        Action::Save if form.body_md.is_some() => format!("{draft}?saved=1&text=markdown"),
        Action::Save => format!("{draft}?saved=1"),
        // No fragment after an action: a page scrolled to its target does not move the focus,
        // and the focus goes back to where the action was.
        Action::Up(_) | Action::Down(_) | Action::Remove(_) => {
            let done = place.done.unwrap_or(match action {
                Action::Up(_) => "up",
                Action::Down(_) => "down",
                _ => "removed",
            });
            match place.at {
                Some(at) => format!("{draft}?done={done}&at={}", urlencode(&at)),
                None => format!("{draft}?done={done}"),
            }
        }
        Action::Add(kind, after) => {
            let saved_ids: HashSet<String> = block_ids.iter().cloned().collect();
            let id = fresh_id(&saved_ids);
            // After an item not saved (an empty one, say): after the saved one before it.
            let after = after
                .and_then(|a| {
                    let at = entries.as_ref()?.iter().position(|e| e.id == a)?;
                    entries.as_ref()?[..=at]
                        .iter()
                        .rev()
                        .find(|e| saved_ids.contains(&e.id))
                        .map(|e| e.id.clone())
                })
                .map(|a| format!("&after={}", urlencode(&a)))
                .unwrap_or_default();
            format!("{draft}?add={}{after}&id={id}", kind.as_str())
        }
    };
    Ok(Redirect::to(&to).into_response())
}

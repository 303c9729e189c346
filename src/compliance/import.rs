//! Bulk import of people from a CSV file (name, email, group, job title; a header row;
//! UTF-8 with or without the BOM Excel writes). A preview shows what will be added,
//! changed and left alone, and every bad row with its line number, before anything is saved.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Multipart, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::person_records::{Added, NewPerson, add_person};
use crate::audit::Event;
use crate::paths;
use crate::{
    audit,
    auth::session::{PeopleManagers, RequireRole},
    domain::groups::Group,
    domain::names::Name,
    domain::roles::Role,
    domain::statuses::MembershipStatus,
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ImportPeople::PATH, get(upload_form).post(preview))
        .route(paths::ConfirmImport::PATH, post(confirm))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub name: Name,
    /// Whether the file gave the name in its parts; a file with one name column says only
    /// the name shown, and a change of it is a change of the whole.
    pub name_in_parts: bool,
    pub email: String,
    pub grp: Group,
    pub job_title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

fn column(header: &str) -> Option<&'static str> {
    match header
        .trim()
        .to_lowercase()
        .replace(['_', '-'], " ")
        .as_str()
    {
        "name" | "full name" | "person" => Some("name"),
        "email" | "email address" | "e mail" => Some("email"),
        "group" => Some("group"),
        "job title" | "job" | "role" | "role within the school" | "title" => Some("job title"),
        _ => None,
    }
}

/// "Governors", " staff " and "Volunteer" are groups; anything else is not.
fn group_of(text: &str) -> Option<Group> {
    let text = text.trim().to_lowercase();
    Group::ALL.into_iter().find(|group| {
        let key = group.as_str();
        text == key || text.strip_suffix('s') == Some(key)
    })
}

/// Reads the file: good rows, and bad rows with their line numbers and reasons.
pub fn parse(bytes: &[u8]) -> std::result::Result<(Vec<Row>, Vec<BadRow>), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "The file is not UTF-8 text. In Excel, choose Save As, then \"CSV UTF-8 (Comma delimited)\"".to_owned()
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|err| format!("The first row cannot be read: {err}"))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| column(h) == Some(name));
    let (Some(name_at), Some(email_at), Some(group_at)) =
        (find("name"), find("email"), find("group"))
    else {
        return Err(
            "The first row must name the columns: name, email, group and job title".to_owned(),
        );
    };
    let title_at = find("job title");
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // csv reports where it stood before skipping blank lines: step over them first.
    let line_of = |byte: usize| {
        let start = byte
            + text.get(byte..).map_or(0, |rest| {
                rest.len() - rest.trim_start_matches(['\r', '\n']).len()
            });
        line_starts.partition_point(|line_start| *line_start <= start)
    };
    let mut rows: Vec<Row> = vec![];
    let mut bad = vec![];
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(index + 2, |p| {
                    line_of(usize::try_from(p.byte()).unwrap_or(0))
                });
                bad.push(BadRow {
                    line,
                    reason: format!("cannot be read: {err}"),
                });
                continue;
            }
        };
        // The line in the file, blank lines counted, as a text editor shows it.
        let line = record.position().map_or(index + 2, |p| {
            line_of(usize::try_from(p.byte()).unwrap_or(0))
        });
        let cell = |at: usize| record.get(at).unwrap_or("").trim().to_owned();
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let full_name = crate::input::normalise(&cell(name_at));
        let email = crate::input::normalise(&cell(email_at));
        let group_text = cell(group_at);
        let unusable = [
            ("name", full_name.as_str()),
            ("email address", email.as_str()),
            ("group", group_text.as_str()),
        ]
        .into_iter()
        .chain(title_at.map(|at| ("job title", record.get(at).unwrap_or(""))))
        .find_map(|(what, value)| {
            crate::input::unusable(value, false).map(|problem| format!("the {what} {problem}"))
        });
        let reason = if let Some(problem) = unusable {
            Some(problem)
        } else if email.is_empty() {
            Some("the email address is missing".to_owned())
        } else if crate::mail::address::check(&email).is_err() {
            Some(format!("'{email}' is not an email address"))
        } else if full_name.is_empty() {
            Some("the name is missing".to_owned())
        } else if full_name.chars().count() > 200 {
            Some("the name is longer than 200 characters".to_owned())
        } else if group_of(&group_text).is_none() {
            Some(format!(
                "'{group_text}' is not a group: use staff, governor, volunteer or external"
            ))
        } else {
            rows.iter()
                .find(|r| r.email.eq_ignore_ascii_case(&email))
                .map(|first| format!("{email} is also on line {}", first.line))
        };
        match reason {
            Some(reason) => bad.push(BadRow { line, reason }),
            None => rows.push(Row {
                line,
                name: Name::from_full(&full_name),
                name_in_parts: false,
                email,
                grp: group_of(&group_text).unwrap_or(Group::Staff),
                job_title: crate::input::normalise(&title_at.map(cell).unwrap_or_default())
                    .chars()
                    .take(200)
                    .collect(),
            }),
        }
    }
    Ok((rows, bad))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Add,
    /// What changes: name, group, job title, back from having left.
    Change(Uuid, Vec<String>),
    Unchanged,
}

pub struct Planned {
    pub row: Row,
    pub outcome: Outcome,
}

/// What importing the rows would do to this school's list.
pub async fn plan(
    db: &mut PgConnection,
    school_id: Uuid,
    rows: Vec<Row>,
) -> sqlx::Result<Vec<Planned>> {
    let emails: Vec<String> = rows.iter().map(|r| r.email.to_lowercase()).collect();
    let existing = sqlx::query!(
        "select m.id, lower(u.email) as \"email!\", coalesce(m.pending_name, u.full_name) as \"full_name!\",
                u.legal_forename, u.preferred_forename, u.surname, u.signing_name, m.pending_name,
                m.grp as \"grp: Group\", m.job_title, m.status as \"status: MembershipStatus\"
         from memberships m join users u on u.id = m.user_id
         where m.school_id = $1 and lower(u.email) = any($2)",
        school_id,
        &emails
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let outcome = match existing
                .iter()
                .find(|e| e.email == row.email.to_lowercase())
            {
                None => Outcome::Add,
                Some(e) => {
                    let mut changes = vec![];
                    let stored = Name {
                        legal_forename: e.legal_forename.clone(),
                        preferred_forename: e.preferred_forename.clone(),
                        surname: e.surname.clone(),
                        signing_name: e.signing_name.clone(),
                    };
                    let renamed = match &e.pending_name {
                        Some(pending) => *pending != row.name.shown(),
                        None if row.name_in_parts => stored != row.name,
                        None => e.full_name != row.name.shown(),
                    };
                    if renamed {
                        changes.push(format!("name from {}", e.full_name));
                    }
                    if e.grp != row.grp {
                        changes.push(format!("group from {}", e.grp));
                    }
                    if e.job_title != row.job_title {
                        changes.push(format!(
                            "job title from {}",
                            if e.job_title.is_empty() {
                                "none"
                            } else {
                                &e.job_title
                            }
                        ));
                    }
                    if e.status == MembershipStatus::Left {
                        changes.push("back from having left".to_owned());
                    }
                    if changes.is_empty() {
                        Outcome::Unchanged
                    } else {
                        Outcome::Change(e.id, changes)
                    }
                }
            };
            Planned { row, outcome }
        })
        .collect())
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// Applies a plan in the caller's transaction; new people are invited.
pub async fn apply(
    tx: &mut PgConnection,
    school_id: Uuid,
    actor: Option<Uuid>,
    planned: &[Planned],
    base_url: &str,
) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let signer = [Role::Signer];
    for item in planned {
        let row = &item.row;
        match &item.outcome {
            Outcome::Add => {
                let person = NewPerson {
                    name: &row.name,
                    email: &row.email,
                    grp: row.grp,
                    job_title: &row.job_title,
                    roles: &signer,
                };
                if let Added::Member(_) =
                    add_person(tx, school_id, actor, &person, base_url).await?
                {
                    applied.added += 1;
                }
            }
            Outcome::Change(membership_id, _) => {
                // The name is shared with any other school the person belongs to: left alone then.
                // An offer not yet accepted keeps the school's own name, and stays an offer.
                let sole = sqlx::query_scalar!(
                    "select m.user_id from memberships m
                     where m.id = $1 and m.status <> 'pending'
                       and (select count(*) from memberships o where o.user_id = m.user_id) = 1",
                    membership_id
                )
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(user_id) = sole {
                    crate::store::people::rename(tx, user_id, &row.name).await?;
                }
                sqlx::query!(
                    "update memberships set grp = $3, job_title = $4,
                         status = case when status = 'pending' then 'pending' else 'active' end,
                         pending_name = case when status = 'pending' then $5 end,
                         left_on = null
                     where id = $1 and school_id = $2",
                    membership_id,
                    school_id,
                    row.grp as Group,
                    row.job_title,
                    row.name.shown()
                )
                .execute(&mut *tx)
                .await?;
                applied.changed += 1;
            }
            Outcome::Unchanged => applied.unchanged += 1,
        }
    }
    audit::record(
        &mut *tx,
        Some(school_id),
        actor,
        &Event::PeopleImported {
            added: applied.added,
            changed: applied.changed,
            unchanged: applied.unchanged,
        },
    )
    .await?;
    Ok(applied)
}

// ---- The pages ----

#[derive(Template, WebTemplate)]
#[template(path = "compliance/import.html")]
struct UploadPage {
    nav: Nav,
    slug: String,
    errors: FieldErrors,
}

async fn upload_form(manager: RequireRole<PeopleManagers>) -> UploadPage {
    UploadPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        errors: FieldErrors::default(),
    }
}

struct PreviewRow {
    line: usize,
    full_name: String,
    email: String,
    group: String,
    job_title: String,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/import_preview.html")]
struct PreviewPage {
    nav: Nav,
    slug: String,
    csv: String,
    added: Vec<PreviewRow>,
    changed: Vec<PreviewRow>,
    unchanged: usize,
    bad: Vec<BadRow>,
}

fn upload_error(manager: &RequireRole<PeopleManagers>, message: String) -> Response {
    let mut errors = FieldErrors::default();
    errors.add("file", message);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        UploadPage {
            nav: manager.nav(),
            slug: manager.school.slug.clone(),
            errors,
        },
    )
        .into_response()
}

async fn preview_page(
    state: &AppState,
    manager: &RequireRole<PeopleManagers>,
    csv: String,
) -> Result<Response> {
    let (rows, bad) = match parse(csv.as_bytes()) {
        Ok(parsed) => parsed,
        Err(message) => return Ok(upload_error(manager, message)),
    };
    let mut conn = state.pool.acquire().await?;
    let planned = plan(&mut conn, manager.school.id, rows).await?;
    // An address that looks like one already on the list, but is not it, may be an attempt
    // to pass as that person: said next to the row.
    let known: Vec<String> = sqlx::query_scalar!(
        r#"select lower(u.email) as "email!" from memberships m join users u on u.id = m.user_id
           where m.school_id = $1"#,
        manager.school.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut lookalikes: std::collections::HashMap<String, String> = known
        .into_iter()
        .map(|email| (crate::input::lookalike_key(&email), email))
        .collect();
    let mut lookalike_of = |email: &str| {
        let email = email.to_lowercase();
        let key = crate::input::lookalike_key(&email);
        match lookalikes.get(&key) {
            Some(other) if *other != email => Some(format!(
                "Looks like {other}, which is already on the list: check the address"
            )),
            Some(_) => None,
            None => {
                lookalikes.insert(key, email);
                None
            }
        }
    };
    let show = |p: &Planned, what: String| PreviewRow {
        line: p.row.line,
        full_name: p.row.name.shown(),
        email: p.row.email.clone(),
        group: p.row.grp.to_string(),
        job_title: p.row.job_title.clone(),
        what,
    };
    Ok(PreviewPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        added: planned
            .iter()
            .filter(|p| p.outcome == Outcome::Add)
            .map(|p| show(p, lookalike_of(&p.row.email).unwrap_or_default()))
            .collect(),
        changed: planned
            .iter()
            .filter_map(|p| match &p.outcome {
                Outcome::Change(_, what) => Some(show(p, what.join("; "))),
                _ => None,
            })
            .collect(),
        unchanged: planned
            .iter()
            .filter(|p| p.outcome == Outcome::Unchanged)
            .count(),
        bad,
        csv,
    }
    .into_response())
}

async fn preview(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    mut multipart: Multipart,
) -> Result<Response> {
    let mut bytes = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::NotFound)?
    {
        if field.name() == Some("file") {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|err| AppError::Other(err.into()))?,
            );
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return Ok(upload_error(
            &manager,
            "Choose a CSV file to upload".to_owned(),
        ));
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let Ok(csv) = String::from_utf8(bytes.to_vec()) else {
        return Ok(upload_error(
            &manager,
            "The file is not UTF-8 text. In Excel, choose Save As, then \"CSV UTF-8 (Comma delimited)\"".to_owned(),
        ));
    };
    preview_page(&state, &manager, csv).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csv: String,
}

async fn confirm(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response> {
    let Ok((rows, _bad)) = parse(form.csv.as_bytes()) else {
        return Ok(upload_error(
            &manager,
            "The file could not be read again: upload it once more".to_owned(),
        ));
    };
    let mut tx = state.pool.begin().await?;
    // Planned again inside the transaction: the list may have changed since the preview.
    let planned = plan(&mut tx, manager.school.id, rows).await?;
    let applied = apply(
        &mut tx,
        manager.school.id,
        Some(manager.user.id),
        &planned,
        &state.settings.base_url,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?imported=1&added={}&changed={}",
        paths::People::new(&manager.school.slug),
        applied.added,
        applied.changed
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_csv_with_a_bom_and_bad_rows_is_read_with_line_numbers() {
        let file = "\u{feff}Name,Email,Group,Job title\n\
                    Sam Taylor,sam@school.example,Staff,Class teacher\n\
                    ,nobody@school.example,staff,\n\
                    Alex Morgan,,Governors,\n\
                    Jo Bloggs,jo@school.example,teachers,TA\n\
                    Sam Again,SAM@school.example,staff,\n\
                    \n\
                    Alex Morgan,alex@school.example,Governors,Parent governor\n";
        let (rows, bad) = parse(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].grp, Group::Staff);
        assert_eq!(rows[1].grp, Group::Governor);
        assert_eq!(rows[1].line, 8);
        let lines: Vec<(usize, &str)> = bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            lines,
            [
                (3, "the name is missing"),
                (4, "the email address is missing"),
                (
                    5,
                    "'teachers' is not a group: use staff, governor, volunteer or external"
                ),
                (6, "SAM@school.example is also on line 2"),
            ]
        );
        assert!(parse(b"Who,What\nx,y").is_err());
        assert!(parse(b"\xff\xfeN\x00").is_err());
    }
}
